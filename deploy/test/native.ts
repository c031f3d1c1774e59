/**
 * The docker-compose.yml topology as local processes, for topology.int.test.ts: the committed
 * config files with only their addresses, ports and directories rewritten (compose service names
 * become 127.0.0.1 and free ports, container paths become temp dirs). Every rewrite names the
 * line or key it expects, and fails when the file no longer has it, so the files cannot drift
 * away from what the test runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { isAlive, waitFor } from '@keel/testkit';
import { PROMETHEUS_YML, readRepo, repoPath, RULES_YML, type Obj } from './files.ts';

export interface NativeMember {
  name: string;
  pgPort: number;
  restPort: number;
  dataDir: string;
  /** The member's own directory (pgpass, socket). */
  dir: string;
}

const obj = (o: unknown, key: string): Obj => {
  const v = (o as Obj)[key];
  if (typeof v !== 'object' || v === null) throw new Error(`expected a mapping at ${key}`);
  return v as Obj;
};
function replaceKey(o: Obj, key: string, value: unknown): void {
  if (!(key in o)) throw new Error(`the config has no ${key} to rewrite`);
  o[key] = value;
}

/**
 * deploy/keel/<name>.yml for a local member: listen/connect addresses, data_dir, pgpass, the socket
 * directory and the etcd endpoints. Everything else (timing, parameters, pg_hba, users, tags) is
 * the committed file's.
 */
export function nativeAgentConfig(text: string, m: NativeMember, etcdHostPort: string): Obj {
  const c = YAML.parse(text) as Obj;
  if (c.name !== m.name) throw new Error(`the config is for ${String(c.name)}, not ${m.name}`);
  const rest = obj(c, 'restapi');
  replaceKey(rest, 'listen', `127.0.0.1:${m.restPort}`);
  replaceKey(rest, 'connect_address', `127.0.0.1:${m.restPort}`);
  replaceKey(obj(c, 'etcd3'), 'hosts', etcdHostPort);
  const pg = obj(c, 'postgresql');
  replaceKey(pg, 'listen', `127.0.0.1:${m.pgPort}`);
  replaceKey(pg, 'connect_address', `127.0.0.1:${m.pgPort}`);
  replaceKey(pg, 'data_dir', m.dataDir);
  replaceKey(pg, 'pgpass', path.join(m.dir, 'pgpass'));
  replaceKey(obj(pg, 'parameters'), 'unix_socket_directories', m.dir);
  return c;
}

/**
 * deploy/haproxy/haproxy.cfg on local ports: `bind *:<port>` -> `bind 127.0.0.1:<ports[port]>`,
 * `server <name> <name>:<pg> ... check port <rest>` -> the member's local ports.
 */
export function nativeHaproxyConfig(text: string, binds: Record<number, number>, members: NativeMember[]): string {
  const seenBinds = new Set<number>();
  const seenServers = new Map<string, number>();
  const out = text.split('\n').map((line) => {
    const bind = /^(\s+bind )\*:(\d+)$/.exec(line);
    if (bind) {
      const to = binds[Number(bind[2])];
      if (to === undefined) throw new Error(`haproxy.cfg binds ${bind[2]}, which the test has no port for`);
      seenBinds.add(Number(bind[2]));
      return `${bind[1]}127.0.0.1:${to}`;
    }
    const server = /^(\s+server (\S+) )(\S+):(\d+)( .* check port )(\d+)$/.exec(line);
    if (server) {
      const m = members.find((x) => x.name === server[2] && x.name === server[3]);
      if (!m) throw new Error(`haproxy.cfg has a server the test does not run: ${line.trim()}`);
      seenServers.set(m.name, (seenServers.get(m.name) ?? 0) + 1);
      return `${server[1]}127.0.0.1:${m.pgPort}${server[5]}${m.restPort}`;
    }
    if (/^\s+server /.test(line)) throw new Error(`haproxy.cfg: unexpected server line shape: ${line.trim()}`);
    return line;
  });
  for (const p of Object.keys(binds)) if (!seenBinds.has(Number(p))) throw new Error(`haproxy.cfg no longer binds ${p}`);
  for (const m of members) if (seenServers.get(m.name) !== 2) throw new Error(`haproxy.cfg should list ${m.name} in both the primary and the replicas sections`);
  return out.join('\n');
}

/** deploy/prometheus/prometheus.yml scraping the local agents (targets rewritten, nothing else). */
export function nativePrometheusConfig(text: string, members: NativeMember[]): string {
  const c = YAML.parse(text) as { scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
  const job = c.scrape_configs.find((j) => j.job_name === 'keel-agents');
  if (!job) throw new Error('prometheus.yml has no keel-agents job');
  const targets = job.static_configs.flatMap((s) => s.targets);
  const names = members.map((m) => m.name);
  if (JSON.stringify(targets.map((t) => t.split(':')[0])) !== JSON.stringify(names)) throw new Error(`prometheus.yml scrapes ${targets.join(', ')}, the test runs ${names.join(', ')}`);
  job.static_configs = [{ targets: members.map((m) => `127.0.0.1:${m.restPort}`) }];
  return YAML.stringify(c);
}

export interface PrometheusHandle {
  url: string;
  pid: number;
  logTail(lines?: number): string;
  /** GET /api/v1/<p>; throws unless status is "success". */
  api<T>(p: string): Promise<T>;
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/**
 * Debian's prometheus on 127.0.0.1:<port> with the templated prometheus.yml and the committed rules
 * file copied next to it unchanged (prometheus.yml names it relative to itself, as in compose).
 */
export async function startPrometheus(dir: string, port: number, members: NativeMember[]): Promise<PrometheusHandle> {
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(config, nativePrometheusConfig(readRepo(PROMETHEUS_YML), members));
  fs.copyFileSync(repoPath(RULES_YML), path.join(dir, path.basename(RULES_YML)));
  const logPath = path.join(dir, 'prometheus.log');
  const out = fs.openSync(logPath, 'a');
  const child: ChildProcess = spawn(
    process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', out, out], detached: true },
  );
  fs.closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn prometheus (install Debian\'s prometheus: scripts/setup.sh)');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const logTail = (lines = 20) => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n') : '');
  const stop = async () => {
    if (!isAlive(pid)) return;
    process.kill(pid, 'SIGTERM');
    const t = setTimeout(() => isAlive(pid) && process.kill(pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${p}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${p}: ${body.error ?? res.status}`);
    return body.data;
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode})`);
        return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).ok;
      },
      { timeoutMs: 30_000, message: `prometheus to be ready on ${url}` },
    );
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- ${logPath} ---\n${logTail()}`);
  }
  return {
    url,
    pid,
    logTail,
    api,
    query: (expr) => api(`query?query=${encodeURIComponent(expr)}`).then((d) => (d as { result: Array<{ metric: Record<string, string>; value: [number, string] }> }).result),
    stop,
  };
}
