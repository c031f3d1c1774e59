/**
 * Bad input on the control plane's two WebSockets changes nothing: every bad input of the list
 * (malformed JSON, unknown type, wrong types, oversized messages, huge names, future `at` and seq,
 * replayed or decreasing seq, another member, another cluster, no / invalid / revoked / pre-binding
 * token, too many messages) is sent to each message type of the agents' ingest (/agents/ws: hello,
 * snapshot, event, operation_progress, operation_result) and to the browsers' live feed (/live), against the real server
 * and its PostgreSQL. Each gets a clear close code and reason (and, for agents, an `error` naming
 * the problem); the control-plane database has the same rows afterwards, except the `agent.refused`
 * audit entry that a genuine token used beyond its rights leaves. Plus the token-binding test: a
 * token for pg1 cannot speak for pg2, while pg2's own token can.
 */
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_SOCKET_PATH, MAX_MESSAGE_BYTES } from '@keel/protocol';
import { startControlPlane, startControlPlaneDb, type ControlPlane, type ControlPlaneDb } from '@keel/testkit';
import { hello, roleChange, snapshot } from './support/builders.ts';
import { FakeAgent } from './support/fake-agent.ts';
import { signIn, trpcAs } from './support/session.ts';

const SKEW_SECONDS = 60;
const BURST = 40;

let db: ControlPlaneDb;
let cp: ControlPlane;
let sql: pg.Client;
let cookie: string;
const tokens = { pg1: '', pg2: '', beta: '', revoked: '', legacy: '' };

/** Everything agents and browsers could change, as row counts and the members' positions (not the audit log: checked apart). */
async function fingerprint(): Promise<Record<string, unknown>> {
  const r = await sql.query(
    `SELECT (SELECT count(*)::int FROM clusters) AS clusters,
            (SELECT count(*)::int FROM members) AS members,
            (SELECT count(*)::int FROM state_samples) AS samples,
            (SELECT coalesce(sum(samples), 0)::int FROM state_sample_minutes) AS minute_samples,
            (SELECT count(*)::int FROM events) AS events,
            (SELECT count(*)::int FROM agent_tokens) AS tokens,
            (SELECT count(*)::int FROM sessions) AS sessions,
            (SELECT count(*)::int FROM users) AS users,
            (SELECT string_agg(name || '=' || last_seq || ':' || md5(coalesce(snapshot::text, '')), ',' ORDER BY name) FROM members) AS positions`,
  );
  return r.rows[0] as Record<string, unknown>;
}

async function refusals(): Promise<number> {
  const r = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'agent.refused'`);
  return r.rows[0]!.n;
}

async function welcomed(token: string, member = 'pg1', cluster = 'alpha'): Promise<{ agent: FakeAgent; ackedSeq: number }> {
  const agent = await FakeAgent.connect(cp.url);
  agent.send(hello({ token, cluster, member }));
  const w = await agent.welcome();
  return { agent, ackedSeq: w.ackedSeq };
}

beforeAll(async () => {
  db = await startControlPlaneDb();
  cp = await startControlPlane({
    databaseUrl: db.databaseUrl,
    build: false,
    env: { KEEL_CP_MAX_CLOCK_SKEW_SECONDS: String(SKEW_SECONDS), KEEL_CP_AGENT_MESSAGES_PER_SECOND: '5', KEEL_CP_AGENT_BURST_MESSAGES: String(BURST) },
  });
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  cookie = (await signIn(cp.url, cp.admin.email, cp.admin.password)).cookie!;
  tokens.pg1 = await cp.createAgentToken('alpha', 'pg1');
  tokens.pg2 = await cp.createAgentToken('alpha', 'pg2');
  tokens.beta = await cp.createAgentToken('beta', 'pg1');
  tokens.revoked = await cp.createAgentToken('alpha', 'pg1');
  tokens.legacy = await cp.createAgentToken('alpha', 'pg1');
  const api = trpcAs(cp.url, cookie);
  const list = await api.tokens.list.query({ scope: 'alpha' });
  await api.tokens.revoke.mutate({ id: list.find((t) => tokens.revoked.includes(t.prefix))!.id });
  // a token as issued before tokens were bound to members (what the migration leaves them as)
  await sql.query(`UPDATE agent_tokens SET members = '{}' WHERE $1 LIKE 'keel_at_' || prefix || '_%'`, [tokens.legacy]);

  // pg1 has reported: a stored snapshot and event, so replays have something to collide with
  const { agent } = await welcomed(tokens.pg1);
  const seq = Date.now();
  agent.send(snapshot(seq));
  agent.send(roleChange(seq + 1, 'replica', 'primary'));
  await agent.ack(seq + 1);
  agent.close();
  await agent.waitClosed();
}, 300_000);

afterAll(async () => {
  await sql?.end();
  await cp?.stop();
  await db?.stop();
});

// ------------------------------------------------------------------------------------------------
// /agents/ws

type TMessageType = 'hello' | 'snapshot' | 'event' | 'operation_progress' | 'operation_result';

interface TAgentCase {
  type: TMessageType;
  what: string;
  /** The frames to send: as the first message (hello) or after a welcome (the others). */
  frames: (ctx: { ackedSeq: number }) => string[];
  /** The `error` code and its message; null: the socket is cut without one (frames beyond maxPayload). */
  error: { code: string; message: RegExp } | null;
  close: number;
  /** A genuine token used beyond its rights leaves one `agent.refused` audit entry. */
  audited?: boolean;
  /** Well-formed messages within the limit are accepted before the refusal: only the member's acknowledged seq moves. */
  acceptsSome?: boolean;
  /** hello cases: which token says hello (default pg1's); the others say hello with pg1's first. */
  token?: keyof typeof tokens;
}

const future = () => new Date(Date.now() + 3600_000).toISOString();
const json = (o: unknown) => [JSON.stringify(o)];
const helloWith = (over: Record<string, unknown>) => ({ ...hello({ token: tokens.pg1, cluster: 'alpha', member: 'pg1' }), ...over });
const snap = (ctx: { ackedSeq: number }, over: Record<string, unknown> = {}) => ({ ...snapshot(ctx.ackedSeq + 1), ...over });
const evt = (ctx: { ackedSeq: number }, over: Record<string, unknown> = {}) => ({ ...roleChange(ctx.ackedSeq + 1, 'replica', 'primary'), ...over });
// progress and results for an operation this control plane never sent (ignored when well-formed)
const progress = (ctx: { ackedSeq: number }, over: Record<string, unknown> = {}) => {
  const at = new Date().toISOString();
  return { type: 'operation_progress', seq: ctx.ackedSeq + 1, at, operationId: 'op-1', op: 'restart', steps: [{ at, message: 'accepted' }], ...over };
};
const result = (ctx: { ackedSeq: number }, over: Record<string, unknown> = {}) => ({
  type: 'operation_result',
  seq: ctx.ackedSeq + 1,
  at: new Date().toISOString(),
  operationId: 'op-1',
  op: 'restart',
  outcome: 'succeeded',
  message: 'restarted',
  steps: [],
  ...over,
});
const huge = 'n'.repeat(300);
const oversized = 'y'.repeat(MAX_MESSAGE_BYTES + 1024);
const beyondMaxPayload = 'z'.repeat(MAX_MESSAGE_BYTES * 2 + 1024);

const MALFORMED = 4400;
const UNAUTHORIZED = 4401;

const AGENT_CASES: TAgentCase[] = [
  // hello
  { type: 'hello', what: 'malformed JSON', frames: () => ['{"type":"hello","v":1,'], error: { code: 'malformed', message: /not valid JSON/ }, close: MALFORMED },
  { type: 'hello', what: 'not an object', frames: () => ['[1,2,3]'], error: { code: 'malformed', message: /must be a JSON object/ }, close: MALFORMED },
  { type: 'hello', what: 'unknown type', frames: () => json({ type: 'subscribe', v: 1 }), error: { code: 'malformed', message: /type/ }, close: MALFORMED },
  { type: 'hello', what: 'wrong types', frames: () => json(helloWith({ member: 42 })), error: { code: 'malformed', message: /hello message: member/ }, close: MALFORMED },
  { type: 'hello', what: 'an unknown protocol version', frames: () => json(helloWith({ v: 2 })), error: { code: 'unsupported_version', message: /version 2 is not supported/ }, close: 4426 },
  { type: 'hello', what: 'an oversized message', frames: () => json(helloWith({ incarnation: oversized })), error: { code: 'too_large', message: /exceeds the maximum of 262144 bytes/ }, close: 1009 },
  { type: 'hello', what: 'a frame beyond maxPayload', frames: () => json(helloWith({ incarnation: beyondMaxPayload })), error: null, close: 1009 },
  { type: 'hello', what: 'a huge member name', frames: () => json(helloWith({ member: huge })), error: { code: 'malformed', message: /member: Too big/ }, close: MALFORMED },
  { type: 'hello', what: 'a huge cluster name', frames: () => json(helloWith({ cluster: huge })), error: { code: 'malformed', message: /cluster: Too big/ }, close: MALFORMED },
  { type: 'hello', what: 'no token', frames: () => json({ ...helloWith({}), token: undefined }), error: { code: 'malformed', message: /token/ }, close: MALFORMED },
  { type: 'hello', what: 'an invalid token', frames: () => json(helloWith({ token: `keel_at_000000000000_${'x'.repeat(43)}` })), error: { code: 'unauthorized', message: /^the agent token is not valid$/ }, close: UNAUTHORIZED },
  { type: 'hello', what: 'not a Keel token', frames: () => json(helloWith({ token: 'hunter2' })), error: { code: 'unauthorized', message: /not a Keel agent token/ }, close: UNAUTHORIZED },
  { type: 'hello', what: 'a revoked token', token: 'revoked', frames: () => json(helloWith({ token: tokens.revoked })), error: { code: 'unauthorized', message: /was revoked on/ }, close: UNAUTHORIZED, audited: true },
  {
    type: 'hello',
    what: 'a token issued before member binding',
    token: 'legacy',
    frames: () => json(helloWith({ token: tokens.legacy })),
    error: { code: 'unauthorized', message: /issued before tokens were bound to members .*create-agent-token --cluster alpha --member pg1/ },
    close: UNAUTHORIZED,
    audited: true,
  },
  { type: 'hello', what: "another member's name", frames: () => json(helloWith({ member: 'pg2' })), error: { code: 'unauthorized', message: /may speak for "pg1" of cluster "alpha", not for "pg2"/ }, close: UNAUTHORIZED, audited: true },
  { type: 'hello', what: 'another cluster', frames: () => json(helloWith({ cluster: 'beta' })), error: { code: 'unauthorized', message: /is for cluster "alpha", not "beta"/ }, close: UNAUTHORIZED, audited: true },
  { type: 'hello', what: 'a second hello', frames: () => json(helloWith({})), error: { code: 'invalid', message: /hello was already received/ }, close: MALFORMED },

  // snapshot
  { type: 'snapshot', what: 'malformed JSON', frames: (c) => [JSON.stringify(snap(c)).slice(0, 40)], error: { code: 'malformed', message: /not valid JSON/ }, close: MALFORMED },
  { type: 'snapshot', what: 'unknown type', frames: (c) => json(snap(c, { type: 'snapshot2' })), error: { code: 'malformed', message: /type/ }, close: MALFORMED },
  { type: 'snapshot', what: 'wrong types', frames: (c) => json(snap(c, { seq: String(c.ackedSeq + 1) })), error: { code: 'malformed', message: /snapshot message: seq/ }, close: MALFORMED },
  { type: 'snapshot', what: 'an oversized message', frames: (c) => json(snap(c, { lastDecision: { verdict: 'x', reason: oversized, actions: [] } })), error: { code: 'too_large', message: /exceeds the maximum/ }, close: 1009 },
  { type: 'snapshot', what: 'a frame beyond maxPayload', frames: (c) => json(snap(c, { lastDecision: { verdict: 'x', reason: beyondMaxPayload, actions: [] } })), error: null, close: 1009 },
  { type: 'snapshot', what: 'a huge name', frames: (c) => json(snap(c, { leader: huge })), error: { code: 'malformed', message: /leader: Too big/ }, close: MALFORMED },
  { type: 'snapshot', what: 'too many members', frames: (c) => json(snap(c, { members: Array.from({ length: 1001 }, () => ({ name: 'm', role: 'replica', state: 'running', timeline: 1, lsn: 1, tags: {}, pendingRestart: false })) })), error: { code: 'malformed', message: /members: Too big/ }, close: MALFORMED },
  { type: 'snapshot', what: 'too many tags', frames: (c) => json(snap(c, { tags: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`t${i}`, true])) })), error: { code: 'malformed', message: /tags: at most 64 tags/ }, close: MALFORMED },
  { type: 'snapshot', what: 'a huge pending-restart value', frames: (c) => json(snap(c, { pendingRestartReasons: { work_mem: { old_value: '1', new_value: 'v'.repeat(5000) } } })), error: { code: 'malformed', message: /pendingRestartReasons\.work_mem\.new_value: Too big/ }, close: MALFORMED },
  { type: 'snapshot', what: 'a future at', frames: (c) => json(snap(c, { at: future() })), error: { code: 'invalid', message: /at .* is \d+ s ahead of the control plane's clock \(allowed skew 60 s\)/ }, close: MALFORMED },
  { type: 'snapshot', what: 'a future seq', frames: () => json(snapshot(Date.now() + 3600_000)), error: { code: 'invalid', message: /is \d+ s ahead of the control plane's clock \(seq counts epoch milliseconds/ }, close: MALFORMED },
  { type: 'snapshot', what: 'a replayed seq', frames: (c) => json(snapshot(c.ackedSeq)), error: { code: 'invalid', message: /is not above .*sequence numbers must increase/ }, close: MALFORMED },
  { type: 'snapshot', what: 'a decreasing seq', frames: (c) => json(snapshot(c.ackedSeq - 1000)), error: { code: 'invalid', message: /is not above/ }, close: MALFORMED },
  { type: 'snapshot', what: "another member's name", frames: (c) => json(snap(c, { member: 'pg2' })), error: { code: 'unauthorized', message: /names member "pg2", but this connection speaks for "pg1"/ }, close: UNAUTHORIZED, audited: true },
  { type: 'snapshot', what: 'another cluster', frames: (c) => json(snap(c, { cluster: 'beta' })), error: { code: 'unauthorized', message: /names cluster "beta", but this connection speaks for "alpha"/ }, close: UNAUTHORIZED, audited: true },

  // event
  { type: 'event', what: 'malformed JSON', frames: (c) => [`${JSON.stringify(evt(c))}}`], error: { code: 'malformed', message: /not valid JSON/ }, close: MALFORMED },
  { type: 'event', what: 'unknown event type', frames: (c) => json(evt(c, { event: 'explode' })), error: { code: 'malformed', message: /event message: event/ }, close: MALFORMED },
  { type: 'event', what: 'wrong types', frames: (c) => json(evt(c, { details: { from: 'replica', to: 7 } })), error: { code: 'malformed', message: /details\.to/ }, close: MALFORMED },
  { type: 'event', what: 'an oversized message', frames: (c) => json(evt(c, { summary: oversized })), error: { code: 'too_large', message: /exceeds the maximum/ }, close: 1009 },
  { type: 'event', what: 'a huge summary', frames: (c) => json(evt(c, { summary: 's'.repeat(1025) })), error: { code: 'malformed', message: /summary: Too big/ }, close: MALFORMED },
  { type: 'event', what: 'a future at', frames: (c) => json(evt(c, { at: future() })), error: { code: 'invalid', message: /ahead of the control plane's clock/ }, close: MALFORMED },
  { type: 'event', what: 'a replayed seq', frames: (c) => [...json(evt(c)).map((s) => s.replace(/"seq":\d+/, `"seq":${c.ackedSeq}`))], error: { code: 'invalid', message: /event seq \d+ is not above/ }, close: MALFORMED },
  { type: 'event', what: "another member's name", frames: (c) => json(evt(c, { member: 'pg2' })), error: { code: 'unauthorized', message: /names member "pg2"/ }, close: UNAUTHORIZED, audited: true },
  { type: 'event', what: 'another cluster', frames: (c) => json(evt(c, { cluster: 'beta' })), error: { code: 'unauthorized', message: /names cluster "beta"/ }, close: UNAUTHORIZED, audited: true },

  // operation_progress
  { type: 'operation_progress', what: 'malformed JSON', frames: (c) => [JSON.stringify(progress(c)).replace('"steps"', 'steps')], error: { code: 'malformed', message: /not valid JSON/ }, close: MALFORMED },
  { type: 'operation_progress', what: 'unknown operation', frames: (c) => json(progress(c, { op: 'drop_database' })), error: { code: 'malformed', message: /operation_progress message: op/ }, close: MALFORMED },
  { type: 'operation_progress', what: 'wrong types', frames: (c) => json(progress(c, { steps: 'accepted' })), error: { code: 'malformed', message: /operation_progress message: steps/ }, close: MALFORMED },
  { type: 'operation_progress', what: 'a huge id', frames: (c) => json(progress(c, { operationId: huge })), error: { code: 'malformed', message: /operationId: Too big/ }, close: MALFORMED },
  { type: 'operation_progress', what: 'too many steps', frames: (c) => json(progress(c, { steps: Array.from({ length: 65 }, () => ({ at: new Date().toISOString(), message: 'x' })) })), error: { code: 'malformed', message: /steps: Too big/ }, close: MALFORMED },
  { type: 'operation_progress', what: 'an oversized message', frames: (c) => json(progress(c, { steps: [{ at: new Date().toISOString(), message: oversized }] })), error: { code: 'too_large', message: /exceeds the maximum/ }, close: 1009 },
  { type: 'operation_progress', what: 'a future at', frames: (c) => json(progress(c, { at: future() })), error: { code: 'invalid', message: /operation_progress seq \d+: at .* ahead of the control plane's clock/ }, close: MALFORMED },
  { type: 'operation_progress', what: 'a replayed seq', frames: (c) => json(progress(c, { seq: c.ackedSeq })), error: { code: 'invalid', message: /operation_progress seq \d+ is not above/ }, close: MALFORMED },
  { type: 'operation_progress', what: "another member's name", frames: (c) => json(progress(c, { member: 'pg2' })), error: { code: 'unauthorized', message: /names member "pg2"/ }, close: UNAUTHORIZED, audited: true },

  // operation_result
  { type: 'operation_result', what: 'malformed JSON', frames: () => ['{"type":"operation_result"'], error: { code: 'malformed', message: /not valid JSON/ }, close: MALFORMED },
  { type: 'operation_result', what: 'wrong types', frames: (c) => json(result(c, { outcome: true })), error: { code: 'malformed', message: /operation_result message: outcome/ }, close: MALFORMED },
  { type: 'operation_result', what: 'a huge message', frames: (c) => json(result(c, { message: 'm'.repeat(4097) })), error: { code: 'malformed', message: /message: Too big/ }, close: MALFORMED },
  { type: 'operation_result', what: 'a future seq', frames: (c) => json(result(c, { seq: Date.now() + 3600_000 })), error: { code: 'invalid', message: /operation_result seq \d+ is \d+ s ahead/ }, close: MALFORMED },
  { type: 'operation_result', what: 'a decreasing seq', frames: (c) => json(result(c, { seq: c.ackedSeq - 5 })), error: { code: 'invalid', message: /is not above/ }, close: MALFORMED },
  { type: 'operation_result', what: 'another cluster', frames: (c) => json(result(c, { cluster: 'beta' })), error: { code: 'unauthorized', message: /names cluster "beta"/ }, close: UNAUTHORIZED, audited: true },
  {
    type: 'operation_result',
    what: 'more messages than the rate limit',
    // valid results with increasing seqs, for an operation this control plane never sent (ignored): only the rate is wrong
    frames: (c) => Array.from({ length: BURST + 10 }, (_, i) => JSON.stringify(result({ ackedSeq: c.ackedSeq + i }))),
    error: { code: 'rate_limited', message: /more than 40 messages at once or 5 a second sustained/ },
    close: 4429,
    acceptsSome: true,
  },
];

describe('/agents/ws refuses bad input, changing nothing', () => {
  it.each(AGENT_CASES.map((c) => [`${c.type}: ${c.what}`, c] as const))('%s', async (_name, c) => {
    const before = await fingerprint();
    const audited = await refusals();
    let agent: FakeAgent;
    let ackedSeq = 0;
    if (c.type === 'hello' && c.what !== 'a second hello') {
      agent = await FakeAgent.connect(cp.url);
    } else {
      ({ agent, ackedSeq } = await welcomed(tokens.pg1));
    }
    for (const f of c.frames({ ackedSeq })) agent.sendRaw(f);
    if (c.error) {
      const err = await agent.error(15_000);
      expect(err.code).toBe(c.error.code);
      expect(err.message).toMatch(c.error.message);
    }
    expect(await agent.waitClosed(15_000)).toBe(c.close);
    // the close reason is the error's message, cut to the 123 bytes a close frame can carry
    if (c.error) expect(agent.closeReason.length > 20 && (await agent.error()).message.startsWith(agent.closeReason)).toBe(true);
    const after = await fingerprint();
    if (c.acceptsSome) expect({ ...after, positions: null }).toEqual({ ...before, positions: null });
    else expect(after).toEqual(before);
    if (c.audited) {
      await expect.poll(refusals, { timeout: 5000 }).toBe(audited + 1);
      const last = await sql.query<{ actor: string; target: string; details: { reason: string; remote: string } }>(`SELECT actor, target, details FROM audit_log WHERE action = 'agent.refused' ORDER BY id DESC LIMIT 1`);
      expect(last.rows[0]!.actor).toMatch(/^agent:[0-9a-f]{12}$/);
      expect(last.rows[0]!.details.reason).toMatch(c.error!.message);
      expect(last.rows[0]!.details.remote).toMatch(/^127\.0\.0\.1/);
    } else {
      expect(await refusals()).toBe(audited);
    }
  });

  it('a message before hello is refused', async () => {
    const before = await fingerprint();
    const agent = await FakeAgent.connect(cp.url);
    agent.send(snapshot(Date.now()));
    expect(await agent.error()).toMatchObject({ code: 'invalid', message: 'the first message must be hello, got snapshot' });
    expect(await agent.waitClosed()).toBe(MALFORMED);
    expect(await fingerprint()).toEqual(before);
  });
});

describe('token binding', () => {
  it("a token for pg1 cannot speak for pg2; pg2's own token can, and pg1's data stays pg1's", async () => {
    const before = await fingerprint();
    const impostor = await FakeAgent.connect(cp.url);
    impostor.send(hello({ token: tokens.pg1, cluster: 'alpha', member: 'pg2' }));
    expect((await impostor.error()).code).toBe('unauthorized');
    expect(await impostor.waitClosed()).toBe(UNAUTHORIZED);
    expect(await fingerprint()).toEqual(before);

    const { agent: pg2, ackedSeq } = await welcomed(tokens.pg2, 'pg2');
    expect(ackedSeq).toBe(0);
    const seq = Date.now();
    pg2.send({ ...snapshot(seq, { role: 'replica' }), member: 'pg2', cluster: 'alpha' });
    await pg2.ack(seq);
    pg2.close();

    const detail = await trpcAs(cp.url, cookie).clusters.byScope.query({ scope: 'alpha' });
    expect(detail.members.map((m) => m.name).sort()).toEqual(['pg1', 'pg2']);
    const rows = await sql.query<{ name: string; n: number }>(
      `SELECT m.name, count(s.*)::int AS n FROM members m JOIN clusters c ON c.id = m.cluster_id LEFT JOIN state_samples s ON s.member_id = m.id WHERE c.scope = 'alpha' GROUP BY m.name ORDER BY m.name`,
    );
    expect(rows.rows).toEqual([
      { name: 'pg1', n: 1 },
      { name: 'pg2', n: 1 },
    ]);
  });

  it('a token for an explicit list speaks for those members only', async () => {
    const listed = await cp.createAgentToken('gamma', ['a', 'b']);
    for (const m of ['a', 'b']) {
      const { agent } = await welcomed(listed, m, 'gamma');
      agent.close();
    }
    const c = await FakeAgent.connect(cp.url);
    c.send(hello({ token: listed, cluster: 'gamma', member: 'c' }));
    expect((await c.error()).message).toMatch(/may speak for "a", "b" of cluster "gamma", not for "c"/);
  });
});

// ------------------------------------------------------------------------------------------------
// /live

function liveUrl(query = ''): string {
  return `${cp.url.replace(/^http/, 'ws')}/live${query}`;
}

/** Open /live; resolves with the HTTP status when the upgrade is refused, or the socket once its hello arrived. */
function openLive(query: string, headers: Record<string, string>): Promise<{ status: number; body: string } | WebSocket> {
  const ws = new WebSocket(liveUrl(query), { headers });
  return new Promise((resolve, reject) => {
    // listening from the start: the hello can arrive in the same packet as the upgrade's answer
    ws.once('message', () => resolve(ws));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', reject);
  });
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe('/live refuses bad input, changing nothing', () => {
  const LIVE_FRAMES: Array<[string, (ws: WebSocket) => void, number, RegExp]> = [
    ['a message (the feed is server-to-browser only)', (ws) => ws.send(JSON.stringify({ type: 'subscribe', cluster: 'alpha' })), 4400, /server-to-browser only: it accepts no messages/],
    ['malformed JSON', (ws) => ws.send('{"type":'), 4400, /accepts no messages/],
    ['an unknown type', (ws) => ws.send(JSON.stringify({ type: 'member', member: { name: 'pg1' } })), 4400, /accepts no messages/],
    ['wrong types (binary)', (ws) => ws.send(Buffer.from([1, 2, 3])), 4400, /accepts no messages/],
    ['an oversized message', (ws) => ws.send('x'.repeat(5000)), 1009, /Max payload size exceeded|^$/],
  ];

  it.each(LIVE_FRAMES)('%s', async (_what, send, code, reason) => {
    const before = await fingerprint();
    const ws = await openLive('?cluster=alpha', { cookie, origin: cp.url });
    expect(ws).toBeInstanceOf(WebSocket);
    const socket = ws as WebSocket;
    const closed = closeOf(socket);
    send(socket);
    const c = await closed;
    expect(c.code).toBe(code);
    expect(c.reason).toMatch(reason);
    expect(await fingerprint()).toEqual(before);
  });

  it('refuses no session, a forged one, a signed-out one, another origin and a bad cluster name', async () => {
    const other = await signIn(cp.url, cp.admin.email, cp.admin.password);
    const out = await fetch(`${cp.url}/api/auth/sign-out`, { method: 'POST', headers: { cookie: other.cookie!, origin: cp.url, 'content-type': 'application/json' }, body: '{}' });
    expect(out.status).toBe(200);
    const before = await fingerprint();

    const forged = cookie.replace(/=([^;.]+)/, '=AAAA$1');
    const cases: Array<[string, string, Record<string, string>, number, RegExp]> = [
      ['no session', '', { origin: cp.url }, 401, /sign in first/],
      ['a forged session cookie', '', { cookie: forged, origin: cp.url }, 401, /sign in first/],
      ['a signed-out (revoked) session', '', { cookie: other.cookie!, origin: cp.url }, 401, /sign in first/],
      ['another origin', '', { cookie, origin: 'https://evil.example' }, 403, /origin https:\/\/evil.example is not allowed/],
      ['a huge cluster name', `?cluster=${'c'.repeat(300)}`, { cookie, origin: cp.url }, 400, /cluster must be a cluster scope/],
      ['a cluster name with odd characters', `?cluster=${encodeURIComponent('../../etc')}`, { cookie, origin: cp.url }, 400, /cluster must be a cluster scope/],
    ];
    for (const [what, query, headers, status, body] of cases) {
      const r = await openLive(query, headers);
      expect(r, what).not.toBeInstanceOf(WebSocket);
      expect((r as { status: number }).status, what).toBe(status);
      expect((r as { body: string }).body, what).toMatch(body);
    }
    expect(await fingerprint()).toEqual(before);
  });
});

describe('agents over the socket directly', () => {
  it('an agent that ignores the protocol entirely (raw frames before any hello) is closed', async () => {
    const ws = new WebSocket(`${cp.url.replace(/^http/, 'ws')}${AGENT_SOCKET_PATH}`);
    await new Promise((r) => ws.once('open', r));
    const closed = closeOf(ws);
    ws.send(Buffer.from([0xff, 0xfe]));
    expect((await closed).code).toBe(MALFORMED);
  });
});
