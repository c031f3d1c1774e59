import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TDynamicConfig, TNodeStatus } from '@keel/protocol';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import parsePrometheus from 'parse-prometheus-text-format';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);

// One real cluster (etcd + 3 agents + 3 PostgreSQL) for the whole lifecycle, in order:
// bootstrap -> replication -> health checks -> kill -9 of the leader -> failover -> rejoin.
describe('a 3-member Keel cluster on real etcd and PostgreSQL', () => {
  let c: TestCluster;
  let first: Member;
  let second: Member;

  beforeAll(async () => {
    c = await TestCluster.start({ members: 3, ttl: 10, loopWait: 2, retryTimeout: 3 });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('bootstraps to exactly one leader and two streaming replicas', async () => {
    first = await c.waitForPrimary(90_000);
    const others = c.members.filter((m) => m !== first).map((m) => m.name);
    await c.waitForReplicas(others, 120_000);
    const pgStat = await first.sql<{ application_name: string; state: string }>('SELECT application_name, state FROM pg_stat_replication ORDER BY 1');
    expect(pgStat).toEqual(others.map((n) => ({ application_name: n, state: 'streaming' })));
    const slots = await first.sql<{ slot_name: string; active: boolean }>('SELECT slot_name, active FROM pg_replication_slots ORDER BY 1');
    await waitFor(async () => (await first.sql<{ n: string }>('SELECT count(*) AS n FROM pg_replication_slots WHERE active'))[0]!.n === '2', {
      timeoutMs: 20_000,
      message: `both replicas stream through their slots (slots: ${JSON.stringify(slots)})`,
    });
  });

  it('replicates a row written on the leader to both replicas', async () => {
    await first.sql('CREATE TABLE t (id int primary key, note text)');
    await first.sql("INSERT INTO t VALUES (1, 'before failover')");
    for (const m of c.members.filter((x) => x !== first)) {
      await waitFor(async () => (await m.sql('SELECT note FROM t WHERE id = 1').catch(() => []))[0]?.note === 'before failover', {
        timeoutMs: 15_000,
        message: `row 1 visible on ${m.name}`,
      });
    }
  });

  it('answers the health endpoints with Patroni status codes', async () => {
    const replica = c.members.find((m) => m !== first)!;
    const codes = async (m: Member, p: string, method = 'GET') => (await m.api(p, { method })).status;
    const leaderExpect: Record<string, number> = {
      '/': 200, '/primary': 200, '/master': 200, '/read-write': 200, '/leader': 200, '/replica': 503, '/read-only': 200,
      '/health': 200, '/liveness': 200, '/readiness': 200, '/sync': 503, '/async': 503, '/standby-leader': 503, '/replica?lag=1MB': 503,
    };
    const replicaExpect: Record<string, number> = {
      '/': 503, '/primary': 503, '/master': 503, '/read-write': 503, '/leader': 503, '/replica': 200, '/read-only': 200,
      '/health': 200, '/liveness': 200, '/readiness': 200, '/sync': 503, '/async': 200, '/standby-leader': 503, '/replica?lag=1MB': 200,
      '/replica?tag_nofailover=false': 200, '/replica?tag_nofailover=true': 503, '/replica?tag_missing=x': 503,
    };
    for (const [p, code] of Object.entries(leaderExpect)) expect([p, await codes(first, p)]).toEqual([p, code]);
    for (const [p, code] of Object.entries(replicaExpect)) expect([p, await codes(replica, p)]).toEqual([p, code]);
    for (const method of ['HEAD', 'OPTIONS']) {
      expect(await codes(first, '/primary', method)).toBe(200);
      expect(await codes(replica, '/primary', method)).toBe(503);
      expect(await codes(replica, '/replica', method)).toBe(200);
    }
    const leaderBody = (await first.api<TNodeStatus>('/patroni')).body;
    // Patroni 3's vocabulary where its tools read it: role `master` in /patroni and in the member key.
    expect(leaderBody).toMatchObject({ state: 'running', role: 'master', timeline: 1, patroni: { scope: c.scope, name: first.name } });
    expect((await first.api<TNodeStatus>('/primary')).body.role).toBe('master');
    expect(leaderBody.xlog?.location).toBeGreaterThan(0);
    expect(leaderBody.replication).toHaveLength(2);
    const replicaBody = (await replica.api<TNodeStatus>('/patroni')).body;
    expect(replicaBody).toMatchObject({ state: 'running', role: 'replica', timeline: 1 });
    expect(replicaBody.xlog?.replayed_location).toBeGreaterThan(0);
    expect(replicaBody.database_system_identifier).toBe(leaderBody.database_system_identifier);
  });

  it('serves /metrics as Prometheus text with Patroni metric names', async () => {
    const res = await fetch(`${first.apiUrl}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const families = parsePrometheus(await res.text()) as Array<{ name: string; metrics: Array<{ value: string; labels: Record<string, string> }> }>;
    const value = (n: string) => Number(families.find((f) => f.name === n)?.metrics[0]?.value);
    expect(value('patroni_primary')).toBe(1);
    expect(value('patroni_postgres_running')).toBe(1);
    expect(value('patroni_postgres_timeline')).toBe(1);
    expect(value('patroni_xlog_location')).toBeGreaterThan(0);
    expect(families.find((f) => f.name === 'patroni_primary')?.metrics[0]?.labels).toEqual({ scope: c.scope, name: first.name });
    const replica = c.members.find((m) => m !== first)!;
    const rf = parsePrometheus(await (await fetch(`${replica.apiUrl}/metrics`)).text()) as typeof families;
    expect(Number(rf.find((f) => f.name === 'patroni_replica')?.metrics[0]?.value)).toBe(1);
    expect(Number(rf.find((f) => f.name === 'patroni_primary')?.metrics[0]?.value)).toBe(0);
  });

  it('GET /cluster, /history and /config mirror the DCS in Patroni shapes', async () => {
    const cl = (await first.api<{ members: Array<Record<string, unknown>>; scope: string }>('/cluster')).body;
    expect(cl.scope).toBe(c.scope);
    expect(cl.members.map((m) => [m.name, m.role, m.state])).toEqual(
      c.members.map((m) => [m.name, m === first ? 'leader' : 'replica', 'running']),
    );
    expect((await first.api('/history')).body).toEqual([]);
    const cfg = (await first.api<TDynamicConfig>('/config')).body;
    expect(cfg).toMatchObject({ ttl: 10, loop_wait: 2, retry_timeout: 3, postgresql: { use_pg_rewind: true, use_slots: true } });
  });

  it('is listed correctly by patronictl (Debian package) pointed at the same etcd', async () => {
    const cfgPath = path.join(c.dir, 'patronictl.yml');
    fs.writeFileSync(cfgPath, YAML.stringify({ scope: c.scope, namespace: '/service/', etcd3: { hosts: c.etcd.hostPort } }));
    const { stdout } = await execFileP('patronictl', ['-c', cfgPath, 'list', '-f', 'json'], { timeout: 30_000 });
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => [r.Member, r.Role, r.State, r.TL])).toEqual(
      c.members.map((m) => [m.name, m === first ? 'Leader' : 'Replica', 'running', 1]),
    );
    expect(rows.find((r) => r.Member === first.name)?.Host).toBe(`127.0.0.1:${first.pgPort}`);
  });

  it('fails over when the leader node is killed: a replica takes the lock and accepts writes within ttl + loop_wait', async () => {
    const killedAt = Date.now();
    await first.kill9Node();
    const budget = (c.ttl + c.loopWait) * 1000;
    second = await waitFor(
      async () => {
        for (const m of c.members.filter((x) => x !== first)) {
          try {
            await m.sql("INSERT INTO t VALUES (2, 'after failover')");
            return m;
          } catch {
            /* not writable yet */
          }
        }
        return null;
      },
      { timeoutMs: budget, intervalMs: 100, message: 'a surviving replica accepts writes' },
    );
    const elapsed = Date.now() - killedAt;
    expect(elapsed).toBeLessThanOrEqual(budget);
    expect((await second.api('/primary')).status).toBe(200);
    const third = c.members.find((m) => m !== first && m !== second)!;
    await waitFor(async () => (await third.sql('SELECT note FROM t WHERE id = 2').catch(() => []))[0]?.note === 'after failover', {
      timeoutMs: 30_000,
      message: `${third.name} follows the new leader ${second.name}`,
    });
    const history = (await second.api<unknown[][]>('/history')).body;
    expect(history).toHaveLength(1);
    expect(history[0]![0]).toBe(1);
    expect(history[0]![4]).toBe(second.name);
    expect((await second.api<Record<string, unknown>>('/patroni')).body.timeline).toBe(2);
  });

  it('the killed member, started again, rejoins as a replica (pg_rewind) and receives new rows', async () => {
    first.start();
    await c.waitForReplicas([first.name], 90_000);
    await second.sql("INSERT INTO t VALUES (3, 'after rejoin')");
    await waitFor(async () => (await first.sql('SELECT note FROM t WHERE id = 3').catch(() => []))[0]?.note === 'after rejoin', {
      timeoutMs: 30_000,
      message: `${first.name} receives rows from ${second.name}`,
    });
    await waitFor(
      async () => {
        const b = (await first.api<Record<string, unknown>>('/patroni')).body;
        return b.role === 'replica' && b.timeline === 2 && b.state === 'running' ? b : null;
      },
      { timeoutMs: 15_000, message: `${first.name} reports role replica on timeline 2` },
    );
    const rewound = first.logs().some((l) => l.action === 'rewind' || /rewind/.test(String(l.msg)));
    expect(rewound).toBe(true);
  });
});
