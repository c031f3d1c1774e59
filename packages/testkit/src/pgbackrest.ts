/**
 * A local pgBackRest repository for tests (Debian's pgbackrest 2.45): a config file, the repository
 * and pgBackRest's log/lock/spool directories in one temp dir owned by the PostgreSQL OS user. Every
 * member passes its own data directory (--pg1-path) on the command line, so one config serves all.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postgresOsUser, type Member } from './cluster.ts';

export const PGBACKREST_BIN = '/usr/bin/pgbackrest';

export class PgBackRest {
  readonly configPath: string;
  readonly repoPath: string;

  private constructor(
    readonly dir: string,
    readonly stanza: string,
  ) {
    this.configPath = path.join(dir, 'pgbackrest.conf');
    this.repoPath = path.join(dir, 'repo');
  }

  static create(stanza: string, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-pgbackrest-'))): PgBackRest {
    const b = new PgBackRest(dir, stanza);
    const user = postgresOsUser();
    for (const d of [dir, b.repoPath, path.join(dir, 'log'), path.join(dir, 'lock'), path.join(dir, 'spool')]) {
      fs.mkdirSync(d, { recursive: true, mode: 0o750 });
      if (user) fs.chownSync(d, user.uid, user.gid);
    }
    const conf = [
      '[global]',
      `repo1-path=${b.repoPath}`,
      `log-path=${path.join(dir, 'log')}`,
      `lock-path=${path.join(dir, 'lock')}`,
      `spool-path=${path.join(dir, 'spool')}`,
      'log-level-console=warn',
      'log-level-file=info',
      'start-fast=y',
      'compress-type=none',
      '',
      `[${stanza}]`,
      '',
    ].join('\n');
    fs.writeFileSync(b.configPath, conf, { mode: 0o640 });
    if (user) fs.chownSync(b.configPath, user.uid, user.gid);
    return b;
  }

  /** `pgbackrest --config=... --stanza=... --pg1-path=<dataDir>` as a command line (for a keel.yml). */
  base(dataDir: string): string {
    return `${PGBACKREST_BIN} --config=${this.configPath} --stanza=${this.stanza} --pg1-path=${dataDir}`;
  }

  archiveCommand(dataDir: string): string {
    return `${this.base(dataDir)} archive-push "%p"`;
  }

  restoreCommand(dataDir: string): string {
    return `${this.base(dataDir)} archive-get %f "%p"`;
  }

  /**
   * A member's keel.yml (a TestCluster `tweak`) set to archive into this repository, catch up from it,
   * and create replicas with Patroni's documented pgBackRest method (restore into the kept data
   * directory, no Keel arguments), then `fallback` methods in order.
   */
  configureMember(config: Record<string, unknown>, opts: { fallback?: string[]; noLeader?: boolean } = {}): void {
    const pg = config['postgresql'] as Record<string, unknown>;
    const dataDir = pg['data_dir'] as string;
    Object.assign(pg['parameters'] as Record<string, unknown>, { archive_mode: 'on', archive_command: this.archiveCommand(dataDir) });
    pg['recovery_conf'] = { restore_command: this.restoreCommand(dataDir) };
    pg['create_replica_methods'] = ['pgbackrest', ...(opts.fallback ?? ['basebackup'])];
    pg['pgbackrest'] = { command: `${this.base(dataDir)} --delta restore`, keep_data: true, no_params: true, ...(opts.noLeader ? { no_leader: true } : {}) };
  }

  /**
   * A keel.yml `backup:` section naming this repository, so the leader's agent reports its last
   * backup (`pgbackrest info`) every `interval` seconds (30 at least).
   */
  backupSection(interval = 30): Record<string, unknown> {
    return { pgbackrest: { stanza: this.stanza, command: `${PGBACKREST_BIN} --config=${this.configPath}` }, interval, timeout: Math.min(30, interval) };
  }

  /** Run pgbackrest as the PostgreSQL OS user against a running member (its socket directory and port). */
  async run(member: Member | null, args: string[], timeoutMs = 120_000): Promise<string> {
    const user = postgresOsUser();
    const argv = [`--config=${this.configPath}`, `--stanza=${this.stanza}`];
    if (member) argv.push(`--pg1-path=${member.dataDir}`, `--pg1-port=${member.pgPort}`, `--pg1-socket-path=${member.dir}`);
    argv.push(...args);
    return new Promise((resolve, reject) => {
      const child = spawn(PGBACKREST_BIN, argv, { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(t);
        if (code === 0) resolve(out);
        else reject(new Error(`pgbackrest ${args.join(' ')} exited with ${code}: ${out.trim()}`));
      });
    });
  }

  /** The repository's backups, from `pgbackrest info --output=json`. */
  async info(): Promise<Array<{ label: string; type: string }>> {
    const json = JSON.parse(await this.run(null, ['info', '--output=json'])) as Array<{ backup?: Array<{ label: string; type: string }> }>;
    return json[0]?.backup ?? [];
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}
