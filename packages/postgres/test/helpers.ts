/** Test helpers for real PostgreSQL instances (run as the postgres OS user when we are root). */
import { execFileSync } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Postgres, type Gucs, type PostgresOptions, type RunAs } from '../src/index.ts';

export function pgBinDir(): string {
  return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
}

/** When we are root, the postgres OS user's ids; otherwise run as ourselves. */
export function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Poll until fn returns a truthy value (or stops throwing); throws with the last error after timeoutMs. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const SUPERUSER = { username: 'postgres', password: "su'per:pa\\ss word" };
export const REPLICATION = { username: 'replicator', password: 'rep:li\\cate' };
export const REWIND = { username: 'rewinder', password: 'rewind-pass' };
export const SECRETS = [SUPERUSER.password, REPLICATION.password, REWIND.password];

export const BASE_PARAMETERS: Gucs = {
  wal_level: 'replica',
  hot_standby: 'on',
  max_wal_senders: 10,
  max_replication_slots: 10,
  wal_keep_size: '128MB',
  wal_log_hints: 'on',
  shared_buffers: '32MB',
  fsync: 'off',
  log_statement: 'all',
  log_min_messages: 'info',
};

export const PG_HBA = [
  'local all all trust',
  'host all all 127.0.0.1/32 md5',
  'host replication replicator 127.0.0.1/32 md5',
];

/** Creates instances in temp dirs and tears every one of them down. */
export class Lab {
  private readonly instances: Postgres[] = [];
  private readonly dirs: string[] = [];
  readonly runAs = postgresUser();
  readonly binDir = pgBinDir();
  readonly messages: string[] = [];

  async tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `keel-pg-${prefix}-`));
    if (this.runAs) await chown(dir, this.runAs.uid, this.runAs.gid);
    this.dirs.push(dir);
    return dir;
  }

  async instance(name: string, extra: Partial<PostgresOptions> = {}): Promise<Postgres> {
    const base = await this.tempDir(name);
    const port = await freePort();
    const pg = new Postgres({
      binDir: this.binDir,
      dataDir: join(base, 'data'),
      listenHost: '127.0.0.1',
      port,
      connectAddress: { host: '127.0.0.1', port },
      socketDir: join(base, 'run'),
      superuser: SUPERUSER,
      replication: REPLICATION,
      rewind: REWIND,
      pgpassPath: join(base, 'pgpass'),
      logFile: join(base, 'postgresql.log'),
      parameters: { ...BASE_PARAMETERS },
      pgHba: [...PG_HBA],
      memberName: name,
      log: (m) => this.messages.push(`${name}: ${m}`),
      ...(this.runAs ? { runAs: this.runAs } : {}),
      ...extra,
    });
    this.instances.push(pg);
    return pg;
  }

  /** Stop every postmaster (immediate, then SIGKILL by postmaster.pid) and remove the temp dirs. */
  async cleanup(): Promise<void> {
    for (const pg of this.instances) {
      await pg.close().catch(() => undefined);
      try {
        await pg.stop('immediate', 10);
      } catch {
        /* fall through to SIGKILL */
      }
      try {
        const pid = Number((await readFile(join(pg.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        /* no pid file or already gone */
      }
    }
    for (const d of this.dirs) await rm(d, { recursive: true, force: true });
  }
}
