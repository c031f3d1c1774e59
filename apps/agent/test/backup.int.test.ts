import { PgBackRest, TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Backups on real pgBackRest (a local repository): the primary archives with archive-push, and a new
 * replica is restored from the repository (not pg_basebackup). The same setup followed by a
 * point-in-time bootstrap of a new cluster is apps/agent/dr/pitr.dr.test.ts (npm run test:dr).
 */
describe('pgBackRest: archiving and replicas from the backup', () => {
  let repo: PgBackRest;
  let c: TestCluster;

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
});
