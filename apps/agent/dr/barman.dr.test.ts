import { Barman, TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Barman 3.4 as a replica creation method: backup_method = postgres (pg_basebackup, no ssh) into a
 * local barman home, WAL through archive_command into its incoming directory, and
 * `barman recover <server> latest <data dir>` as the method. (Barman's streaming archiver, on a
 * permanent slot across a failover: barman-streaming.dr.test.ts.)
 */
describe('Barman as a create_replica_method', () => {
  const barman = Barman.create('keel');
  let c: TestCluster;

  const logged = (m: Member, text: string) => m.logs().filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes(text)).length;

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 2,
      startAgents: false,
      tweak: (config) => {
        const pg = config['postgresql'] as Record<string, unknown>;
        const dataDir = pg['data_dir'] as string;
        pg['create_replica_methods'] = ['barman', 'basebackup'];
        Object.assign(pg['parameters'] as Record<string, unknown>, { archive_mode: 'on', archive_command: barman.archiveCommand() });
        pg['barman'] = { command: `${barman.command()} recover keel latest ${dataDir}`, no_params: true };
      },
    });
    const node1 = c.member('node1');
    const repl = c.credentials.replication;
    barman.configure({
      conninfo: `host=${node1.dir} port=${node1.pgPort} user=postgres dbname=postgres`,
      streamingConninfo: `host=127.0.0.1 port=${node1.pgPort} user=${repl.username} password=${repl.password}`,
    });
    node1.start();
    await c.waitForPrimary(120_000);
  });
  afterAll(async () => {
    await c?.stop();
    await barman.remove();
  });

  it('creates the replica with barman recover, not pg_basebackup', async () => {
    const node1 = c.member('node1');
    await node1.sql('CREATE TABLE bm (v text)');
    await node1.sql("INSERT INTO bm VALUES ('before the backup')");
    await barman.run(['switch-wal', '--force', '--archive', '--archive-timeout', '60', 'keel']);
    await barman.run(['backup', '--wait', 'keel'], 300_000);
    await node1.sql("INSERT INTO bm VALUES ('after the backup')");

    const node2 = c.member('node2');
    node2.start();
    await c.waitForReplicas(['node2'], 180_000);
    expect(logged(node2, 'replica has been created using barman')).toBe(1);
    expect(logged(node2, 'taking a base backup')).toBe(0);
    await waitFor(async () => (await node2.sql<{ n: string }>('SELECT count(*)::text AS n FROM bm'))[0]?.n === '2', { timeoutMs: 60_000, message: 'both rows on node2' });
  });
});
