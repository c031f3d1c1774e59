/**
 * Patroni's create_replica: the methods of postgresql.create_replica_methods in order until one
 * succeeds (basebackup is pg_basebackup). A command method runs as the PostgreSQL OS user without a
 * shell, with --scope, --role=replica, --datadir and --connstring after its own options unless
 * no_params; its data directory is emptied first unless keep_data. With no member to clone from,
 * only methods marked no_leader are tried (with an empty --connstring).
 */

import type { HostPort } from '@keel/postgres';
import type { ReplicaMethod, ReplicaCommandMethod } from './config.ts';
import type { Runtime } from './runtime.ts';

/** The arguments after the command's own: its options, then Keel's (Patroni's order). */
export function replicaMethodArgs(m: ReplicaCommandMethod, ctx: { scope: string; dataDir: string; connstring: string }): string[] {
  const args = m.options.map(([k, v]) => `--${k}=${v}`);
  if (!m.noParams) args.push(`--scope=${ctx.scope}`, '--role=replica', `--datadir=${ctx.dataDir}`, `--connstring=${ctx.connstring}`);
  return args;
}

/** The methods worth trying: all of them with a source, only no_leader ones without. */
export function usableReplicaMethods(methods: readonly ReplicaMethod[], haveSource: boolean): ReplicaMethod[] {
  return haveSource ? [...methods] : methods.filter((m) => m.kind === 'command' && m.noLeader);
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

async function runMethod(rt: Runtime, m: ReplicaCommandMethod, source: HostPort | null): Promise<void> {
  const { pg } = rt;
  if (m.keepData) rt.log.info({ method: m.name }, 'leaving the data directory as it is (keep_data)');
  else if ((await pg.dataDirState().catch(() => 'unusable')) !== 'empty') await pg.removeDataDir();
  await pg.ensureDataDir();
  const conn = source ? await pg.replicationSource({ host: source.host, port: source.port }) : { connstring: '', env: {} };
  const argv = [...m.argv, ...replicaMethodArgs(m, { scope: rt.config.scope, dataDir: pg.dataDir, connstring: conn.connstring })];
  rt.log.info({ method: m.name, command: m.argv[0] }, `creating a replica using ${m.name}`);
  const r = await pg.runCommand(argv, { env: conn.env });
  if (r.code !== 0) {
    throw new Error(`${m.argv[0]} exited with ${r.code === null ? `signal ${r.signal}` : `code ${r.code}`}: ${lastLines(r.stderr + '\n' + r.stdout, 8)}`);
  }
  if ((await pg.dataDirState().catch(() => 'unusable')) !== 'initialized') {
    throw new Error(`${m.argv[0]} exited with code 0 but left no PostgreSQL data directory in ${pg.dataDir}`);
  }
}

/**
 * Create the replica's data directory; returns the method that did. Throws when every method failed
 * (the loop retries with backoff, trying them all again in order, as Patroni does on its next cycle).
 */
export async function createReplica(
  rt: Runtime,
  source: (HostPort & { name: string }) | null,
  step: (message: string) => void = () => undefined,
  configured: readonly ReplicaMethod[] = rt.config.postgresql.create_replica_methods,
): Promise<string> {
  const methods = usableReplicaMethods(configured, source !== null);
  if (methods.length === 0) throw new Error('no member to clone from and no replica creation method marked no_leader');
  const failures: string[] = [];
  for (const m of methods) {
    step(m.kind === 'basebackup' ? `taking a base backup from ${source!.name}` : `creating the replica using ${m.name}`);
    try {
      if (m.kind === 'basebackup') {
        // a failed method before it may have left files behind
        if ((await rt.pg.dataDirState().catch(() => 'unusable')) !== 'empty') await rt.pg.removeDataDir();
        rt.log.info({ host: source!.host, port: source!.port }, 'taking a base backup');
        await rt.pg.basebackup(source!);
      } else {
        await runMethod(rt, m, source);
      }
      rt.log.info({ method: m.name }, `replica has been created using ${m.name}`);
      return m.name;
    } catch (e) {
      const why = (e as Error).message;
      rt.log.error({ method: m.name }, `Error creating replica using method ${m.name}: ${why}`);
      failures.push(`${m.name}: ${why}`);
    }
  }
  throw new Error(`every replica creation method failed (${failures.join('; ')})`);
}
