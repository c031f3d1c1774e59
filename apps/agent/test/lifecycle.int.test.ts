import fs from 'node:fs';
import { EtcdDcs } from '@keel/dcs';
import type { TNodeStatus } from '@keel/protocol';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The agent's lifecycle as Patroni 3.0.2 lives it, on a real cluster with Patroni's default timing
// (ttl 30, loop_wait 10, retry_timeout 10: the loop rarely runs in the few seconds a check takes).
// node1 and node2 are ordinary members (either may bootstrap); node3 has `watchdog.mode: required`
// and no watchdog device; node4 has a wrong replication password (its clone always fails) and is
// tagged nofailover so it never bootstraps.
const NO_DEVICE = '/dev/keel-test-no-such-watchdog';

describe('agent lifecycle (Patroni behaviour)', () => {
  let c: TestCluster;
  let primary: Member;
  let replica: Member;
  let dcs: EtcdDcs;
  let auth: Record<string, string>;

  const status = async (m: Member) => (await m.api<TNodeStatus>('/patroni')).body;
  const leaderKey = async () => (await dcs.readCluster()).leader?.name ?? null;
  const logged = (m: Member, msg: string, since = 0) => m.logs().filter((l) => l.msg === msg && Date.parse(String(l.time)) >= since);
  const pgLog = (m: Member) => fs.readFileSync(`${m.dataDir}.log`, 'utf8');
  async function patchConfig(m: Member, body: unknown): Promise<void> {
    const res = await fetch(`${m.apiUrl}/config`, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    expect(res.status, await res.text()).toBe(200);
  }
  async function writable(m: Member): Promise<boolean> {
    try {
      await m.sql('INSERT INTO lc DEFAULT VALUES');
      return true;
    } catch {
      return false;
    }
  }

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 4,
      ttl: 30,
      loopWait: 10,
      retryTimeout: 10,
      tags: [undefined, undefined, undefined, { nofailover: true }],
      tweak: (cfg, i) => {
        if (i === 2) cfg.watchdog = { mode: 'required', device: NO_DEVICE };
        if (i === 3) {
          const pg = cfg.postgresql as { authentication: { replication: { password: string } } };
          pg.authentication.replication = { ...pg.authentication.replication, password: 'not-the-password' };
        }
      },
    });
    auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}` };
    dcs = new EtcdDcs({ hosts: c.etcd.hostPort, scope: c.scope, callTimeoutMs: 5000 });
    primary = await c.waitForPrimary(120_000);
    expect(['node1', 'node2']).toContain(primary.name);
    replica = c.member(primary.name === 'node1' ? 'node2' : 'node1');
    await c.waitForReplicas([replica.name, 'node3'], 180_000);
    await primary.sql('CREATE TABLE lc (id serial primary key)');
  });
  afterAll(async () => {
    await dcs?.close();
    await c?.stop();
  });

  it('watchdog.mode required without a device: never bootstraps, runs as a replica', async () => {
    const node3 = c.member('node3');
    const s = await status(node3);
    expect(s.role).toBe('replica');
    expect(s.keel?.reason).toBe(`no action. I am (node3), a secondary, and following a leader (${primary.name})`);
    expect(logged(node3, 'trying to bootstrap a new cluster')).toEqual([]);
  });

  it('a failing clone is retried with exponential backoff, visible in the state and the reason', async () => {
    const node4 = c.member('node4');
    // Let it fail for a while, counting pg_basebackup attempts.
    await waitFor(() => logged(node4, 'clone failed').length >= 1, { timeoutMs: 60_000, message: 'node4 tried to clone' });
    const first = Date.parse(String(logged(node4, 'clone failed')[0]!.time));
    await waitFor(() => Date.now() - first >= 25_000, { timeoutMs: 30_000, intervalMs: 500, message: '25 s of failed clones' });
    const failures = logged(node4, 'clone failed').filter((l) => Date.parse(String(l.time)) - first <= 25_000);
    // 1 s, 2 s, 4 s, 8 s ... between attempts: 5 attempts in 25 s (538 in 40 s without backoff).
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures.length).toBeLessThanOrEqual(7);
    expect(failures.map((l) => l.attempts)).toEqual(failures.map((_, i) => i + 1));
    const at = failures.map((l) => Date.parse(String(l.time)));
    const lastGap = at[at.length - 1]! - at[at.length - 2]!;
    expect(lastGap).toBeGreaterThanOrEqual(0.9 * 1000 * 2 ** (failures.length - 2));
    const s = await status(node4);
    expect(s.state).toBe('clone failed');
    expect(s.keel?.reason).toMatch(/^waiting \d+ s before cloning again: \d+ attempts in a row failed$/);
  });

  it("restarting a replica's agent keeps its member key and slot: it streams again without a missing slot", async () => {
    const slots = async () => (await primary.sql<{ slot_name: string }>('SELECT slot_name FROM pg_replication_slots')).map((r) => r.slot_name);
    expect(await slots()).toContain(replica.name);
    const logStart = pgLog(replica).length;
    await replica.stopAgent();
    expect(replica.postmasterPid()).toBeNull();
    const key = (await dcs.readCluster()).members.find((m) => m.name === replica.name);
    expect(key?.value.state).toBe('stopped');
    // The leader runs a tick that sees the stopped member, and keeps its slot.
    const stoppedAt = Date.now();
    const leaderTicked = () => logged(primary, `no action. I am (${primary.name}), the leader with the lock`, stoppedAt + 500).length > 0;
    while (!leaderTicked()) {
      expect(Date.now() - stoppedAt).toBeLessThan((c.loopWait + 10) * 1000);
      expect(await slots()).toContain(replica.name);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await slots()).toContain(replica.name);
    await primary.sql('INSERT INTO lc DEFAULT VALUES');
    replica.start();
    await c.waitForReplicas([replica.name], 90_000);
    expect(pgLog(replica).slice(logStart)).not.toMatch(/replication slot .* does not exist/);
  });

  it('GET /replica answers 503 within 2 s once the postmaster of a replica died', async () => {
    expect((await replica.api('/replica')).status).toBe(200);
    const killedAt = Date.now();
    await replica.kill9Postgres();
    const seen = await waitFor(
      async () => {
        const r = await replica.api<TNodeStatus>('/replica');
        return r.status === 503 ? r : null;
      },
      { timeoutMs: 2000, intervalMs: 100, message: '/replica answers 503 after the postmaster died' },
    );
    expect(Date.now() - killedAt).toBeLessThan(2000);
    expect(seen.body.state).not.toBe('running');
  });

  it('SIGTERM while the agent starts PostgreSQL leaves no postmaster behind', async () => {
    // The loop notices the dead postmaster of the previous test (within loop_wait) and starts it.
    const since = Date.now() - 2000;
    await waitFor(() => logged(replica, 'startReplica started', since).length > 0 || null, {
      timeoutMs: (c.loopWait + 10) * 1000,
      intervalMs: 20,
      message: `${replica.name} starts PostgreSQL again`,
    });
    await replica.stopAgent();
    expect(replica.postmasterPid()).toBeNull();
    await new Promise((r) => setTimeout(r, 3000));
    expect(replica.postmasterPid()).toBeNull();
    replica.start();
    await c.waitForReplicas([replica.name], 90_000);
  });

  it('in pause, stopping the agent leaves PostgreSQL running and the leader key in place; a new agent adopts it', async () => {
    await patchConfig(primary, { pause: true });
    await waitFor(async () => (await Promise.all([primary, replica].map(status))).every((s) => s.pause === true), {
      timeoutMs: 30_000,
      message: 'both members see the pause',
    });
    const pid = primary.postmasterPid();
    expect(pid).not.toBeNull();
    await primary.stopAgent();
    expect(primary.postmasterPid()).toBe(pid);
    expect(await leaderKey()).toBe(primary.name);
    expect(await writable(primary)).toBe(true);
    primary.start();
    await waitFor(async () => (await primary.api('/primary').catch(() => null))?.status === 200, { timeoutMs: 60_000, message: 'the restarted agent leads' });
    expect(primary.postmasterPid()).toBe(pid);
    expect(await leaderKey()).toBe(primary.name);
  });

  it('in pause, a primary left alone past its lease is not fenced, and takes the lock again when its agent returns', async () => {
    const pid = primary.postmasterPid();
    await primary.stopAgent();
    // Nobody renews the lease: the leader key expires (within ttl), nobody takes over in pause, and
    // keel-fence (disarmed by the clean exit) does not stop PostgreSQL.
    await waitFor(async () => (await leaderKey()) === null, { timeoutMs: (c.ttl + 15) * 1000, intervalMs: 500, message: 'the leader key expires' });
    await new Promise((r) => setTimeout(r, 3000));
    expect(primary.postmasterPid()).toBe(pid);
    expect(await writable(primary)).toBe(true);
    expect((await replica.api('/primary')).status).toBe(503);
    primary.start();
    await waitFor(async () => (await primary.api('/primary').catch(() => null))?.status === 200, { timeoutMs: 60_000, message: 'the agent takes the lock again' });
    expect(primary.postmasterPid()).toBe(pid);
    expect(await leaderKey()).toBe(primary.name);
    // The tick's log line comes after its actions (the lock is visible first).
    await waitFor(() => logged(primary, 'PAUSE: acquiring the leader lock as the running primary').length > 0, {
      timeoutMs: 30_000,
      message: 'the agent logs that it took the lock as the running primary in pause',
    });
    await patchConfig(primary, { pause: false });
    await waitFor(async () => (await status(replica)).pause !== true, { timeoutMs: 30_000, message: 'resumed' });
  });

  it('watchdog.mode required without a device: the last running member still does not take the lock', async () => {
    const node3 = c.member('node3');
    await patchConfig(node3, { pause: false }); // already resumed unless the previous test failed
    await waitFor(async () => (await status(node3)).pause !== true, { timeoutMs: 30_000, message: 'node3 sees the cluster resumed' });
    await replica.stopAgent();
    await primary.stopAgent();
    const why = `no action. I am (node3), a secondary, and without a usable watchdog (watchdog.mode is required and ${NO_DEVICE} cannot be used: it does not exist), so I do not race for the lock`;
    await waitFor(async () => (await status(node3)).keel?.reason === why, { timeoutMs: 60_000, message: `node3 says: ${why}` });
    expect(await leaderKey()).toBeNull();
    expect((await node3.api('/primary')).status).toBe(503);
    expect((await node3.sql<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]!.r).toBe(true);
  });
});
