import { PgBackRest, TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Point-in-time recovery into a new cluster (bootstrap.method with recovery_conf), after the same
 * setup as apps/agent/test/backup.int.test.ts (archiving, a replica restored from the backup). Too
 * long for the CI budget: npm run test:dr.
 */
describe('pgBackRest: archiving, replicas from the backup, bootstrap to a point in time', () => {
  let repo: PgBackRest;
  let c: TestCluster;
  let restored: TestCluster | undefined;

  const logged = (m: Member, text: string) => m.logs().some((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes(text));

  beforeAll(async () => {
    repo = PgBackRest.create('keel-backup');
    c = await TestCluster.start({
      members: 2,
      startAgents: false,
      tweak: (config) => repo.configureMember(config),
    });
  });
  afterAll(async () => {
    await restored?.stop();
    await c?.stop();
    repo?.remove();
  });

  it('creates a new replica from the pgBackRest backup, not with pg_basebackup, and it catches up', async () => {
    const node1 = c.member('node1');
    const node2 = c.member('node2');
    node1.start();
    await c.waitForPrimary(90_000);
    await node1.sql('CREATE TABLE dr (v text, at timestamptz DEFAULT clock_timestamp())');
    await node1.sql("INSERT INTO dr (v) VALUES ('before the backup')");
    await repo.run(node1, ['stanza-create']);
    await repo.run(node1, ['backup', '--type=full']);
    expect((await repo.info()).map((b) => b.type)).toEqual(['full']);
    await node1.sql("INSERT INTO dr (v) VALUES ('after the backup')");

    node2.start();
    await c.waitForReplicas(['node2'], 120_000);
    expect(logged(node2, 'replica has been created using pgbackrest')).toBe(true);
    expect(logged(node2, 'taking a base backup')).toBe(false);
    expect((await node2.sql<{ v: string }>('SELECT v FROM dr ORDER BY at')).map((r) => r.v)).toEqual(['before the backup', 'after the backup']);
    const streaming = await node1.sql<{ n: string }>("SELECT count(*)::text AS n FROM pg_stat_replication WHERE application_name = 'node2'");
    expect(streaming[0]?.n).toBe('1');

    // archiving works on the primary: the WAL of the backup and after it is in the repository
    await node1.sql('SELECT pg_switch_wal()');
    await waitFor(async () => Number((await node1.sql<{ n: string }>('SELECT archived_count::text AS n FROM pg_stat_archiver'))[0]?.n) >= 2, {
      timeoutMs: 30_000,
      message: 'the primary archives WAL with pgbackrest archive-push',
    });
    expect((await node1.sql<{ n: string }>('SELECT failed_count::text AS n FROM pg_stat_archiver'))[0]?.n).toBe('0');
  });

  it('bootstraps a new cluster from the backup to a point in time between two writes', async () => {
    const node1 = c.member('node1');
    await node1.sql("INSERT INTO dr (v) VALUES ('first')");
    const [{ t } = { t: '' }] = await node1.sql<{ t: string }>("SELECT (clock_timestamp() + interval '500 milliseconds')::text AS t");
    await waitFor(async () => (await node1.sql<{ past: boolean }>('SELECT clock_timestamp() > $1::timestamptz + interval \'500 milliseconds\' AS past', [t]))[0]?.past === true, {
      timeoutMs: 10_000,
      message: 'the target time is past',
    });
    await node1.sql("INSERT INTO dr (v) VALUES ('second')");
    const [{ wal } = { wal: '' }] = await node1.sql<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal');
    await waitFor(async () => ((await node1.sql<{ w: string | null }>('SELECT last_archived_wal AS w FROM pg_stat_archiver'))[0]?.w ?? '') >= wal, {
      timeoutMs: 30_000,
      message: `WAL ${wal} archived`,
    });

    restored = await TestCluster.start({
      members: 1,
      scope: 'keel-restored',
      tweak: (config) => {
        const dataDir = (config['postgresql'] as Record<string, unknown>)['data_dir'] as string;
        const bootstrap = config['bootstrap'] as Record<string, unknown>;
        bootstrap['method'] = 'pgbackrest';
        bootstrap['pgbackrest'] = {
          command: `${repo.base(dataDir)} restore`,
          no_params: true,
          recovery_conf: {
            restore_command: repo.restoreCommand(dataDir),
            recovery_target_time: t,
            recovery_target_action: 'promote',
          },
        };
      },
    });
    const leader = await restored.waitForPrimary(120_000);
    expect(logged(leader, 'bootstrapped the cluster using pgbackrest')).toBe(true);
    expect((await leader.sql<{ v: string }>('SELECT v FROM dr ORDER BY at')).map((r) => r.v)).toEqual(['before the backup', 'after the backup', 'first']);
    // a writable primary whose recovery target does not survive a restart of its configuration
    await leader.sql("INSERT INTO dr (v) VALUES ('on the restored cluster')");
    const conf = await leader.sql<{ n: string }>("SELECT count(*)::text AS n FROM pg_file_settings WHERE name = 'recovery_target_time' AND applied");
    expect(conf[0]?.n).toBe('0');
  });
});
