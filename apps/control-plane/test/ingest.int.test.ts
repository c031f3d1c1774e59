/**
 * The agents' WebSocket against the real server process and a real PostgreSQL: storing, acking,
 * reconnect and replay without loss or duplicates, refusing bad input without side effects.
 */
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, startControlPlaneDb, waitFor, type ControlPlane, type ControlPlaneDb } from '@keel/testkit';
import { ZAgentEvent, type TAgentEvent } from '@keel/protocol';
import { groupEvents } from '../server/services/group-event.ts';
import { storeEvents } from '../server/services/store-agent-message.ts';
import { hello, roleChange, snapshot } from './support/builders.ts';
import { FakeAgent } from './support/fake-agent.ts';
import { signIn, trpcAs } from './support/session.ts';

let db: ControlPlaneDb;
let cp: ControlPlane;
let sql: pg.Client;
let token: string;
let otherToken: string;
let cookie: string;

async function counts(member = 'pg1', cluster = 'alpha') {
  const r = await sql.query<{ samples: string; events: string; minutes: string; last_seq: string | null }>(
    `SELECT (SELECT count(*) FROM state_samples s JOIN members m ON m.id = s.member_id JOIN clusters c ON c.id = m.cluster_id WHERE m.name = $1 AND c.scope = $2) AS samples,
            (SELECT count(*) FROM events e JOIN members m ON m.id = e.member_id JOIN clusters c ON c.id = m.cluster_id WHERE m.name = $1 AND c.scope = $2) AS events,
            (SELECT coalesce(sum(x.samples), 0) FROM state_sample_minutes x JOIN members m ON m.id = x.member_id JOIN clusters c ON c.id = m.cluster_id WHERE m.name = $1 AND c.scope = $2) AS minutes,
            (SELECT m.last_seq FROM members m JOIN clusters c ON c.id = m.cluster_id WHERE m.name = $1 AND c.scope = $2) AS last_seq`,
    [member, cluster],
  );
  const row = r.rows[0]!;
  return { samples: Number(row.samples), events: Number(row.events), minuteSamples: Number(row.minutes), lastSeq: row.last_seq === null ? null : Number(row.last_seq) };
}

async function totalRows() {
  const r = await sql.query<{ n: string }>('SELECT (SELECT count(*) FROM state_samples) + (SELECT count(*) FROM events) + (SELECT count(*) FROM members) AS n');
  return Number(r.rows[0]!.n);
}

/** A distinct second per seq, in the recent past (the ingest keeps one snapshot per member and second). */
const T0 = Math.floor((Date.now() - 600_000) / 1000) * 1000;
const secondAt = (seq: number, ms = 0) => new Date(T0 + seq * 1000 + ms).toISOString();

async function connectAs(t: string, cluster: string, member: string): Promise<FakeAgent> {
  const a = await FakeAgent.connect(cp.url);
  a.send(hello({ token: t, cluster, member }));
  return a;
}

beforeAll(async () => {
  db = await startControlPlaneDb();
  cp = await startControlPlane({ databaseUrl: db.databaseUrl, build: false, env: { KEEL_CP_STALE_AFTER_SECONDS: '3' } });
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  token = await cp.createAgentToken('alpha', 'pg1');
  otherToken = await cp.createAgentToken('beta', 'pg0');
  const s = await signIn(cp.url, cp.admin.email, cp.admin.password);
  cookie = s.cookie!;
});

afterAll(async () => {
  await sql?.end();
  await cp?.stop();
  await db?.stop();
});

describe('agent ingest', () => {
  it('stores snapshots and events from an agent with a valid token and acks the highest seq', async () => {
    const a = await connectAs(token, 'alpha', 'pg1');
    expect((await a.welcome()).ackedSeq).toBe(0);
    // one snapshot per second is kept: 1-3 were taken in three different seconds (a replay after an
    // outage, say), 4 and 5 in the same second, so 5 supersedes 4 (the ack still covers both)
    for (let seq = 1; seq <= 3; seq++) a.send(snapshot(seq, { at: secondAt(seq) }));
    a.send(snapshot(4, { at: secondAt(4) }));
    a.send(snapshot(5, { at: secondAt(4, 500) }));
    a.send(roleChange(6, 'replica', 'primary'));
    await a.ack(6);
    expect(await counts()).toEqual({ samples: 4, events: 1, minuteSamples: 4, lastSeq: 6 });
    const row = await sql.query<{ seq: string }>("SELECT snapshot->>'seq' AS seq FROM members WHERE name = 'pg1'");
    expect(row.rows[0]?.seq).toBe('5');

    const detail = await trpcAs(cp.url, cookie).clusters.byScope.query({ scope: 'alpha' });
    expect(detail.members.map((m) => [m.name, m.role, m.stale, m.connected])).toEqual([['pg1', 'replica', false, true]]);
    expect(detail.recentEvents[0]).toMatchObject({ member: 'pg1', type: 'role_change', seq: 6 });
    expect(detail.history.map((e) => e.type)).toEqual(['role_change']);
    a.close();
  });

  it('loses nothing and duplicates nothing when an agent reconnects and replays', async () => {
    const before = await counts();
    const a = await connectAs(token, 'alpha', 'pg1');
    // the server tells the agent what it already has; the agent sends what is newer, in order
    expect((await a.welcome()).ackedSeq).toBe(6);
    for (const seq of [7, 8, 9]) a.send(snapshot(seq, { at: secondAt(seq) }));
    a.send(roleChange(10, 'primary', 'replica'));
    await a.ack(10);
    expect(await counts()).toEqual({ samples: before.samples + 3, events: before.events + 1, minuteSamples: before.minuteSamples + 3, lastSeq: 10 });
    a.close();
    await a.waitClosed();

    // once more: the welcome says 10, the agent continues after it
    const b = await connectAs(token, 'alpha', 'pg1');
    expect((await b.welcome()).ackedSeq).toBe(10);
    b.send(snapshot(11));
    await b.ack(11);
    expect(await counts()).toEqual({ samples: before.samples + 4, events: before.events + 1, minuteSamples: before.minuteSamples + 4, lastSeq: 11 });

    // a replay of what is stored, on the same connection: refused, nothing stored
    b.send(snapshot(9));
    const err = await b.error();
    expect(err).toMatchObject({ code: 'invalid' });
    expect(err.message).toMatch(/snapshot seq 9 is not above 11/);
    expect(await b.waitClosed()).toBe(4400);
    expect(await counts()).toEqual({ samples: before.samples + 4, events: before.events + 1, minuteSamples: before.minuteSamples + 4, lastSeq: 11 });
  });

  it('a newer connection for the same member replaces the older one', async () => {
    const a = await connectAs(token, 'alpha', 'pg1');
    await a.welcome();
    const b = await connectAs(token, 'alpha', 'pg1');
    await b.welcome();
    expect((await a.error()).code).toBe('replaced');
    await a.waitClosed();
    b.send(snapshot(12));
    await b.ack(12);
    b.close();
  });

  it('fans a snapshot out to a signed-in browser within a second (from memory, before the batched write)', async () => {
    const browser = new WebSocket(`${cp.url.replace('http', 'ws')}/live?cluster=alpha`, { headers: { cookie, origin: cp.url } });
    const messages: Array<{ type: string; member?: { name: string; lastSeq: number } }> = [];
    browser.on('message', (d) => messages.push(JSON.parse(d.toString()) as (typeof messages)[number]));
    await waitFor(() => messages.some((m) => m.type === 'hello'), { timeoutMs: 5000, message: 'the live hello' });

    const a = await connectAs(token, 'alpha', 'pg1');
    await a.welcome();
    const sentAt = Date.now();
    a.send(snapshot(13));
    await waitFor(() => messages.some((m) => m.type === 'member' && m.member?.lastSeq === 13), { timeoutMs: 1000, intervalMs: 10, message: 'the member update on /live' });
    expect(Date.now() - sentAt).toBeLessThan(1000);
    await a.ack(13); // browsers hear it before the batched write; the ack follows the write
    a.close();
    browser.close();
  });

  it('refuses /live without a session', async () => {
    const ws = new WebSocket(`${cp.url.replace('http', 'ws')}/live`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(status).toBe(401);
  });

  it('refuses malformed JSON with an error and a close, storing nothing', async () => {
    const before = await totalRows();
    const a = await connectAs(token, 'alpha', 'pg1');
    await a.welcome();
    a.sendRaw('{"type":"snapshot", this is not json');
    const err = await a.error();
    expect(err.code).toBe('malformed');
    expect(err.message).toMatch(/not valid JSON/);
    await a.waitClosed();
    expect(await totalRows()).toBe(before);
  });

  it('refuses a schema-invalid snapshot, naming the bad field, storing nothing; other agents carry on', async () => {
    const other = await connectAs(otherToken, 'beta', 'pg0');
    await other.welcome();
    const before = await counts();
    const a = await connectAs(token, 'alpha', 'pg1');
    await a.welcome();
    const bad = { ...snapshot(14), lag: { ...snapshot(14).lag, replayBytes: 'lots' } };
    a.sendRaw(JSON.stringify(bad));
    const err = await a.error();
    expect(err.code).toBe('malformed');
    expect(err.message).toMatch(/lag\.replayBytes/);
    await a.waitClosed();
    expect(await counts()).toEqual(before);

    other.send(snapshot(1, { role: 'primary', leader: 'pg0' }));
    await other.ack(1);
    expect((await counts('pg0', 'beta')).samples).toBe(1);
    other.close();
  });

  it('refuses a bad token, a token for another cluster, and a message before hello', async () => {
    const before = await totalRows();

    const a = await connectAs('keel_at_000000000000_' + 'x'.repeat(43), 'alpha', 'pg9');
    expect(await a.error()).toMatchObject({ code: 'unauthorized', message: 'the agent token is not valid' });
    await a.waitClosed();

    const b = await connectAs(otherToken, 'alpha', 'pg9');
    const eb = await b.error();
    expect(eb.code).toBe('unauthorized');
    expect(eb.message).toMatch(/is for cluster "beta", not "alpha"/);
    await b.waitClosed();

    const c = await FakeAgent.connect(cp.url);
    c.send(snapshot(1));
    expect(await c.error()).toMatchObject({ code: 'invalid' });
    await c.waitClosed();

    expect(await totalRows()).toBe(before);
  });

  it('refuses an oversized frame and an unknown protocol version', async () => {
    const before = await totalRows();
    const a = await connectAs(token, 'alpha', 'pg1');
    await a.welcome();
    a.sendRaw(JSON.stringify({ ...snapshot(100), lastDecision: { verdict: 'x', reason: 'y'.repeat(300 * 1024), actions: [] } }));
    const err = await a.error();
    expect(err.code).toBe('too_large');
    expect(err.message).toMatch(/exceeds the maximum of 262144 bytes/);
    await a.waitClosed();

    const b = await FakeAgent.connect(cp.url);
    b.sendRaw(JSON.stringify({ ...hello({ token, cluster: 'alpha', member: 'pg1' }), v: 2 }));
    expect(await b.error()).toMatchObject({ code: 'unsupported_version' });
    await b.waitClosed();
    expect(await totalRows()).toBe(before);
  });

  it('refuses a revoked token', async () => {
    const t = await cp.createAgentToken('alpha', 'pg1');
    const api = trpcAs(cp.url, cookie);
    const list = await api.tokens.list.query({ scope: 'alpha' });
    const id = list.find((x) => t.includes(x.prefix))!.id;
    await api.tokens.revoke.mutate({ id });
    const a = await connectAs(t, 'alpha', 'pg1');
    const err = await a.error();
    expect(err.code).toBe('unauthorized');
    expect(err.message).toMatch(/was revoked/);
  });

  it('revoking a token closes the agents connected with it at once', async () => {
    const t = await cp.createAgentToken('gamma', 'pg1');
    const api = trpcAs(cp.url, cookie);
    const a = await connectAs(t, 'gamma', 'pg1');
    await a.welcome();
    const id = (await api.tokens.list.query({ scope: 'gamma' })).find((x) => t.includes(x.prefix))!.id;
    const r = await api.tokens.revoke.mutate({ id });
    expect(r.disconnected).toBe(1);
    const err = await a.error();
    expect(err.code).toBe('unauthorized');
    expect(err.message).toMatch(/revoked/);
    await a.waitClosed();
  });

  it('stores the last backup a leader reports and serves it with the cluster, with the rule\'s maximum age', async () => {
    const t = await cp.createAgentToken('backups', 'pg0');
    const a = await connectAs(t, 'backups', 'pg0');
    await a.welcome();
    const finishedAt = new Date(Date.now() - 30 * 3600_000).toISOString();
    const backup = {
      tool: 'pgbackrest' as const,
      target: 'main',
      checkedAt: new Date().toISOString(),
      state: 'ok' as const,
      message: null,
      last: { label: '20261204-054009F', type: 'full' as const, startedAt: null, finishedAt, sizeBytes: 22_992_583, repoBytes: 22_992_583, walStart: '000000010000000000000002', walStop: '000000010000000000000002' },
      lastFull: null,
      count: 1,
      walArchive: { min: '000000010000000000000001', max: '000000010000000000000006' },
      running: false,
    };
    a.send(snapshot(1, { role: 'primary', leader: 'pg0', backup }));
    await a.ack(1);
    const detail = await trpcAs(cp.url, cookie).clusters.byScope.query({ scope: 'backups' });
    expect(detail.members[0]?.backup).toEqual(backup);
    expect(detail.backupMaxAgeHours).toBe(26);
    a.close();
  });

  it('serves lag history and marks a silent member stale', async () => {
    const api = trpcAs(cp.url, cookie);
    const series = await api.lag.series.query({ scope: 'alpha', from: new Date(Date.now() - 3600_000).toISOString() });
    expect(series.source).toBe('raw');
    const pg1 = series.series.find((s) => s.member === 'pg1');
    expect(pg1?.points.reduce((n, p) => n + p.samples, 0)).toBeGreaterThan(5);

    const week = await api.lag.series.query({ scope: 'alpha', from: new Date(Date.now() - 7 * 86400_000).toISOString() });
    expect(week.source).toBe('minute');
    expect(week.series.find((s) => s.member === 'pg1')?.points.length).toBeGreaterThan(0);

    // KEEL_CP_STALE_AFTER_SECONDS=3 and pg1 has been quiet since the tests above
    await waitFor(
      async () => {
        const c = await api.clusters.byScope.query({ scope: 'alpha' });
        return c.members.find((m) => m.name === 'pg1')?.stale;
      },
      { timeoutMs: 10_000, message: 'pg1 to be shown stale' },
    );
    const list = await api.clusters.list.query();
    expect(list.find((c) => c.scope === 'alpha')?.health.membersStale).toBe(1);
  });
});

/** A failover's events as an agent reports them (the trigger first), then routine decision changes. */
function failoverEvent(seq: number, i: number, member: string): TAgentEvent {
  const at = new Date().toISOString();
  if (i === 0) return ZAgentEvent.parse({ type: 'event', seq, at, event: 'leader_key_gone', summary: `${member} sees the leader key of pg0 gone`, details: { previousLeader: 'pg0' } });
  if (i === 1) return ZAgentEvent.parse({ type: 'event', seq, at, event: 'promoted', summary: `${member} promoted`, details: { previousLeader: 'pg0', timeline: 2, lsn: 1000, leaderLsn: 1000, behindBytes: 0 }, cause: { verdict: 'race_won', decision: 'promoted self to leader' } });
  return ZAgentEvent.parse({ type: 'event', seq, at, event: 'decision_changed', summary: `${member}: no action ${i}`, details: { verdict: 'replica_ok', reason: `no action ${i}`, actions: [], previousReason: null }, cause: { verdict: 'replica_ok' } });
}

describe('incidents at ingest (events stored and grouped in batches)', () => {
  it('groups a burst of events into one incident, each event once, with the failover in its summary', async () => {
    const t = await cp.createAgentToken('gamma', 'pg1');
    const a = await connectAs(t, 'gamma', 'pg1');
    const base = Math.max((await a.welcome()).ackedSeq, Date.now() - 60_000);
    const n = 40;
    // a snapshot before and after: seq order across the two batchers (none is lost as a "duplicate")
    a.send(snapshot(base + 1));
    for (let i = 0; i < n; i++) a.send(failoverEvent(base + 2 + i, i, 'pg1'));
    a.send(snapshot(base + n + 2));
    await a.ack(base + n + 2);
    const r = await sql.query<{ incidents: string; event_count: number; title: string; summary: string; grouped: string; events: string; samples: string }>(
      `SELECT (SELECT count(*) FROM incidents i WHERE i.cluster_id = c.id) AS incidents,
              (SELECT i.event_count FROM incidents i WHERE i.cluster_id = c.id LIMIT 1) AS event_count,
              (SELECT i.title FROM incidents i WHERE i.cluster_id = c.id LIMIT 1) AS title,
              (SELECT i.summary FROM incidents i WHERE i.cluster_id = c.id LIMIT 1) AS summary,
              (SELECT count(*) FROM events e WHERE e.cluster_id = c.id AND e.incident_id IS NOT NULL) AS grouped,
              (SELECT count(*) FROM events e WHERE e.cluster_id = c.id) AS events,
              (SELECT count(*) FROM state_samples s JOIN members m ON m.id = s.member_id WHERE m.cluster_id = c.id) AS samples
         FROM clusters c WHERE c.scope = 'gamma'`,
    );
    const row = r.rows[0]!;
    expect({ incidents: Number(row.incidents), eventCount: row.event_count, grouped: Number(row.grouped), events: Number(row.events), samples: Number(row.samples) }).toEqual({ incidents: 1, eventCount: n, grouped: n, events: n, samples: 2 });
    expect(row.summary).toMatch(/pg0's leader key was gone at .*pg1 \(0 B behind\) promoted at/);
    a.close();
  });

  it('two instances grouping one cluster at once open one incident, not two (the cluster row is locked per batch)', async () => {
    const t = await cp.createAgentToken('delta', ['pg0', 'pg1']);
    // the members' rows exist once their agents said hello
    for (const m of ['pg0', 'pg1']) {
      const a = await connectAs(t, 'delta', m);
      await a.welcome();
      a.close();
    }
    const ids = (await sql.query<{ name: string; id: string }>(`SELECT m.name, m.id FROM members m JOIN clusters c ON c.id = m.cluster_id WHERE c.scope = 'delta'`)).rows;
    const member = (name: string) => ids.find((x) => x.name === name)!.id;
    const poolA = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
    const poolB = new pg.Pool({ connectionString: db.databaseUrl, max: 2 });
    try {
      const seq = Date.now();
      // each "instance" stores its agent's failover events, then both group at the same moment
      const batch = async (pool: pg.Pool, name: string) => {
        const events = [0, 1, 2].map((i) => failoverEvent(seq + i, i, name));
        const stored = await storeEvents(pool, events.map((event) => ({ memberId: member(name), event })));
        return stored.map((s, k) => ({ clusterId: s!.clusterId, eventId: s!.id, event: { member: name, type: events[k]!.event, at: Date.parse(events[k]!.at), receivedAt: s!.receivedAt.getTime(), summary: events[k]!.summary, details: events[k]!.details, cause: events[k]!.cause } }));
      };
      const [inA, inB] = await Promise.all([batch(poolA, 'pg0'), batch(poolB, 'pg1')]);
      const [gA, gB] = await Promise.all([groupEvents(poolA, inA, 120_000), groupEvents(poolB, inB, 120_000)]);
      const incidentIds = new Set([...gA, ...gB].map((g) => g?.incidentId));
      expect(incidentIds.size).toBe(1);
      expect([...gA, ...gB].filter((g) => g?.opened)).toHaveLength(1); // the other batch joined what the first opened
      const r = await sql.query<{ n: string; event_count: number; members: string[] }>(
        `SELECT count(*) OVER () AS n, i.event_count, i.members FROM incidents i JOIN clusters c ON c.id = i.cluster_id WHERE c.scope = 'delta'`,
      );
      expect(r.rows).toHaveLength(1);
      expect(r.rows[0]!.event_count).toBe(6);
      expect([...r.rows[0]!.members].sort()).toEqual(['pg0', 'pg1']);
      // the same events again: duplicates, nothing stored
      expect(await storeEvents(poolA, [0, 1, 2].map((i) => ({ memberId: member('pg0'), event: failoverEvent(seq + i, i, 'pg0') })))).toEqual([null, null, null]);
    } finally {
      await poolA.end();
      await poolB.end();
    }
  });
});

describe('standby clusters', () => {
  it('shows a standby cluster following another site, and the link both ways, from what the agents report', async () => {
    const [tokenA, tokenB] = await Promise.all([cp.createAgentToken('site-a', 'a1'), cp.createAgentToken('site-b', 'b1')]);
    const primary = await connectAs(tokenA, 'site-a', 'a1');
    await primary.welcome();
    primary.send(snapshot(1, { role: 'primary', leader: 'a1', connectAddress: '10.0.0.1:5432', follows: null }));
    await primary.ack(1);
    const standby = await connectAs(tokenB, 'site-b', 'b1');
    await standby.welcome();
    standby.send(snapshot(1, { role: 'standby_leader', leader: 'b1', connectAddress: '10.1.0.1:5432', follows: '10.0.0.1:5432' }));
    await standby.ack(1);
    const api = trpcAs(cp.url, cookie);
    const list = await api.clusters.list.query();
    expect(list.find((c) => c.scope === 'site-b')?.links.standbyOf).toEqual({ follows: '10.0.0.1:5432', leader: 'b1', cluster: 'site-a', member: 'a1' });
    expect(list.find((c) => c.scope === 'site-a')?.links).toEqual({ standbyOf: null, followedBy: ['site-b'] });
    expect((await api.clusters.byScope.query({ scope: 'site-b' })).links.standbyOf?.cluster).toBe('site-a');
    expect((await api.clusters.byScope.query({ scope: 'site-a' })).links.followedBy).toEqual(['site-b']);
    primary.close();
    standby.close();
  });
});
