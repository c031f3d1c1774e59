import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { TestCluster, WriteWorkload, waitFor, type Member } from '@keel/testkit';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);

interface SyncKey {
  leader: string | null;
  sync_standby: string | null;
  quorum?: number;
}

// One real 3-member cluster bootstrapped with synchronous_mode: quorum, in order: ANY 1 (both
// replicas) and /sync with quorum 1 -> the health checks and patronictl 3.0.2 -> priority mode with
// maximum_lag_on_syncnode swaps out a standby whose replay is paused -> back to quorum mode ->
// kill -9 of the primary's node: a voter takes over (lease path) and no acknowledged write is lost.
describe('synchronous_mode: quorum on a 3-member Keel cluster', () => {
  let c: TestCluster;
  let auth: Record<string, string>;

  const rawSync = async (): Promise<SyncKey | null> => {
    const { stdout } = await execFileP('etcdctl', ['--endpoints', c.etcd.hostPort, 'get', `/service/${c.scope}/sync`, '--print-value-only'], {
      env: { ...process.env, ETCDCTL_API: '3' },
      timeout: 10_000,
    });
    return stdout.trim() ? (JSON.parse(stdout.trim()) as SyncKey) : null;
  };
  const ssnOf = async (m: Member): Promise<string> => (await m.sql<{ s: string }>("SELECT current_setting('synchronous_standby_names') AS s"))[0]!.s;
  const others = (leader: Member) => c.members.filter((m) => m !== leader);
  /** Quorum commit in place: ANY 1 of the other running members and /sync listing them with quorum 1. */
  const waitForQuorum = async (leader: Member, voters: Member[], timeoutMs: number) => {
    const names = voters.map((m) => m.name).sort();
    const quorum = names.length - 1;
    await waitFor(
      async () => {
        const s = await rawSync().catch(() => null);
        const ssn = await ssnOf(leader).catch(() => null);
        return s?.leader === leader.name && s.sync_standby === names.join(',') && s.quorum === quorum && ssn === `ANY 1 (${names.join(',')})`;
      },
      { timeoutMs, intervalMs: 250, message: `quorum commit ANY 1 (${names.join(',')}) with /sync quorum ${quorum} on ${leader.name}` },
    );
  };
  const patchConfig = async (m: Member, body: unknown) => {
    const res = await fetch(`${m.apiUrl}/config`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
  };
  const codes = async (m: Member, paths: string[]) =>
    Object.fromEntries(await Promise.all(paths.map(async (p) => [p, (await fetch(`${m.apiUrl}${p}`, { signal: AbortSignal.timeout(5000) })).status] as const)));

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 3,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      tweak: (cfg) => {
        (cfg.bootstrap as { dcs: Record<string, unknown> }).dcs.synchronous_mode = 'quorum';
      },
    });
    auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}` };
    const leader = await c.waitForPrimary(90_000);
    await c.waitForReplicas(others(leader).map((m) => m.name), 120_000);
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('sets ANY 1 (both replicas), /sync with the quorum field, and answers /quorum and /read-only-sync as Patroni 4', async () => {
    const leader = await c.waitForPrimary(30_000);
    const [r1, r2] = others(leader) as [Member, Member];
    await waitForQuorum(leader, [r1, r2], 30_000);
    const rows = await leader.sql<{ application_name: string; sync_state: string }>('SELECT application_name, sync_state FROM pg_stat_replication ORDER BY 1');
    expect(rows.map((r) => r.sync_state)).toEqual(['quorum', 'quorum']);
    await waitFor(async () => (await r1.api('/quorum')).status === 200 && (await r2.api('/quorum')).status === 200, { timeoutMs: 10_000, message: 'the replicas see /sync' });
    const paths = ['/quorum', '/read-only-quorum', '/read-only-sync', '/sync', '/async', '/primary'];
    expect(await codes(leader, paths)).toEqual({ '/quorum': 503, '/read-only-quorum': 200, '/read-only-sync': 200, '/sync': 503, '/async': 503, '/primary': 200 });
    for (const r of [r1, r2]) {
      expect(await codes(r, paths)).toEqual({ '/quorum': 200, '/read-only-quorum': 200, '/read-only-sync': 503, '/sync': 503, '/async': 503, '/primary': 503 });
      expect((await r.api<{ quorum_standby?: boolean }>('/patroni')).body.quorum_standby).toBe(true);
    }
    // patronictl 3.0.2 (Debian) predates quorum mode: it still lists the cluster from the same keys
    const cfgPath = path.join(c.dir, 'patronictl.yml');
    fs.writeFileSync(cfgPath, YAML.stringify({ scope: c.scope, namespace: '/service/', etcd3: { hosts: c.etcd.hostPort } }));
    const { stdout } = await execFileP('patronictl', ['-c', cfgPath, 'list', '-f', 'json'], { timeout: 30_000 });
    const listed = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(listed.map((r) => [r.Member, r.State])).toEqual(c.members.map((m) => [m.name, 'running']));
    expect(listed.find((r) => r.Member === leader.name)?.Role).toBe('Leader');
  });

  it('priority mode with maximum_lag_on_syncnode: a synchronous standby whose replay is paused is swapped out', async () => {
    const leader = await c.waitForPrimary(30_000);
    await patchConfig(leader, { synchronous_mode: true, maximum_lag_on_syncnode: 1024 * 1024, postgresql: { parameters: { synchronous_commit: 'remote_apply' } } });
    const stuck = await waitFor(
      async () => {
        const s = await rawSync().catch(() => null);
        const ssn = await ssnOf(leader).catch(() => null);
        return s?.leader === leader.name && s.sync_standby && !s.sync_standby.includes(',') && ssn === s.sync_standby ? c.member(s.sync_standby) : null;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: 'one synchronous standby in priority mode' },
    );
    const healthy = others(leader).find((m) => m !== stuck)!;
    await leader.sql('CREATE TABLE IF NOT EXISTS stuck (id int, pad text)');
    await stuck.sql('SELECT pg_catalog.pg_wal_replay_pause()');
    // ~4 MB in one transaction: its commit waits until the stuck standby is replaced (remote_apply)
    const client = new pg.Client({ host: '127.0.0.1', port: leader.pgPort, user: c.credentials.superuser.username, password: c.credentials.superuser.password, database: 'postgres' });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const commit = client.query("INSERT INTO stuck SELECT g, repeat('x', 1000) FROM generate_series(1, 4000) g");
      commit.catch(() => undefined);
      const swapped = await waitFor(async () => ((await rawSync().catch(() => null))?.sync_standby === healthy.name ? true : null), {
        timeoutMs: 30_000,
        intervalMs: 250,
        message: `/sync moved from the stuck ${stuck.name} to ${healthy.name}`,
      });
      expect(swapped).toBe(true);
      // released once the healthy standby is the synchronous one
      await waitFor(() => commit.then(() => true), { timeoutMs: 30_000, message: 'the waiting commit is released' });
      expect(await ssnOf(leader)).toBe(healthy.name);
    } catch (e) {
      console.log(fs.readFileSync(leader.logPath, 'utf8').split('\n').filter((l) => /sync|quorum/i.test(l)).slice(-40).join('\n'));
      throw e;
    } finally {
      void client.end().catch(() => undefined);
      await stuck.sql('SELECT pg_catalog.pg_wal_replay_resume()');
    }
    await patchConfig(leader, { synchronous_mode: 'quorum', maximum_lag_on_syncnode: null, postgresql: { parameters: { synchronous_commit: null } } });
    await waitForQuorum(leader, others(leader), 40_000);
  });

  it('kill -9 of the primary node: a voter takes over and no acknowledged write is lost', async () => {
    const leader = await c.waitForPrimary(30_000);
    await waitForQuorum(leader, others(leader), 30_000);
    await leader.sql('CREATE TABLE IF NOT EXISTS qw (id bigint primary key)');
    const w = new WriteWorkload(c, 'qw', 2);
    w.start();
    await waitFor(() => w.acked.length > 100, { timeoutMs: 30_000, message: 'workload running' });
    await leader.kill9Node();
    const killedAt = Date.now();
    const next = await c.waitForPrimary(60_000, leader.name);
    expect(others(leader)).toContain(next);
    const n = w.acked.length;
    await waitFor(() => w.acked.length > n + 30, { timeoutMs: 30_000, message: 'writes continue on the new primary' });
    await w.stop();
    const rows = (await next.sql<{ id: string }>('SELECT id FROM qw')).map((r) => Number(r.id));
    expect(w.lost(rows, killedAt)).toEqual([]);
    // the new leader ends with the remaining replica as its only voter (the old leader is gone)
    const rest = others(leader).find((m) => m !== next)!;
    await waitFor(
      async () => {
        const s = await rawSync().catch(() => null);
        return s?.leader === next.name && s.sync_standby === rest.name && s.quorum === 0 && (await ssnOf(next).catch(() => null)) === `ANY 1 (${rest.name})`;
      },
      { timeoutMs: 40_000, intervalMs: 250, message: `quorum commit on ${next.name} with ${rest.name}` },
    );
  });
});
