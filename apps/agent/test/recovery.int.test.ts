import { TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('a crashed postmaster on the leader', () => {
  let c: TestCluster;
  let leader: Member;

  beforeAll(async () => {
    c = await TestCluster.start({ members: 2, ttl: 10, loopWait: 2, retryTimeout: 3, primaryStartTimeout: 30 });
    leader = await c.waitForPrimary(90_000);
    await c.waitForReplicas(c.members.filter((m) => m !== leader).map((m) => m.name), 120_000);
    await leader.sql('CREATE TABLE r (id int)');
    await leader.sql('INSERT INTO r VALUES (1)');
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('is restarted in place on the same timeline, keeping the lock, with no failover', async () => {
    const oldPid = leader.postmasterPid();
    await leader.kill9Postgres();
    await waitFor(
      async () => {
        const pid = leader.postmasterPid();
        if (!pid || pid === oldPid) return false;
        await leader.sql('INSERT INTO r VALUES (2)');
        return true;
      },
      { timeoutMs: 30_000, message: `${leader.name} restarts PostgreSQL and accepts writes again` },
    );
    expect((await leader.api('/primary')).status).toBe(200);
    expect((await leader.api<Record<string, unknown>>('/patroni')).body.timeline).toBe(1);
    expect((await leader.api('/history')).body).toEqual([]);
    const reasons = leader.logs().map((l) => String(l.msg));
    expect(reasons.some((r) => /start/i.test(r) && /primary|crash/i.test(r))).toBe(true);
  });
});
