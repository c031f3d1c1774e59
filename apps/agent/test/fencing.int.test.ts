import { TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Each agent reaches etcd through its own TCP proxy, so one member can be cut off from the DCS
// (packets dropped, connections left hanging) while the others still see it.
describe('fencing: a primary cut off from etcd', () => {
  let c: TestCluster;
  let primary: Member;

  beforeAll(async () => {
    c = await TestCluster.start({ members: 3, ttl: 10, loopWait: 2, retryTimeout: 3, etcdProxies: true });
    primary = await c.waitForPrimary(90_000);
    await c.waitForReplicas(c.members.filter((m) => m !== primary).map((m) => m.name), 120_000);
    await primary.sql('CREATE TABLE w (id serial primary key, at timestamptz default now())');
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('stops accepting writes before ttl has passed, keeps serving reads as a standby, and another member takes over', async () => {
    for (let i = 0; i < 3; i++) await primary.sql('INSERT INTO w DEFAULT VALUES');
    const cutAt = Date.now();
    primary.proxy!.blackhole();
    await waitFor(
      async () => {
        try {
          await primary.sql('INSERT INTO w DEFAULT VALUES');
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: c.ttl * 1000, intervalMs: 100, message: `${primary.name} refuses writes after losing etcd` },
    );
    expect(Date.now() - cutAt).toBeLessThan(c.ttl * 1000);
    // Patroni's demote('offline'): a read-only standby with no upstream, not a stopped server.
    const reads = await waitFor(
      async () => {
        try {
          return (await primary.sql<{ r: boolean; n: string }>('SELECT pg_is_in_recovery() AS r, count(*) AS n FROM w'))[0]!;
        } catch {
          return null;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200, message: `${primary.name} serves reads as a standby while cut off` },
    );
    expect(reads.r).toBe(true);
    expect(Number(reads.n)).toBeGreaterThanOrEqual(3);
    const next = await c.waitForPrimary(30_000, primary.name);
    expect(next.name).not.toBe(primary.name);
    await next.sql('INSERT INTO w DEFAULT VALUES');
    // While cut off, the old primary never answers /primary again, refuses writes and still serves reads.
    expect((await primary.api('/primary')).status).toBe(503);
    await expect(primary.sql('INSERT INTO w DEFAULT VALUES')).rejects.toThrow(/read-only/);
    expect((await primary.sql<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]!.r).toBe(true);
  });

  it('rejoins as a replica of the new leader once etcd is reachable again', async () => {
    primary.proxy!.heal({ reset: true });
    await c.waitForReplicas([primary.name], 90_000);
    const leader = (await c.primary())!;
    await leader.sql('INSERT INTO w DEFAULT VALUES');
    const n = Number((await leader.sql<{ n: string }>('SELECT count(*) AS n FROM w'))[0]!.n);
    await waitFor(async () => Number((await primary.sql<{ n: string }>('SELECT count(*) AS n FROM w'))[0]!.n) === n, {
      timeoutMs: 30_000,
      message: `${primary.name} has all ${n} rows`,
    });
  });
});
