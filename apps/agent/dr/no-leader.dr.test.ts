import fs from 'node:fs';
import { PgBackRest, TestCluster, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A formerly running cluster restored from its backup (Patroni's no_leader replica method): the only
 * member loses its data directory while the cluster is initialized and leaderless; it restores the
 * pgBackRest backup with no member to clone from, replays the archive, and leads again.
 */
describe('no_leader: a member restores from the backup when there is nobody to clone from', () => {
  let repo: PgBackRest;
  let c: TestCluster;
  const logged = (m: Member, text: string) => m.logs().filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes(text)).length;

  beforeAll(async () => {
    repo = PgBackRest.create('keel-noleader');
    c = await TestCluster.start({
      members: 1,
      startAgents: false,
      tweak: (config) => repo.configureMember(config, { fallback: [], noLeader: true }),
    });
  });
  afterAll(async () => {
    await c?.stop();
    repo?.remove();
  });

  it('restores, replays the archive past the backup, and takes the lock', async () => {
    const node1 = c.member('node1');
    node1.start();
    await c.waitForPrimary(120_000);
    await node1.sql('CREATE TABLE nl (v text)');
    await node1.sql("INSERT INTO nl VALUES ('in the backup')");
    await repo.run(node1, ['stanza-create']);
    await repo.run(node1, ['backup', '--type=full']);
    await node1.sql("INSERT INTO nl VALUES ('in the archive only')");
    await repo.run(node1, ['check']); // switches WAL and waits until it is archived
    await node1.stopAgent();
    fs.rmSync(node1.dataDir, { recursive: true, force: true });
    fs.mkdirSync(node1.dataDir, { mode: 0o700 });
    if (c.osUser) fs.chownSync(node1.dataDir, c.osUser.uid, c.osUser.gid);

    node1.start();
    const leader = await c.waitForPrimary(180_000);
    expect(leader.name).toBe('node1');
    expect(logged(node1, 'no leader to clone from: creating a replica with the no_leader replica creation methods')).toBeGreaterThan(0);
    expect(logged(node1, 'replica has been created using pgbackrest')).toBe(1);
    expect((await node1.sql<{ v: string }>('SELECT v FROM nl ORDER BY v')).map((r) => r.v)).toEqual(['in the archive only', 'in the backup']);
  });
});
