/**
 * Real agents (real etcd, PostgreSQL, keel-agent with its uplink) driven by the real control plane:
 * - REST-only automation: API token -> request a switchover -> approve with a second user's token ->
 *   poll the operation to success; the cluster really switched and the audit log says who did what.
 * - No approval gate delays an automatic failover: with a request waiting for approval, the primary
 *   node is killed and the agents fail over on their own; the approval given before is void after it
 *   (the operation says why) and does not count toward running the old request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, startControlPlane, startControlPlaneDb, waitFor, type ControlPlane, type ControlPlaneDb } from '@keel/testkit';
import { signIn, trpcAs } from './support/session.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test-only access to JSON bodies
type TJson = any;

let db: ControlPlaneDb;
let cp: ControlPlane;
let cluster: TestCluster | undefined;
const tokens: Record<'operator' | 'approver' | 'approver2' | 'admin', string> = { operator: '', approver: '', approver2: '', admin: '' };
const TTL = 10;
const LOOP_WAIT = 2;

async function rest(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: TJson }> {
  const res = await fetch(`${cp.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The leader as the control plane sees it once all three members report the same one. */
async function leaderSeen(exclude?: string): Promise<string> {
  return waitFor(
    async () => {
      const c = (await rest(tokens.operator, 'GET', '/clusters/ops')).body;
      const leader = c?.health?.leader as string | null;
      const running = (c?.members ?? []).filter((m: TJson) => m.connected && m.state === 'running').length;
      return leader && leader !== exclude && running >= 2 ? leader : null;
    },
    { timeoutMs: 120_000, intervalMs: 500, message: 'the control plane to see a leader' },
  );
}

beforeAll(async () => {
  db = await startControlPlaneDb();
  cp = await startControlPlane({ databaseUrl: db.databaseUrl, build: false });
  const agentToken = await cp.createAgentToken('ops', ['node1', 'node2', 'node3']);
  cluster = await TestCluster.start({
    scope: 'ops', members: 3, ttl: TTL, loopWait: LOOP_WAIT, retryTimeout: 3,
    tweak: (config) => {
      config.controlplane = { url: cp.url, token: agentToken };
    },
  });
  // setup through the UI's API: users, and each makes an API token for themselves
  const admin = trpcAs(cp.url, (await signIn(cp.url, cp.admin.email, cp.admin.password)).cookie);
  tokens.admin = (await admin.apiTokens.create.mutate({ label: 'ci', role: 'admin' })).token;
  for (const [name, role] of [['operator', 'operator'], ['approver', 'approver'], ['approver2', 'approver']] as const) {
    const email = `${name}@keel.test`;
    await admin.users.create.mutate({ email, password: 'Automation-Pass-123', role });
    const me = trpcAs(cp.url, (await signIn(cp.url, email, 'Automation-Pass-123')).cookie);
    tokens[name] = (await me.apiTokens.create.mutate({ label: 'automation', role })).token;
  }
  await cluster.waitForPrimary(120_000);
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  await cp?.stop();
  await db?.stop();
});

describe('REST automation on real agents', () => {
  it('token -> request a switchover -> approve with a second user\'s token -> poll to success; the cluster switched', async () => {
    const before = await leaderSeen();
    // Right after start a replica may still be catching up (not yet eligible): wait until both are.
    const preview = await waitFor(
      async () => {
        const p = await rest(tokens.operator, 'POST', '/operations/preview', { cluster: 'ops', type: 'switchover', params: {}, reason: 'kernel patch on the primary', ticket: 'CHG-1' });
        return p.status !== 200 || p.body?.candidates?.filter((c: TJson) => c.eligible).length === 2 ? p : null;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: 'the preview to show both replicas eligible' },
    );
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ refusal: null, requiredApprovals: 1, state: { leader: before } });
    expect(preview.body.candidates.filter((c: TJson) => c.eligible)).toHaveLength(2);

    const req = await rest(tokens.operator, 'POST', '/operations', { cluster: 'ops', type: 'switchover', params: {}, reason: 'kernel patch on the primary', ticket: 'CHG-1' });
    expect(req.status).toBe(201);
    expect(req.body).toMatchObject({ status: 'awaiting_approval', requestedBy: 'operator@keel.test', channel: 'api_token', reason: 'kernel patch on the primary', ticket: 'CHG-1' });
    expect((await rest(tokens.operator, 'POST', `/operations/${req.body.id}/approve`, {})).status).toBe(403);

    const ok = await rest(tokens.approver, 'POST', `/operations/${req.body.id}/approve`, {});
    expect(ok.status).toBe(200);
    const done = await waitFor(
      async () => {
        const op = (await rest(tokens.operator, 'GET', `/operations/${req.body.id}`)).body;
        if (op.status === 'failed') throw new Error(`the switchover failed: ${op.error}`);
        return op.status === 'succeeded' ? op : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: 'the switchover to succeed' },
    );
    expect(done.progress.map((p: TJson) => p.message).join('\n')).toMatch(/switchover/);
    const after = await leaderSeen(before);
    expect(after).not.toBe(before);
    expect((await cluster!.primary())?.name).toBe(after);

    const audit = (await rest(tokens.admin, 'GET', `/audit?operationId=${req.body.id}`)).body as TJson[];
    expect(audit.map((e) => [e.action, e.actor, e.channel]).reverse()).toEqual([
      ['operation.request', 'operator@keel.test', 'api_token'],
      ['operation.approve', 'approver@keel.test', 'api_token'],
      ['operation.start', 'system', 'system'],
      ['operation.succeed', 'system', 'system'],
    ]);
    expect((await rest(tokens.admin, 'GET', '/audit/verify')).body).toMatchObject({ ok: true });
  }, 300_000);

  it('an automatic failover is not delayed by a pending approval, and the approval given before it is void after it', async () => {
    // two approvers needed, so that one approval can wait while the cluster fails over
    expect((await rest(tokens.admin, 'PUT', '/clusters/ops/policy', { approvals: { switchover: 2 } })).status).toBe(200);
    const leader = await leaderSeen();
    const req = await rest(tokens.operator, 'POST', '/operations', { cluster: 'ops', type: 'switchover', params: {}, reason: 'rebalance' });
    expect(req.body).toMatchObject({ status: 'awaiting_approval', requiredApprovals: 2 });
    const first = await rest(tokens.approver, 'POST', `/operations/${req.body.id}/approve`, {});
    expect(first.body).toMatchObject({ status: 'awaiting_approval', validApprovals: 1 });

    const killedAt = Date.now();
    await cluster!.member(leader).kill9Node();
    const next = await cluster!.waitForPrimary(60_000, leader);
    const failoverSeconds = (Date.now() - killedAt) / 1000;
    // the agents' own bound (lease expiry + a loop + promotion), nothing waits for the control plane
    expect(failoverSeconds).toBeLessThan(TTL + 3 * LOOP_WAIT + 15);
    expect(await leaderSeen(leader)).toBe(next.name);

    const op = (await rest(tokens.operator, 'GET', `/operations/${req.body.id}`)).body;
    expect(op.approvals).toEqual([expect.objectContaining({ approver: 'approver@keel.test', valid: false, invalidReason: expect.stringMatching(new RegExp(`^void: the cluster changed since it was given \\(the leader changed from ${leader} to ${next.name}`)) })]);
    expect(op.stateChangedSinceRequest).toMatch(`the leader changed from ${leader} to ${next.name}`);

    // a second approval now does not make two: the first is void, recorded, and nothing runs
    const second = await rest(tokens.approver2, 'POST', `/operations/${req.body.id}/approve`, {});
    expect(second.body).toMatchObject({ status: 'awaiting_approval', validApprovals: 1 });
    const voided = (await rest(tokens.admin, 'GET', `/audit?operationId=${req.body.id}&actions=operation.approval_void`)).body as TJson[];
    expect(voided).toHaveLength(1);
    expect(voided[0].details).toMatchObject({ approver: 'approver@keel.test', reason: expect.stringMatching(/the leader changed/) });
  }, 300_000);
});
