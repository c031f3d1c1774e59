import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestCluster, postgresOsUser, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Barman 3.4 as a replica creation method: backup_method = postgres (pg_basebackup, no ssh) into a
 * local barman home, WAL through archive_command into its incoming directory, and
 * `barman recover <server> latest <data dir>` as the method.
 */
describe('Barman as a create_replica_method', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-barman-'));
  const conf = path.join(dir, 'barman.conf');
  const incoming = path.join(dir, 'incoming');
  const user = postgresOsUser();
  let c: TestCluster;

  const barman = (args: string[], timeoutMs = 120_000) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn('/usr/bin/barman', ['-c', conf, '-q', ...args], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(t);
        if (code === 0) resolve(out);
        else reject(new Error(`barman ${args.join(' ')} exited with ${code}: ${out.trim()}`));
      });
    });
  const logged = (m: Member, text: string) => m.logs().filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes(text)).length;

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 2,
      startAgents: false,
      tweak: (config) => {
        const pg = config['postgresql'] as Record<string, unknown>;
        const dataDir = pg['data_dir'] as string;
        pg['create_replica_methods'] = ['barman', 'basebackup'];
        Object.assign(pg['parameters'] as Record<string, unknown>, { archive_mode: 'on', archive_command: `test ! -f ${incoming}/%f && cp %p ${incoming}/%f` });
        pg['barman'] = { command: `/usr/bin/barman -c ${conf} recover keel latest ${dataDir}`, no_params: true };
      },
    });
    const node1 = c.member('node1');
    const repl = c.credentials.replication;
    fs.mkdirSync(path.join(dir, 'home'), { recursive: true });
    fs.mkdirSync(incoming, { recursive: true });
    fs.writeFileSync(
      conf,
      [
        '[barman]',
        `barman_home = ${path.join(dir, 'home')}`,
        `barman_user = ${user?.name ?? os.userInfo().username}`,
        `log_file = ${path.join(dir, 'barman.log')}`,
        'log_level = INFO',
        '',
        '[keel]',
        `conninfo = host=${node1.dir} port=${node1.pgPort} user=postgres dbname=postgres`,
        `streaming_conninfo = host=127.0.0.1 port=${node1.pgPort} user=${repl.username} password=${repl.password}`,
        'backup_method = postgres',
        // archive_command into barman's incoming directory rather than the streaming archiver: that
        // needs a replication slot, and Keel's leader drops physical slots it does not manage
        // (permanent slots are not implemented)
        'archiver = on',
        `incoming_wals_directory = ${incoming}`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    if (user) for (const p of [dir, conf, path.join(dir, 'home'), incoming]) fs.chownSync(p, user.uid, user.gid);
    node1.start();
    await c.waitForPrimary(120_000);
  });
  afterAll(async () => {
    await c?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the replica with barman recover, not pg_basebackup', async () => {
    const node1 = c.member('node1');
    await node1.sql('CREATE TABLE bm (v text)');
    await node1.sql("INSERT INTO bm VALUES ('before the backup')");
    await barman(['switch-wal', '--force', '--archive', '--archive-timeout', '60', 'keel']);
    await barman(['backup', '--wait', 'keel'], 300_000);
    await node1.sql("INSERT INTO bm VALUES ('after the backup')");

    const node2 = c.member('node2');
    node2.start();
    await c.waitForReplicas(['node2'], 180_000);
    expect(logged(node2, 'replica has been created using barman')).toBe(1);
    expect(logged(node2, 'taking a base backup')).toBe(0);
    await waitFor(async () => (await node2.sql<{ n: string }>('SELECT count(*)::text AS n FROM bm'))[0]?.n === '2', { timeoutMs: 60_000, message: 'both rows on node2' });
  });
});
