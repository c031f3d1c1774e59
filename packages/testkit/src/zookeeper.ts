import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.ts';
import { isAlive } from './processes.ts';
import { waitFor } from './wait.ts';

export interface StartZooKeeperOptions {
  /** Loopback client port; default: a free one. */
  clientPort?: number;
  /** How long to wait for `ruok` to answer `imok` (default 30 s). */
  startTimeoutMs?: number;
  /** Classpath (default Debian's /usr/share/java/zookeeper.jar, whose manifest names its dependencies, plus slf4j-simple for the log). */
  classpath?: string;
}

export interface ZooKeeperHandle {
  /** "127.0.0.1:PORT". */
  readonly hostPort: string;
  readonly clientPort: number;
  readonly pid: number;
  readonly dir: string;
  readonly logFile: string;
  readonly running: boolean;
  /** SIGTERM, SIGKILL after 5 s, wait for the exit, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  logTail(maxBytes?: number): string;
}

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

/** ZooKeeper's `ruok` four-letter command: true when the server answers `imok`. */
function ruok(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let out = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('connect', () => sock.write('ruok'));
    sock.on('data', (d) => (out += d.toString()));
    sock.on('end', () => done(out === 'imok'));
    sock.on('error', () => done(false));
  });
}

/**
 * Starts a standalone ZooKeeper (Debian's zookeeper 3.8, `java` from PATH) on 127.0.0.1 in a new
 * temp dir, with a zoo.cfg written here: tickTime 500 ms, session timeouts allowed from 1 s to 120 s
 * (so ttl 1..120 are granted exactly), the admin HTTP server off, `ruok` whitelisted for the
 * readiness check. The JVM runs with the C1 compiler only and a small serial-GC heap: it answers in
 * about 1.2 s on an idle machine. stop() kills it by PID and removes the directory.
 */
export async function startZooKeeper(opts: StartZooKeeperOptions = {}): Promise<ZooKeeperHandle> {
  installExitHook();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-zk-'));
  const clientPort = opts.clientPort ?? (await freePort());
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const cfg = path.join(dir, 'zoo.cfg');
  fs.writeFileSync(
    cfg,
    [
      'tickTime=500',
      `dataDir=${dataDir}`,
      `clientPort=${clientPort}`,
      'clientPortAddress=127.0.0.1',
      'minSessionTimeout=1000',
      'maxSessionTimeout=120000',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr,cons',
      'maxClientCnxns=0',
      '',
    ].join('\n'),
  );
  const logFile = path.join(dir, 'zookeeper.log');
  const logFd = fs.openSync(logFile, 'a');
  const classpath = opts.classpath ?? '/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar';
  const child = spawn(
    'java',
    ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xms32m', '-Xmx256m', '-cp', classpath, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg],
    { stdio: ['ignore', logFd, logFd], cwd: dir },
  );
  fs.closeSync(logFd);
  live.add(child);
  child.once('exit', () => live.delete(child));
  const pid = child.pid;
  const logTail = (maxBytes = 4000) => {
    try {
      const text = fs.readFileSync(logFile, 'utf8');
      return text.slice(-maxBytes);
    } catch {
      return '';
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (pid !== undefined && isAlive(pid)) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, intervalMs: 50, message: `ZooKeeper (pid ${pid}) exits` }).finally(() => clearTimeout(killer));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (pid === undefined) {
    await stop();
    throw new Error('could not start java for ZooKeeper (is a JRE on PATH?)');
  }
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ZooKeeper exited early:\n${logTail()}`);
        return ruok(clientPort);
      },
      { timeoutMs: opts.startTimeoutMs ?? 30_000, intervalMs: 100, message: 'ZooKeeper answers ruok' },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    hostPort: `127.0.0.1:${clientPort}`,
    clientPort,
    pid,
    dir,
    logFile,
    get running() {
      return !stopped && isAlive(pid);
    },
    stop,
    logTail,
  };
}
