import { execFile } from 'node:child_process';
import pg from 'pg';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TNodeStatus } from '@keel/protocol';
import { TestCluster, WriteWorkload, waitFor, type Member } from '@keel/testkit';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);

interface SyncKey {
  leader: string | null;
  sync_standby: string | null;
}

// One real cluster with synchronous_mode: true (priority mode), in order: the leader picks a sync
// standby -> health checks and patronictl show it -> a switchover to the async replica is refused ->
// stopping the sync standby moves /sync -> kill -9 of the leader: the sync standby takes over, no
// acknowledged write is lost.
describe('synchronous_mode on a 3-member Keel cluster', () => {
  let c: TestCluster;
  let auth: Record<string, string>;

  /** The sync standbys as GET /cluster shows them (role sync_standby). */
  const readSync = async (): Promise<SyncKey | null> => {
    for (const m of c.members) {
      try {
        const body = (await m.api<{ members: Array<{ name: string; role: string }> }>('/cluster')).body;
        const leader = body.members.find((x) => x.role === 'leader')?.name ?? null;
        const sync = body.members.filter((x) => x.role === 'sync_standby').map((x) => x.name);
        return { leader, sync_standby: sync.length ? sync.join(',') : null };
      } catch {
        /* try the next member */
      }
    }
    return null;
  };
  const rawSync = async (): Promise<SyncKey | null> => {
    const { stdout } = await execFileP('etcdctl', ['--endpoints', c.etcd.hostPort, 'get', `/service/${c.scope}/sync`, '--print-value-only'], {
      env: { ...process.env, ETCDCTL_API: '3' },
      timeout: 10_000,
    });
    return stdout.trim() ? (JSON.parse(stdout.trim()) as SyncKey) : null;
  };
  /** Wait until /sync names `leader` and exactly one sync standby (not `not`); returns that standby. */
  const waitForSyncStandby = async (leader: Member, timeoutMs: number, not?: string): Promise<Member> =>
    waitFor(
      async () => {
        const s = await rawSync().catch(() => null);
        if (!s || s.leader !== leader.name || !s.sync_standby || s.sync_standby.includes(',') || s.sync_standby === not) return null;
        return c.member(s.sync_standby);
      },
      { timeoutMs, intervalMs: 200, message: `/sync naming ${leader.name} and a sync standby${not ? ` other than ${not}` : ''}` },
    );
  const post = async (m: Member, p: string, body: unknown) => {
    const res = await fetch(`${m.apiUrl}${p}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
    return { status: res.status, text: await res.text() };
  };
  const codes = async (m: Member, paths: string[], method = 'GET') =>
    Object.fromEntries(await Promise.all(paths.map(async (p) => [p, (await fetch(`${m.apiUrl}${p}`, { method, signal: AbortSignal.timeout(5000) })).status] as const)));

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 3,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      tweak: (cfg) => {
        const bootstrap = cfg.bootstrap as { dcs: Record<string, unknown> };
        bootstrap.dcs.synchronous_mode = true;
      },
    });
    auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}` };
    const leader = await c.waitForPrimary(90_000);
    await c.waitForReplicas(c.members.filter((m) => m !== leader).map((m) => m.name), 120_000);
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('/sync names the leader and one replica, which PostgreSQL replicates to synchronously', async () => {
    const leader = await c.waitForPrimary(30_000);
    const standby = await waitForSyncStandby(leader, 30_000);
    expect(standby).not.toBe(leader);
    const raw = await rawSync();
    expect(raw).toEqual({ leader: leader.name, sync_standby: standby.name });
    const rows = await leader.sql<{ application_name: string; sync_state: string }>('SELECT application_name, sync_state FROM pg_stat_replication ORDER BY 1');
    const async = c.members.find((m) => m !== leader && m !== standby)!;
    expect(rows).toEqual(
      [
        { application_name: standby.name, sync_state: 'sync' },
        { application_name: async.name, sync_state: 'async' },
      ].sort((a, b) => a.application_name.localeCompare(b.application_name)),
    );
    const ssn = await leader.sql<{ s: string }>("SELECT current_setting('synchronous_standby_names') AS s");
    expect(ssn[0]?.s).toBe(standby.name);
    // the member key keeps role replica (Patroni's)
    expect((await readSync())?.sync_standby).toBe(standby.name);
  });

  it('answers the sync/async health checks as Patroni 3.0.2 does, and shows the sync standby in /cluster, /patroni and /metrics', async () => {
    const leader = await c.waitForPrimary(30_000);
    const standby = await waitForSyncStandby(leader, 30_000);
    const async = c.members.find((m) => m !== leader && m !== standby)!;
    // Like Patroni, the health checks read the DCS as of the member's last loop (up to loop_wait old).
    await waitFor(async () => (await standby.api('/sync')).status === 200 && (await async.api('/async')).status === 200, {
      timeoutMs: 10_000,
      message: 'the replicas see the new /sync',
    });
    const paths = ['/sync', '/synchronous', '/async', '/asynchronous', '/replica', '/read-only', '/read-only-sync', '/primary'];
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      // rest_status_codes.tsv: node2 = sync_standby, node1 = replica, node3 = leader
      expect(await codes(standby, paths, method)).toEqual({ '/sync': 200, '/synchronous': 200, '/async': 503, '/asynchronous': 503, '/replica': 200, '/read-only': 200, '/read-only-sync': 200, '/primary': 503 });
      expect(await codes(async, paths, method)).toEqual({ '/sync': 503, '/synchronous': 503, '/async': 200, '/asynchronous': 200, '/replica': 200, '/read-only': 200, '/read-only-sync': 503, '/primary': 503 });
      expect(await codes(leader, paths, method)).toEqual({ '/sync': 503, '/synchronous': 503, '/async': 503, '/asynchronous': 503, '/replica': 503, '/read-only': 200, '/read-only-sync': 200, '/primary': 200 });
    }
    const cluster = (await async.api<{ members: Array<{ name: string; role: string }> }>('/cluster')).body;
    expect(cluster.members.map((m) => [m.name, m.role])).toEqual(
      c.members.map((m) => [m.name, m === leader ? 'leader' : m === standby ? 'sync_standby' : 'replica']),
    );
    const st = (await standby.api<TNodeStatus>('/patroni')).body;
    expect([st.role, st.sync_standby]).toEqual(['replica', true]);
    expect((await async.api<TNodeStatus>('/patroni')).body.sync_standby).toBeUndefined();
    expect((await standby.api<string>('/metrics')).body).toMatch(/^patroni_sync_standby\{[^}]*\} 1$/m);
    expect((await async.api<string>('/metrics')).body).toMatch(/^patroni_sync_standby\{[^}]*\} 0$/m);
  });

  it('is listed by patronictl (Debian package) with the "Sync Standby" role', async () => {
    const leader = await c.waitForPrimary(30_000);
    const standby = await waitForSyncStandby(leader, 30_000);
    const cfgPath = path.join(c.dir, 'patronictl.yml');
    fs.writeFileSync(cfgPath, YAML.stringify({ scope: c.scope, namespace: '/service/', etcd3: { hosts: c.etcd.hostPort } }));
    const { stdout } = await execFileP('patronictl', ['-c', cfgPath, 'list', '-f', 'json'], { timeout: 30_000 });
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => [r.Member, r.Role, r.State])).toEqual(
      c.members.map((m) => [m.name, m === leader ? 'Leader' : m === standby ? 'Sync Standby' : 'Replica', 'running']),
    );
  });

  it('refuses a switchover to the asynchronous replica with 412 "candidate name does not match with sync_standby"', async () => {
    const leader = await c.waitForPrimary(30_000);
    const standby = await waitForSyncStandby(leader, 30_000);
    const async = c.members.find((m) => m !== leader && m !== standby)!;
    const res = await post(leader, '/switchover', { leader: leader.name, candidate: async.name });
    expect([res.status, res.text]).toEqual([412, 'candidate name does not match with sync_standby']);
    expect((await leader.api('/primary')).status).toBe(200);
  });

  it('moves /sync to the other replica when the sync standby stops (non-strict)', async () => {
    const leader = await c.waitForPrimary(30_000);
    const standby = await waitForSyncStandby(leader, 30_000);
    const stoppedAt = Date.now();
    await standby.stopAgent();
    const next = await waitForSyncStandby(leader, 20_000, standby.name);
    expect(next).not.toBe(leader);
    expect(Date.now() - stoppedAt).toBeLessThan(20_000);
    // writes keep working on the leader (synchronous to the new standby)
    await leader.sql('CREATE TABLE IF NOT EXISTS sy (id bigint primary key)');
    await leader.sql('INSERT INTO sy VALUES (0)');
    // bring it back: it rejoins as an asynchronous replica (the current sync standby is kept)
    standby.start();
    await c.waitForReplicas([standby.name], 120_000);
    expect((await rawSync())?.sync_standby).toBe(next.name);
  });

  it('kill -9 of the leader node: the sync standby takes over (not the async replica) and no acknowledged write is lost', async () => {
    const leader = await c.waitForPrimary(30_000);
    const standby = await waitForSyncStandby(leader, 30_000);
    const async = c.members.find((m) => m !== leader && m !== standby)!;
    await leader.sql('CREATE TABLE IF NOT EXISTS sy (id bigint primary key)');
    await leader.sql('DELETE FROM sy');
    const w = new WriteWorkload(c, 'sy', 2);
    w.start();
    await waitFor(() => w.acked.length > 200, { timeoutMs: 30_000, message: 'workload running' });
    await leader.kill9Node();
    const killedAt = Date.now();
    const next = await c.waitForPrimary(60_000, leader.name);
    expect(next.name).toBe(standby.name);
    expect((await async.api('/primary')).status).toBe(503);
    const n = w.acked.length;
    await waitFor(() => w.acked.length > n + 50, { timeoutMs: 30_000, message: 'writes continue on the new primary' });
    await w.stop();
    const rows = (await next.sql<{ id: string }>('SELECT id FROM sy')).map((r) => Number(r.id));
    expect(w.lost(rows, killedAt)).toEqual([]);
    // the new leader claims /sync and picks the remaining replica once it follows
    const after = await waitForSyncStandby(next, 60_000);
    expect(after.name).toBe(async.name);
  });
});

// synchronous_mode_strict: with its only standby gone the primary does not acknowledge commits;
// they complete once a standby is back. A promoted member has '*' in place before it takes writes.
describe('synchronous_mode_strict on a 2-member Keel cluster', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 2,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      tweak: (cfg) => {
        const bootstrap = cfg.bootstrap as { dcs: Record<string, unknown> };
        bootstrap.dcs.synchronous_mode = true;
        bootstrap.dcs.synchronous_mode_strict = true;
      },
    });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('blocks commits while no synchronous standby is connected, and lets them through when it is back', async () => {
    const leader = await c.waitForPrimary(90_000);
    const replica = c.members.find((m) => m !== leader)!;
    await c.waitForReplicas([replica.name], 120_000);
    await waitFor(async () => (await leader.sql<{ s: string }>("SELECT current_setting('synchronous_standby_names') AS s"))[0]!.s === replica.name, {
      timeoutMs: 30_000,
      message: `the leader names ${replica.name} in synchronous_standby_names`,
    });
    await leader.sql('CREATE TABLE strict_t (v int)');
    await replica.stopAgent(); // stops its PostgreSQL too
    await waitFor(async () => (await leader.sql<{ s: string }>("SELECT current_setting('synchronous_standby_names') AS s"))[0]!.s === '*', {
      timeoutMs: 30_000,
      message: "strict mode keeps '*' when no standby is left",
    });
    // A plain client without statement_timeout: a cancelled wait would commit locally.
    const client = new pg.Client({
      host: '127.0.0.1',
      port: leader.pgPort,
      user: c.credentials.superuser.username,
      password: c.credentials.superuser.password,
      database: 'postgres',
    });
    client.on('error', () => undefined);
    await client.connect();
    let doneAt: number | null = null;
    const commit = client.query('INSERT INTO strict_t VALUES (1)').then(() => {
      doneAt = Date.now();
    });
    await new Promise((r) => setTimeout(r, 3000)); // a test of "still blocked", so a fixed wait
    expect(doneAt).toBeNull();
    replica.start();
    await waitFor(() => doneAt !== null, { timeoutMs: 90_000, message: 'the commit completes once the standby is back' });
    await commit;
    await client.end();
    expect((await replica.sql<{ v: number }>('SELECT v FROM strict_t'))[0]?.v).toBe(1);
  });
});
