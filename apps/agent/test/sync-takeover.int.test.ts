import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { TestCluster, WriteWorkload, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);

// Synchronous mode's early takeover (ARCHITECTURE.md "Early takeover in synchronous mode") on one
// real 3-member cluster at ttl 30 / loop_wait 10, where the lease path cannot hand over in less than
// ttl - loop_wait = 20 s after a crash. Each member's PostgreSQL and REST API are reached by the other
// members through TCP proxies, so the primary can be cut off from its peers but not from etcd.
// In order: (1) the primary partitioned from its replicas keeps heartbeating and is not overtaken;
// (2) kill -9 of the primary's node: its synchronous standby leads within seconds, no acknowledged
// write lost.
describe('early takeover in synchronous mode', () => {
  let c: TestCluster;
  const TTL = 30;
  const LOOP_WAIT = 10;

  const rawSync = async (): Promise<{ leader: string | null; sync_standby: string | null } | null> => {
    const { stdout } = await execFileP('etcdctl', ['--endpoints', c.etcd.hostPort, 'get', `/service/${c.scope}/sync`, '--print-value-only'], {
      env: { ...process.env, ETCDCTL_API: '3' },
      timeout: 10_000,
    });
    return stdout.trim() ? JSON.parse(stdout.trim()) : null;
  };
  const syncStandbyOf = (leader: Member): Promise<Member> =>
    waitFor(
      async () => {
        const s = await rawSync().catch(() => null);
        return s?.leader === leader.name && s.sync_standby && !s.sync_standby.includes(',') ? c.member(s.sync_standby) : null;
      },
      { timeoutMs: 90_000, intervalMs: 200, message: `/sync naming ${leader.name} and one sync standby` },
    );
  const othersAnsweringPrimary = async (exclude: Member): Promise<string[]> => {
    const out: string[] = [];
    for (const m of c.members) if (m !== exclude && (await m.api('/primary').catch(() => null))?.status === 200) out.push(m.name);
    return out;
  };

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 3,
      ttl: TTL,
      loopWait: LOOP_WAIT,
      retryTimeout: 10,
      scope: 'takeover',
      peerProxies: true,
      tweak: (cfg) => {
        const dcs = (cfg.bootstrap as { dcs: Record<string, unknown> & { postgresql: { parameters: Record<string, unknown> } } }).dcs;
        dcs.synchronous_mode = true;
        // A standby cut off from its primary stops "streaming" within seconds instead of 60 s.
        dcs.postgresql.parameters.wal_receiver_timeout = '4s';
        dcs.postgresql.parameters.wal_sender_timeout = '4s';
      },
    });
  }, 180_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('a primary partitioned from its replicas but not from etcd keeps heartbeating and is not overtaken', async () => {
    const primary = await c.waitForPrimary(120_000);
    await c.waitForReplicas(c.members.filter((m) => m !== primary).map((m) => m.name), 120_000);
    const standby = await syncStandbyOf(primary);
    primary.partitionFromPeers();
    const until = Date.now() + 20_000;
    const seen = new Set<string>();
    try {
      // The standby stops streaming after wal_receiver_timeout; the primary's lease stays fresh, so no
      // member may take over although neither its PostgreSQL nor its REST API answers them.
      await waitFor(async () => (await standby.api<{ replication_state?: string }>('/patroni')).body.replication_state === 'stopped', {
        timeoutMs: 30_000,
        message: `${standby.name} stops streaming`,
      });
      while (Date.now() < until) {
        for (const n of await othersAnsweringPrimary(primary)) seen.add(n);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      primary.healPeers();
    }
    expect([...seen]).toEqual([]);
    expect((await primary.api<{ role: string }>('/patroni')).body.role).toBe('master');
    const leaderKey = await c.member(standby.name).api<{ members: Array<{ name: string; role: string }> }>('/cluster');
    expect(leaderKey.body.members.find((m) => m.role === 'leader')?.name).toBe(primary.name);
  }, 120_000);

  it('kill -9 of the primary node: its synchronous standby leads within seconds, no acknowledged write lost', async () => {
    const primary = await c.waitForPrimary(120_000);
    await c.waitForReplicas(c.members.filter((m) => m !== primary).map((m) => m.name), 120_000);
    const standby = await syncStandbyOf(primary);
    await primary.sql('CREATE TABLE IF NOT EXISTS takeover (id bigint primary key, at timestamptz default clock_timestamp())');
    const w = new WriteWorkload(c, 'takeover', 5);
    w.start();
    try {
      await waitFor(() => w.acked.length > 100, { timeoutMs: 60_000, message: 'workload running' });
      await primary.kill9Node();
      const killedAt = Date.now();
      const leader = await waitFor(
        async () => {
          const n = await othersAnsweringPrimary(primary);
          return n.length > 0 ? n : null;
        },
        { timeoutMs: 90_000, intervalMs: 50, message: 'another member answering /primary' },
      );
      const tookS = (Date.now() - killedAt) / 1000;
      console.log(`early takeover: ${leader.join(',')} answered /primary ${tookS.toFixed(2)} s after kill -9 of ${primary.name}`);
      expect(leader).toEqual([standby.name]);
      // The lease path cannot be faster than ttl - loop_wait (the lease was refreshed at most loop_wait before the kill).
      expect(tookS).toBeLessThan(TTL - LOOP_WAIT - 5);
      await waitFor(() => w.acked.some((a) => a.at > killedAt), { timeoutMs: 60_000, message: 'writes succeed again' });
      await w.stop();
      const rows = await standby.sql<{ id: string }>('SELECT id FROM takeover');
      expect(w.lost(rows.map((r) => Number(r.id)))).toEqual([]);
      const log = fs.readFileSync(standby.logPath, 'utf8');
      expect(log).toContain('took the leader key over before its lease expired');
    } finally {
      await w.stop();
    }
  }, 240_000);
});
