import { spawn, execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './ports.ts';
import { waitFor } from './wait.ts';

const execFileP = promisify(execFile);

export interface StartEtcdOptions {
  /**
   * The directory this etcd owns: its data goes to `<dir>/data`, its log to `<dir>/etcd.log`.
   * Default: a new directory from fs.mkdtemp under os.tmpdir(), which stop() removes. A directory
   * passed in here is left in place by stop() (the caller owns it), so a second startEtcd() on it
   * (with the same ports) restarts the same member with the same data.
   */
  dataDir?: string;
  /** Loopback ports; default: free ones. */
  clientPort?: number;
  peerPort?: number;
  /** Member name (default "keel-test"). */
  name?: string;
  /** How long to wait for `etcdctl endpoint health` (default 20 s). */
  startTimeoutMs?: number;
  /** Extra etcd command line arguments. */
  extraArgs?: string[];
  /** etcd binary (default /usr/bin/etcd, or $ETCD_BIN). */
  etcdBin?: string;
  /**
   * Serve clients over TLS (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth): the
   * endpoint becomes https and every client must present a certificate signed by `ca`; `client` is
   * the one the health check uses.
   */
  tls?: { ca: string; cert: string; key: string; client: { cert: string; key: string } };
}

export interface EtcdHandle {
  /** "http://127.0.0.1:PORT", for clients that take URLs. */
  readonly endpoint: string;
  /** "127.0.0.1:PORT", for clients that take host:port. */
  readonly hostPort: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** PID of the current etcd process (it changes after restart()). */
  readonly pid: number;
  /** The directory this etcd owns (data in ./data, log in ./etcd.log). */
  readonly dataDir: string;
  readonly logFile: string;
  /** Whether the etcd process is running. */
  readonly running: boolean;
  /** SIGTERM, SIGKILL after 5 s, wait for the exit, then remove the temp dir (if we created it). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now and wait for the exit; the data dir stays (restart() can bring it back). */
  kill9(): Promise<void>;
  /** Stop (SIGTERM) if running, then start again on the same ports and data dir; waits until healthy. */
  restart(): Promise<void>;
  /** The last `maxBytes` of the log, for failure messages. */
  logTail(maxBytes?: number): string;
  /** etcdctl's --cacert/--cert/--key when etcd serves TLS (empty otherwise). */
  etcdctlTlsArgs(): string[];
}

/** Every etcd this process started and has not seen exit: killed on process exit as a last resort. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD')) env[k] = v;
  return env;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setTimeout(1000);
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.once('timeout', () => done(false));
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

class EtcdProcess implements EtcdHandle {
  readonly endpoint: string;
  readonly hostPort: string;
  readonly logFile: string;
  private child: ChildProcess | null = null;
  private stopping: Promise<void> | null = null;

  constructor(
    readonly dataDir: string,
    private readonly ownsDir: boolean,
    readonly clientPort: number,
    readonly peerPort: number,
    private readonly opts: StartEtcdOptions,
  ) {
    this.hostPort = `127.0.0.1:${clientPort}`;
    this.endpoint = `${opts.tls ? 'https' : 'http'}://${this.hostPort}`;
    this.logFile = path.join(dataDir, 'etcd.log');
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** etcdctl's --cacert/--cert/--key for a TLS etcd (empty otherwise). */
  etcdctlTlsArgs(): string[] {
    const t = this.opts.tls;
    return t ? ['--cacert', t.ca, '--cert', t.client.cert, '--key', t.client.key] : [];
  }

  get running(): boolean {
    return this.child !== null && !exited(this.child);
  }

  logTail(maxBytes = 4000): string {
    try {
      const buf = fs.readFileSync(this.logFile);
      return buf.subarray(Math.max(0, buf.length - maxBytes)).toString('utf8');
    } catch {
      return '(no log)';
    }
  }

  async start(): Promise<void> {
    const name = this.opts.name ?? 'keel-test';
    const peerUrl = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      '--name', name,
      '--data-dir', path.join(this.dataDir, 'data'),
      '--listen-client-urls', this.endpoint,
      '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `${name}=${peerUrl}`,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `keel-${path.basename(this.dataDir)}`,
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      ...(this.opts.tls
        ? ['--cert-file', this.opts.tls.cert, '--key-file', this.opts.tls.key, '--trusted-ca-file', this.opts.tls.ca, '--client-cert-auth']
        : []),
      ...(this.opts.extraArgs ?? []),
    ];
    const fd = fs.openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.opts.etcdBin ?? process.env.ETCD_BIN ?? '/usr/bin/etcd', args, {
        stdio: ['ignore', fd, fd],
        env: cleanEnv(),
      });
    } finally {
      fs.closeSync(fd);
    }
    let spawnError: Error | null = null;
    child.once('error', (err) => {
      spawnError = err;
    });
    this.child = child;
    installExitHook();
    live.add(child);
    child.once('exit', () => live.delete(child));

    const timeoutMs = this.opts.startTimeoutMs ?? 20_000;
    let outcome: 'healthy' | 'exited';
    try {
      outcome = await waitFor<'healthy' | 'exited'>(
        async () => {
          // An early exit (bad flags, port taken) ends the wait at once: no point in polling 20 s.
          if (exited(child) || spawnError) return 'exited';
          // A refused TCP connect is a cheap "not yet"; etcdctl is only asked once the port is open.
          if (!(await portOpen(this.clientPort))) return false;
          await execFileP(
            'etcdctl',
            ['--endpoints', this.endpoint, ...this.etcdctlTlsArgs(), '--dial-timeout', '1s', '--command-timeout', '2s', 'endpoint', 'health'],
            { timeout: 4000, env: cleanEnv() },
          );
          return 'healthy';
        },
        { timeoutMs, intervalMs: 100, message: `etcd on ${this.endpoint} to become healthy` },
      );
    } catch (err) {
      await this.terminate();
      throw new Error(`${(err as Error).message}\n--- ${this.logFile} (tail) ---\n${this.logTail(3000)}`);
    }
    if (outcome === 'exited') {
      const why = spawnError
        ? `could not spawn etcd: ${(spawnError as Error).message}`
        : `etcd exited early (code ${child.exitCode}, signal ${child.signalCode})`;
      const tail = this.logTail(3000);
      const e = new Error(`${why}\n--- ${this.logFile} (tail) ---\n${tail}`);
      // Worth another try with other ports only when it lost a race for its ports.
      (e as Error & { portInUse?: boolean }).portInUse = /address already in use/i.test(tail);
      throw e;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  private async terminate(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined || exited(child)) return;
    const done = waitExit(child);
    try {
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (!exited(child) && child.pid !== undefined) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        resolve();
      }, graceMs);
    });
    await Promise.race([done, killed]);
    clearTimeout(timer);
    await done;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.terminate();
      if (this.ownsDir) await fs.promises.rm(this.dataDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined || exited(child)) return;
    const done = waitExit(child);
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await done;
  }

  async restart(): Promise<void> {
    if (this.stopping) throw new Error('etcd handle already stopped');
    await this.terminate();
    await this.start();
  }
}

/**
 * Starts a real single-node etcd on free loopback ports and waits (up to 20 s) until
 * `etcdctl endpoint health` succeeds. The caller must stop() it (in afterAll).
 */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdHandle> {
  const ownsDir = opts.dataDir === undefined;
  const dir = opts.dataDir ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'keel-etcd-')));
  await fs.promises.mkdir(dir, { recursive: true });
  const fixedPorts = opts.clientPort !== undefined || opts.peerPort !== undefined;
  // Free ports can be taken between picking and binding: retry with new ones if etcd dies early.
  const attempts = fixedPorts ? 1 : 3;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    if (i > 0 && ownsDir) await fs.promises.rm(path.join(dir, 'data'), { recursive: true, force: true });
    const [c, p] = await freePorts(2);
    const proc = new EtcdProcess(dir, ownsDir, opts.clientPort ?? c!, opts.peerPort ?? p!, opts);
    try {
      await proc.start();
      return proc;
    } catch (err) {
      lastErr = err;
      if (!(err as { portInUse?: boolean }).portInUse) break;
    }
  }
  if (ownsDir) await fs.promises.rm(dir, { recursive: true, force: true });
  throw lastErr;
}
