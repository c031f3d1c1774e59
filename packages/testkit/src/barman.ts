/**
 * A local Barman 3.4 home for tests: a barman.conf with one server, run as the PostgreSQL OS user.
 * `backup_method = postgres` (pg_basebackup, no ssh); WAL either through archive_command into the
 * server's incoming directory or through the streaming archiver (`barman receive-wal`, pg_receivewal on a
 * replication slot).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postgresOsUser } from './cluster.ts';

export const BARMAN_BIN = '/usr/bin/barman';

export interface BarmanServerOptions {
  /** libpq conninfo of a superuser connection (backups, checks, switch-wal). */
  conninfo: string;
  /** libpq conninfo of a replication connection (pg_basebackup, pg_receivewal). */
  streamingConninfo: string;
  /** WAL through pg_receivewal on this replication slot (Barman's streaming archiver), else archive_command into incoming. */
  streamingSlot?: string;
}

export interface BarmanRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export class Barman {
  readonly configPath: string;
  readonly home: string;
  readonly incoming: string;
  private receivers = new Set<ChildProcess>();

  private constructor(
    readonly dir: string,
    readonly server: string,
  ) {
    this.configPath = path.join(dir, 'barman.conf');
    this.home = path.join(dir, 'home');
    this.incoming = path.join(dir, 'incoming');
  }

  /** The directories (owned by the PostgreSQL OS user); configure() writes barman.conf. */
  static create(server: string, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-barman-'))): Barman {
    const b = new Barman(dir, server);
    const user = postgresOsUser();
    fs.mkdirSync(b.home, { recursive: true });
    fs.mkdirSync(b.incoming, { recursive: true });
    if (user) for (const p of [dir, b.home, b.incoming]) fs.chownSync(p, user.uid, user.gid);
    return b;
  }

  /** Write barman.conf for the server (once its PostgreSQL's addresses are known). */
  configure(opts: BarmanServerOptions): this {
    const user = postgresOsUser();
    const wal = opts.streamingSlot
      ? ['streaming_archiver = on', 'archiver = off', `slot_name = ${opts.streamingSlot}`, 'create_slot = manual']
      : ['archiver = on', `incoming_wals_directory = ${this.incoming}`];
    fs.writeFileSync(
      this.configPath,
      [
        '[barman]',
        `barman_home = ${this.home}`,
        `barman_user = ${user?.name ?? os.userInfo().username}`,
        `log_file = ${path.join(this.dir, 'barman.log')}`,
        'log_level = INFO',
        '',
        `[${this.server}]`,
        `conninfo = ${opts.conninfo}`,
        `streaming_conninfo = ${opts.streamingConninfo}`,
        'backup_method = postgres',
        ...wal,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    if (user) fs.chownSync(this.configPath, user.uid, user.gid);
    return this;
  }

  /** `barman -c <conf> <args>` as a command line (a create_replica_method's command, the agent's backup: section). */
  command(): string {
    return `${BARMAN_BIN} -c ${this.configPath}`;
  }

  /** archive_command into the server's incoming directory (when not streaming). */
  archiveCommand(): string {
    return `test ! -f ${this.incoming}/%f && cp %p ${this.incoming}/%f`;
  }

  /** Run barman as the PostgreSQL OS user; never rejects for a non-zero exit. */
  exec(args: readonly string[], timeoutMs = 120_000): Promise<BarmanRun> {
    const user = postgresOsUser();
    return new Promise((resolve, reject) => {
      const child = spawn(BARMAN_BIN, ['-c', this.configPath, ...args], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(t);
        resolve({ code, stdout, stderr, timedOut });
      });
    });
  }

  /** Run barman -q; rejects with its output unless it exits 0. */
  async run(args: readonly string[], timeoutMs = 120_000): Promise<string> {
    const r = await this.exec(['-q', ...args], timeoutMs);
    const out = r.stdout + r.stderr;
    if (r.code !== 0) throw new Error(`barman ${args.join(' ')} exited with ${r.code}${r.timedOut ? ' (timed out)' : ''}: ${out.trim()}`);
    return out;
  }

  /**
   * `barman receive-wal <server>` in the foreground (what `barman cron` would keep running): it exits
   * when its PostgreSQL goes away. Returns the process and a promise of its exit and output.
   */
  receiveWal(): { child: ChildProcess; done: Promise<{ code: number | null; output: string }> } {
    const user = postgresOsUser();
    const child = spawn(BARMAN_BIN, ['-c', this.configPath, 'receive-wal', this.server], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
    this.receivers.add(child);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const done = new Promise<{ code: number | null; output: string }>((resolve) =>
      child.on('close', (code) => {
        this.receivers.delete(child);
        resolve({ code, output });
      }),
    );
    return { child, done };
  }

  /** The WAL files Barman has archived for the server (its wals/ directory), sorted. */
  archivedWals(): string[] {
    const root = path.join(this.home, this.server, 'wals');
    if (!fs.existsSync(root)) return [];
    const out: string[] = [];
    for (const d of fs.readdirSync(root)) {
      const p = path.join(root, d);
      if (fs.statSync(p).isDirectory()) out.push(...fs.readdirSync(p).map((f) => path.join(p, f)));
      else out.push(p);
    }
    return out.sort((a, b) => path.basename(a).localeCompare(path.basename(b)));
  }

  /** Stop the receive-wal processes this helper started, and their pg_receivewal (found by this home's directory). */
  async stopReceivers(): Promise<void> {
    for (const child of this.receivers) {
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let cmd = '';
      try {
        cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (cmd.includes('pg_receivewal') && cmd.includes(`--directory=${this.home}/`)) process.kill(Number(pid), 'SIGKILL');
    }
  }

  async remove(): Promise<void> {
    await this.stopReceivers();
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}
