/**
 * Roles x operations, allowed and forbidden, through tRPC (createCaller, in-process, no agent
 * connected) and through REST /api/v1 with API tokens (the real server, fake agents that answer
 * commands). Also: the requester never approves; a request needing no approval runs at once, and
 * fails at once when no agent is connected; API tokens are capped by their role and stop working
 * when revoked or when their user is disabled; the OpenAPI document describes the routes.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, startControlPlaneDb, waitFor, type ControlPlane, type ControlPlaneDb } from '@keel/testkit';
import { createAuth } from '../server/auth.ts';
import { contextForActor, type TAppDeps } from '../server/context.ts';
import { DbHealthMonitor } from '../server/db-health.ts';
import { createDb, type TDb } from '../server/db.ts';
import { parseServerEnv } from '../server/env.ts';
import type { TActor } from '../server/lib/actor.ts';
import { digestKey } from '../server/lib/audit-hash.ts';
import { OPERATION_TYPES, type TOperationType } from '../server/lib/operation-types.ts';
import { SignInThrottle } from '../server/lib/sign-in-throttle.ts';
import { createCaller } from '../server/routers/_app.ts';
import { OperationRunner } from '../server/services/operation-runner.ts';
import { hello, snapshot } from './support/builders.ts';
import { FakeAgent } from './support/fake-agent.ts';
import { MATRIX_USERS, NEEDS_APPROVAL, REQUESTS, expectedApprove, expectedRequest, type TMatrixUser, type TOutcome } from './support/matrix.ts';
import { signIn, trpcAs } from './support/session.ts';

/** A JSON answer, read loosely by the assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test-only access to JSON bodies
type TJson = any;

let db: ControlPlaneDb;
let cp: ControlPlane;
let prisma: TDb;
let deps: TAppDeps;
const agents: FakeAgent[] = [];
const PASSWORD = 'Matrix-Pass-12345';
const users = {} as Record<TMatrixUser, { id: string; email: string; token: string }>;
const actors = {} as Record<TMatrixUser, TActor>;

async function rest(token: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; body: TJson }> {
  const res = await fetch(`${cp.url}/api/v1${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const restOutcome = (status: number): TOutcome | `HTTP ${number}` => (status === 201 || status === 200 ? 'allowed' : status === 403 ? 'forbidden' : status === 412 ? 'refused' : `HTTP ${status}`);

async function trpcOutcome(p: Promise<unknown>): Promise<TOutcome | string> {
  try {
    await p;
    return 'allowed';
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === 'FORBIDDEN' ? 'forbidden' : code === 'PRECONDITION_FAILED' ? 'refused' : `${code}: ${(e as Error).message}`;
  }
}

async function connectAgent(token: string, cluster: string, member: string, role: 'primary' | 'replica'): Promise<FakeAgent> {
  const a = await FakeAgent.connect(cp.url);
  a.send(hello({ token, cluster, member }));
  await a.welcome();
  const members = [{ name: 'pg0', role: 'primary', state: 'running', timeline: 1, lsn: 50_000_000, tags: {}, pendingRestart: false }, { name: 'pg1', role: 'replica', state: 'running', timeline: 1, lsn: 50_000_000, tags: {}, pendingRestart: false }];
  a.send(snapshot(1, { role, leader: 'pg0', members, ...(role === 'primary' ? { failoverReadiness: { eligible: false, reasons: ['is the leader'] } } : {}) }));
  await a.ack(1);
  a.answerCommands();
  agents.push(a);
  return a;
}

beforeAll(async () => {
  db = await startControlPlaneDb();
  cp = await startControlPlane({ databaseUrl: db.databaseUrl, build: false });
  const admin = trpcAs(cp.url, (await signIn(cp.url, cp.admin.email, cp.admin.password)).cookie);
  for (const scope of ['alpha', 'beta']) {
    const token = await cp.createAgentToken(scope, ['pg0', 'pg1']);
    await connectAgent(token, scope, 'pg0', 'primary');
    await connectAgent(token, scope, 'pg1', 'replica');
  }
  for (const u of MATRIX_USERS) {
    const email = `m-${u.replace('_', '-')}@keel.test`;
    const created = await admin.users.create.mutate({ email, password: PASSWORD, role: u === 'alpha_operator' ? 'viewer' : u });
    if (u === 'alpha_operator') await admin.users.grantClusterRole.mutate({ userId: created.id, cluster: 'alpha', role: 'operator' });
    const me = trpcAs(cp.url, (await signIn(cp.url, email, PASSWORD)).cookie);
    const role = u === 'alpha_operator' ? 'operator' : u;
    const t = await me.apiTokens.create.mutate({ label: `matrix ${u}`, role, expiresInDays: 1 });
    users[u] = { id: created.id, email, token: t.token };
    actors[u] = { userId: created.id, email, role: u === 'alpha_operator' ? 'viewer' : u, channel: 'session', address: '127.0.0.1' };
  }
  // the same database, in process, for createCaller (no agent is connected to this "server")
  const env = parseServerEnv({ DATABASE_URL: db.databaseUrl, KEEL_CP_SECRET: 'x'.repeat(40), NODE_ENV: 'test', KEEL_CP_NEXT: 'off' });
  prisma = createDb(db.databaseUrl);
  const presence = { isConnected: () => false };
  const runner = new OperationRunner({ db: prisma, presence, send: () => false, changed: () => undefined, finished: () => undefined, log: () => undefined });
  deps = { db: prisma, env, auth: createAuth(prisma, env, new SignInThrottle({ maxFailures: 5, windowMs: 60_000 })), dbHealth: new DbHealthMonitor(prisma), presence, runner, auditKey: digestKey(undefined, env.KEEL_CP_SECRET) };
}, 240_000);

afterAll(async () => {
  for (const a of agents) a.close();
  await prisma?.$disconnect();
  await cp?.stop();
  await db?.stop();
});

describe('requesting: roles x operation types', () => {
  it('through REST: viewers are forbidden everywhere, operators and up may ask, a grant on alpha is operator there only', async () => {
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const u of MATRIX_USERS) {
      for (const cluster of ['alpha', 'beta'] as const) {
        for (const type of OPERATION_TYPES) {
          const r = await rest(users[u].token, 'POST', '/operations', { ...REQUESTS[type], cluster, reason: `matrix ${u} ${type}` });
          got[`${u} ${cluster} ${type}`] = restOutcome(r.status);
          want[`${u} ${cluster} ${type}`] = expectedRequest(u, cluster, type);
          if (r.status === 201) expect(r.body.status).toEqual(NEEDS_APPROVAL[type] ? 'awaiting_approval' : expect.stringMatching(/running|succeeded/));
        }
      }
    }
    expect(got).toEqual(want);
  }, 240_000);

  it('through tRPC (createCaller): the same matrix, and a request that needs no approval fails at once when no agent is connected', async () => {
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const u of MATRIX_USERS) {
      const caller = createCaller(contextForActor(deps, actors[u]));
      for (const cluster of ['alpha', 'beta'] as const) {
        for (const type of OPERATION_TYPES) {
          got[`${u} ${cluster} ${type}`] = await trpcOutcome(caller.operations.request({ ...REQUESTS[type], cluster, reason: `trpc matrix ${u} ${type}` } as never));
          want[`${u} ${cluster} ${type}`] = expectedRequest(u, cluster, type);
        }
      }
    }
    expect(got).toEqual(want);
    const reload = await createCaller(contextForActor(deps, actors.operator)).operations.request({ cluster: 'alpha', type: 'reload', params: {}, reason: 'no agent here' });
    expect(reload.status).toBe('failed');
    expect(reload.error).toMatch(/no connected agent for pg\d: nothing was sent, and nothing will run later/);
  }, 240_000);

  it('refuses a request without a reason, naming the field', async () => {
    const r = await rest(users.operator.token, 'POST', '/operations', { ...REQUESTS.switchover, cluster: 'alpha', reason: '' });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/body\.reason: say why/);
  });
});

describe('approving', () => {
  async function requested(type: TOperationType, by: TMatrixUser = 'operator'): Promise<string> {
    const r = await rest(users[by].token, 'POST', '/operations', { ...REQUESTS[type], cluster: 'alpha', reason: `to approve: ${type}` });
    expect(r.status).toBe(201);
    return r.body.id as string;
  }

  it('through REST: only approvers and admins approve, never the requester; approval runs it on the agents', async () => {
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const type of OPERATION_TYPES.filter((t) => NEEDS_APPROVAL[t])) {
      for (const u of [...MATRIX_USERS, 'requester'] as const) {
        // the requester is an approver who asked: still not allowed to approve their own request
        const id = await requested(type, u === 'requester' ? 'approver' : 'operator');
        const token = u === 'requester' ? users.approver.token : users[u].token;
        const r = await rest(token, 'POST', `/operations/${id}/approve`, {});
        got[`${u} ${type}`] = restOutcome(r.status);
        want[`${u} ${type}`] = expectedApprove(u);
        if (u === 'requester') expect(r.body.error.message).toBe('You requested this operation: someone else must approve it.');
      }
    }
    expect(got).toEqual(want);

    const id = await requested('switchover');
    const approved = await rest(users.approver.token, 'POST', `/operations/${id}/approve`, {});
    expect(approved.status).toBe(200);
    const done = await waitFor(async () => {
      const r = await rest(users.viewer.token, 'GET', `/operations/${id}`);
      return r.body.status === 'succeeded' ? r.body : null;
    }, { timeoutMs: 20_000, message: 'the switchover to succeed' });
    expect(done.approvals).toMatchObject([{ approver: users.approver.email, valid: true }]);
    const sent = agents.flatMap((a) => a.commands).find((c) => c.id === id);
    expect(sent).toMatchObject({ op: 'switchover', request: { leader: 'pg0' }, reason: 'to approve: switchover', requestedBy: users.operator.email });
  }, 240_000);

  it('through tRPC: the same approval matrix', async () => {
    const got: Record<string, string> = {};
    const want: Record<string, string> = {};
    for (const u of [...MATRIX_USERS, 'requester'] as const) {
      const id = await requested('failover', u === 'requester' ? 'admin' : 'operator');
      const caller = createCaller(contextForActor(deps, u === 'requester' ? actors.admin : actors[u]));
      got[u] = await trpcOutcome(caller.operations.approve({ id }));
      want[u] = expectedApprove(u);
    }
    expect(got).toEqual(want);
  }, 120_000);

  it('reject and cancel need a reason and the right person; a closed request cannot be approved', async () => {
    const a = await requested('switchover');
    expect((await rest(users.viewer.token, 'POST', `/operations/${a}/reject`, { reason: 'not now' })).status).toBe(403);
    expect((await rest(users.operator.token, 'POST', `/operations/${a}/reject`, { reason: 'not now' })).status).toBe(403);
    const rejected = await rest(users.approver.token, 'POST', `/operations/${a}/reject`, { reason: 'change freeze' });
    expect(rejected.body).toMatchObject({ status: 'rejected', closed: { by: users.approver.email, reason: 'change freeze' } });
    expect((await rest(users.admin.token, 'POST', `/operations/${a}/approve`, {})).status).toBe(409);
    const b = await requested('switchover');
    expect((await rest(users.approver.token, 'POST', `/operations/${b}/cancel`, { reason: 'mine?' })).status).toBe(403);
    expect((await rest(users.operator.token, 'POST', `/operations/${b}/cancel`, { reason: 'wrong cluster' })).body.status).toBe('cancelled');
  }, 120_000);
});

describe('API tokens', () => {
  it('are capped by their role and by their owner, refused when revoked, and stop when the user is disabled', async () => {
    const me = trpcAs(cp.url, (await signIn(cp.url, users.approver.email, PASSWORD)).cookie);
    await expect(me.apiTokens.create.mutate({ label: 'too much', role: 'admin' })).rejects.toThrow(/cannot have more than your own role \(approver\)/);
    const viewerToken = (await me.apiTokens.create.mutate({ label: 'read only', role: 'viewer' })).token;
    expect((await rest(viewerToken, 'POST', '/operations', { ...REQUESTS.switchover, cluster: 'alpha', reason: 'capped' })).status).toBe(403);
    expect((await rest(viewerToken, 'GET', '/operations?cluster=alpha')).status).toBe(200);

    const listed = await me.apiTokens.list.query();
    const t = listed.find((x) => x.label === 'read only')!;
    expect(t.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(viewerToken);
    await me.apiTokens.revoke.mutate({ id: t.id });
    const revoked = await rest(viewerToken, 'GET', '/me');
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toMatch(/was revoked/);
    expect((await rest(null, 'GET', '/me')).status).toBe(401);
    expect((await rest('keel_api_nope', 'GET', '/me')).status).toBe(401);

    // at rest only a hash: the token text is nowhere in the table
    const sql = new pg.Client({ connectionString: db.databaseUrl });
    await sql.connect();
    const rows = await sql.query<{ hash: string }>('SELECT hash FROM api_tokens');
    await sql.end();
    expect(rows.rows.some((r) => viewerToken.includes(r.hash) || r.hash === viewerToken)).toBe(false);

    // disabling a user stops their token and their session at once
    const admin = trpcAs(cp.url, (await signIn(cp.url, cp.admin.email, cp.admin.password)).cookie);
    const rolling = await me.apiTokens.create.mutate({ label: 'soon dead', role: 'approver' });
    expect((await rest(rolling.token, 'GET', '/me')).status).toBe(200);
    const r = await admin.users.setDisabled.mutate({ userId: users.approver.id, disabled: true, reason: 'left the team' });
    expect(r.sessionsEnded).toBeGreaterThan(0);
    expect((await rest(rolling.token, 'GET', '/me')).body.error.message).toMatch(/disabled user/);
    expect(await me.auth.me.query()).toBeNull();
    expect((await signIn(cp.url, users.approver.email, PASSWORD)).status).toBe(401);
    await admin.users.setDisabled.mutate({ userId: users.approver.id, disabled: false, reason: 'back' });
  }, 120_000);
});

describe('OpenAPI', () => {
  it('serves a document generated from the request schemas', async () => {
    const res = await fetch(`${cp.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/operations', '/api/v1/operations/{id}/approve', '/api/v1/audit/export']));
    const body = JSON.stringify(doc.paths['/api/v1/operations']!.post!.requestBody);
    for (const type of OPERATION_TYPES) expect(body).toContain(`"${type}"`);
    expect(body).toContain('reason');
  });
});
