/**
 * Real HAProxy (Debian's `haproxy` package) for tests: validates a configuration with `haproxy -c`,
 * runs it in the foreground on the caller's ports, reads the servers' states from the stats CSV,
 * and stops it by PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from './processes.ts';
import { waitFor } from './wait.ts';

export interface StartHaproxyOptions {
  /** The configuration text (ports already chosen by the caller). */
  config: string;
  /** An `http://127.0.0.1:<port>/` URL of a `stats uri` in the config: waited for, and read by serverStates(). */
  statsUrl: string;
  /** Where the config and the log go (default: a new temp dir, removed by stop()). */
  dir?: string;
  /** HAProxy binary (default /usr/sbin/haproxy, or $HAPROXY_BIN). */
  bin?: string;
}

export interface HaproxyServerState {
  /** The `listen`/`backend` section. */
  proxy: string;
  server: string;
  /** UP, DOWN, "UP 1/2" (going up), "DOWN 1/3" (going down), MAINT, no check... */
  status: string;
}

export interface HaproxyHandle {
  readonly pid: number;
  readonly configPath: string;
  readonly logPath: string;
  /** Every server of every proxy, from the stats page's CSV. */
  serverStates(): Promise<HaproxyServerState[]>;
  /** The servers of `proxy` whose status is exactly UP. */
  upServers(proxy: string): Promise<string[]>;
  logTail(lines?: number): string;
  /** SIGTERM (SIGKILL after 5 s), wait for the exit, remove the temp dir we created. Idempotent. */
  stop(): Promise<void>;
}

export function haproxyBin(bin?: string): string {
  return bin ?? process.env.HAPROXY_BIN ?? '/usr/sbin/haproxy';
}

/** `haproxy -c -f <file>`: throws with HAProxy's messages when the configuration is invalid. */
export function checkHaproxyConfig(file: string, bin?: string): { warnings: string[] } {
  const r = spawnSync(haproxyBin(bin), ['-c', '-f', file], { encoding: 'utf8' });
  if (r.error) throw new Error(`could not run haproxy (install Debian's haproxy: scripts/setup.sh): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`haproxy -c -f ${file} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return { warnings: `${r.stdout}${r.stderr}`.split('\n').filter((l) => /\[(WARNING|ALERT)\]/.test(l)) };
}

/** Check the config, start HAProxy in the foreground (-db) and wait until its stats page answers. */
export async function startHaproxy(opts: StartHaproxyOptions): Promise<HaproxyHandle> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'keel-haproxy-'));
  fs.mkdirSync(dir, { recursive: true });
  const configPath = path.join(dir, 'haproxy.cfg');
  const logPath = path.join(dir, 'haproxy.log');
  fs.writeFileSync(configPath, opts.config);
  checkHaproxyConfig(configPath, opts.bin);
  const out = fs.openSync(logPath, 'a');
  const child: ChildProcess = spawn(haproxyBin(opts.bin), ['-db', '-f', configPath], { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn haproxy');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logTail = (lines = 30) => {
    try {
      return fs.readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      if (isAlive(pid)) {
        process.kill(pid, 'SIGTERM');
        const t = setTimeout(() => isAlive(pid) && process.kill(pid, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const serverStates = async (): Promise<HaproxyServerState[]> => {
    const res = await fetch(`${opts.statsUrl.replace(/\/?$/, '/')};csv`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error(`haproxy stats answered ${res.status}`);
    const [header = '', ...rows] = (await res.text()).trim().split('\n');
    const cols = header.replace(/^# /, '').split(',');
    const at = (name: string) => cols.indexOf(name);
    return rows
      .map((r) => r.split(','))
      .filter((f) => f[at('svname')] !== 'FRONTEND' && f[at('svname')] !== 'BACKEND')
      .map((f) => ({ proxy: f[at('pxname')]!, server: f[at('svname')]!, status: f[at('status')]! }));
  };

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`haproxy exited (${child.exitCode ?? child.signalCode})`);
        return (await serverStates()).length > 0;
      },
      { timeoutMs: 15_000, message: `haproxy to answer on ${opts.statsUrl}` },
    );
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- ${logPath} ---\n${logTail()}`);
  }

  return {
    pid,
    configPath,
    logPath,
    serverStates,
    async upServers(proxy: string) {
      return (await serverStates()).filter((s) => s.proxy === proxy && s.status === 'UP').map((s) => s.server);
    },
    logTail,
    stop,
  };
}
