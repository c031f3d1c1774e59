import { TestCluster, WriteWorkload, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('planned switchover and manual failover through the REST API', () => {
  let c: TestCluster;
  let auth: Record<string, string>;
  const post = async (m: Member, p: string, body: unknown) => {
    const res = await fetch(`${m.apiUrl}${p}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    c = await TestCluster.start({ members: 3, ttl: 10, loopWait: 2, retryTimeout: 3, tags: [undefined, undefined, { nofailover: true }] });
    auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}` };
    await c.waitForPrimary(90_000);
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('refuses ineligible candidates with a 412 that says why, per member', async () => {
    const leader = await c.waitForPrimary(30_000);
    await c.waitForReplicas(c.members.filter((m) => m !== leader).map((m) => m.name), 120_000);
    const nofail = await post(leader, '/switchover', { leader: leader.name, candidate: 'node3' });
    expect(nofail.status).toBe(412);
    expect(nofail.text).toContain('node3');
    expect(nofail.text).toMatch(/nofailover/);
    const wrongLeader = await post(leader, '/switchover', { leader: 'nodeX', candidate: 'node2' });
    expect(wrongLeader.status).toBe(412);
    expect(wrongLeader.text).toMatch(/leader name does not match/i);
    const noCandidate = await post(leader, '/failover', {});
    expect([noCandidate.status, noCandidate.text]).toEqual([400, 'Failover could be performed only to a specific candidate']);
    const past = await post(leader, '/switchover', { leader: leader.name, candidate: c.members.find((m) => m !== leader && m.name !== 'node3')!.name, scheduled_at: '2001-01-01T00:00:00+00:00' });
    expect([past.status, past.text]).toEqual([422, 'Cannot schedule switchover in the past']);
    expect((await leader.api('/primary')).status).toBe(200);
  });

  it('waits for a candidate that does not stream from the leader, then refuses with exactly that reason, read under the request\'s revision', async () => {
    const leader = await c.waitForPrimary(30_000);
    const candidate = c.members.find((m) => m !== leader && m.name !== 'node3')!;
    const other = c.members.find((m) => m.name === 'node3')!; // the request goes through a member that is not the leader
    await c.waitForReplicas([candidate.name, other.name], 60_000);
    // Caught up as the member keys say (the REST check reads them): a WAL segment switch the candidate
    // has not received yet (the end of a base backup) counts as 16 MB of lag, refused for that instead.
    await waitFor(
      async () => (await leader.api<{ members: Array<{ name: string; lag?: number | string }> }>('/cluster')).body.members.find((m) => m.name === candidate.name)?.lag === 0,
      { timeoutMs: 30_000, message: `${candidate.name} caught up with ${leader.name}` },
    );
    const repl = c.credentials.replication.username;
    await leader.sql(`ALTER ROLE ${repl} NOLOGIN`); // the candidate cannot reconnect once its walsender ends
    try {
      await waitFor(
        async () => {
          await leader.sql('SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = $1', [candidate.name]);
          return (await leader.sql('SELECT 1 FROM pg_stat_replication WHERE application_name = $1', [candidate.name])).length === 0;
        },
        { timeoutMs: 30_000, message: `${candidate.name} no longer streams from ${leader.name}` },
      );
      const started = Date.now();
      const res = await post(other, '/switchover', { leader: leader.name, candidate: candidate.name });
      expect([res.status, res.text]).toEqual([412, `switchover: candidate (${candidate.name}) does not stream from me; removing the request`]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(4_500); // it waited (5 s from when the leader first saw it)
      expect((await leader.api('/primary')).status).toBe(200);
      const outcomes = (await leader.api<{ keel?: { failover_outcomes?: { outcome: string }[] } }>('/patroni')).body.keel?.failover_outcomes ?? [];
      expect(outcomes.at(-1)?.outcome).toBe(res.text);
    } finally {
      await leader.sql(`ALTER ROLE ${repl} LOGIN`);
    }
    await waitFor(
      async () => (await leader.sql("SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'", [candidate.name])).length === 1,
      { timeoutMs: 60_000, message: `${candidate.name} streams again` },
    );
  });

  it('switches over under a write workload, loses no acknowledged write, and the old primary follows', async () => {
    const leader = await c.waitForPrimary(30_000);
    const candidate = c.members.find((m) => m !== leader && m.name !== 'node3')!;
    await leader.sql('CREATE TABLE IF NOT EXISTS sw (id bigint primary key)');
    const w = new WriteWorkload(c, 'sw', 5);
    w.start();
    await waitFor(() => w.acked.length > 100, { timeoutMs: 20_000, message: 'workload running' });
    const res = await post(leader, '/switchover', { leader: leader.name, candidate: candidate.name });
    expect([res.status, res.text]).toEqual([200, `Successfully switched over to "${candidate.name}"`]);
    const n = w.acked.length;
    await waitFor(() => w.acked.length > n + 100, { timeoutMs: 20_000, message: 'writes continue on the new primary' });
    await w.stop();
    expect((await candidate.api('/primary')).status).toBe(200);
    expect(w.lost((await candidate.sql<{ id: string }>('SELECT id FROM sw')).map((r) => Number(r.id)))).toEqual([]);
    await c.waitForReplicas([leader.name], 60_000);
    expect((await leader.api<{ timeline: number }>('/patroni')).body.timeline).toBeGreaterThanOrEqual(2);
    const history = (await candidate.api<unknown[][]>('/history')).body;
    expect(history.at(-1)?.[4]).toBe(candidate.name);
  });

  it('schedules a switchover (shown in /cluster), cancels it with DELETE, then runs one on time', async () => {
    const leader = await c.waitForPrimary(30_000);
    await c.waitForReplicas(c.members.filter((m) => m !== leader).map((m) => m.name), 60_000);
    const target = c.members.find((m) => m !== leader && m.name !== 'node3')!;
    const del = (m: Member) => fetch(`${m.apiUrl}/switchover`, { method: 'DELETE', headers: auth });
    expect((await del(leader)).status).toBe(404);
    const later = new Date(Date.now() + 60_000).toISOString();
    const res = await post(leader, '/switchover', { leader: leader.name, candidate: target.name, scheduled_at: later });
    expect([res.status, res.text]).toEqual([202, 'Switchover scheduled']);
    const cl = (await leader.api<{ scheduled_switchover?: Record<string, string> }>('/cluster')).body;
    expect(cl.scheduled_switchover).toEqual({ at: later, from: leader.name, to: target.name });
    const again = await post(leader, '/switchover', { leader: leader.name, candidate: target.name });
    expect(again.status).toBe(409);
    const cancelled = await del(leader);
    expect([cancelled.status, await cancelled.text()]).toEqual([200, 'scheduled switchover deleted']);
    expect((await leader.api<Record<string, unknown>>('/cluster')).body.scheduled_switchover).toBeUndefined();

    const soon = new Date(Date.now() + 3000).toISOString();
    expect((await post(leader, '/switchover', { leader: leader.name, candidate: target.name, scheduled_at: soon })).status).toBe(202);
    await waitFor(async () => (await target.api('/primary')).status === 200, { timeoutMs: 30_000, message: `${target.name} leads after the scheduled time` });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(soon));
    await c.waitForReplicas([leader.name], 60_000);
  });

  it('fails over manually to a named candidate', async () => {
    const leader = await c.waitForPrimary(30_000);
    await c.waitForReplicas(c.members.filter((m) => m !== leader).map((m) => m.name), 60_000);
    const target = c.members.find((m) => m !== leader && m.name !== 'node3')!;
    const res = await post(target, '/failover', { candidate: target.name });
    expect(res.status).toBe(200);
    expect(res.text).toContain(target.name);
    expect((await target.api('/primary')).status).toBe(200);
    await c.waitForReplicas([leader.name], 60_000);
  });
});
