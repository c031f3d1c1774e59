/**
 * Operation flows through tRPC (createCaller) on a real database, with the runner's agent side
 * simulated at its boundary (send() records commands; results come back through onMessage like the
 * ingest delivers them): a rolling restart runs its steps in order, one command at a time, and a
 * failed step fails the operation with the agent's words; break-glass skips approval, names the
 * skipped approvers and needs a review by someone else; approvals expire; a changed request is not
 * covered by an earlier approval.
 */
import type { TCommandInput, TOperationResult } from '@keel/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateControlPlaneDb, startControlPlaneDb, waitFor, type ControlPlaneDb } from '@keel/testkit';
import { createAuth } from '../server/auth.ts';
import { contextForActor, type TAppDeps } from '../server/context.ts';
import { DbHealthMonitor } from '../server/db-health.ts';
import { createDb, type Prisma, type TDb } from '../server/db.ts';
import { parseServerEnv } from '../server/env.ts';
import type { TActor } from '../server/lib/actor.ts';
import { digestKey } from '../server/lib/audit-hash.ts';
import { SignInThrottle } from '../server/lib/sign-in-throttle.ts';
import { createCaller } from '../server/routers/_app.ts';
import { OperationRunner } from '../server/services/operation-runner.ts';
import { snapshot } from './support/builders.ts';

let db: ControlPlaneDb;
let prisma: TDb;
let deps: TAppDeps;
let runner: OperationRunner;
const sent: { memberId: string; command: TCommandInput }[] = [];
const memberIds = new Map<string, string>();
let failOn: string | null = null;

const actor = (email: string, role: TActor['role']): TActor => ({ userId: `id-${email}`, email, role, channel: 'session', address: '127.0.0.1' });
const operator = actor('op@keel.test', 'operator');
const approver = actor('ap@keel.test', 'approver');
const admin = actor('boss@keel.test', 'admin');
const admin2 = actor('boss2@keel.test', 'admin');
const call = (a: TActor) => createCaller(contextForActor(deps, a));

/** The agents: answer each command a moment later, succeeded unless it is the one to fail. */
function send(memberId: string, command: TCommandInput): boolean {
  sent.push({ memberId, command });
  const member = [...memberIds].find(([, id]) => id === memberId)![0];
  setTimeout(() => {
    const failed = failOn !== null && `${command.op} ${member}` === failOn;
    const r: TOperationResult = {
      type: 'operation_result', seq: 1, at: new Date().toISOString(), operationId: command.id, op: command.op, outcome: failed ? 'failed' : 'succeeded',
      message: failed ? 'restart conditions are not satisfied' : `${command.op} done on ${member}`, steps: [], ...(failed ? { code: 'precondition_failed' as const } : {}),
    };
    void runner.onMessage(memberId, r);
  }, 20);
  return true;
}

beforeAll(async () => {
  db = await startControlPlaneDb();
  await migrateControlPlaneDb(db.databaseUrl);
  prisma = createDb(db.databaseUrl);
  for (const a of [operator, approver, admin, admin2]) await prisma.user.create({ data: { id: a.userId, email: a.email, name: a.email, role: a.role } });
  const cluster = await prisma.cluster.create({ data: { scope: 'flow', name: 'flow' }, select: { id: true } });
  const summaries = ['pg0', 'pg1', 'pg2'].map((name) => ({ name, role: name === 'pg0' ? 'primary' : 'replica', state: 'running', timeline: 1, lsn: 1000, tags: {}, pendingRestart: false }));
  for (const name of ['pg0', 'pg1', 'pg2']) {
    const s = snapshot(1, { role: name === 'pg0' ? 'primary' : 'replica', leader: 'pg0', members: summaries, ...(name === 'pg0' ? { failoverReadiness: { eligible: false, reasons: ['is the leader'] } } : {}) });
    const m = await prisma.member.create({ data: { clusterId: cluster.id, name, snapshot: s as unknown as Prisma.InputJsonValue, lastSeenAt: new Date() }, select: { id: true } });
    memberIds.set(name, m.id);
  }
  const env = parseServerEnv({ DATABASE_URL: db.databaseUrl, KEEL_CP_SECRET: 'x'.repeat(40), NODE_ENV: 'test', KEEL_CP_NEXT: 'off', KEEL_CP_APPROVAL_TTL_MINUTES: '1' });
  const presence = { isConnected: () => true };
  runner = new OperationRunner({ db: prisma, presence, send, changed: () => undefined, finished: () => undefined, log: () => undefined });
  deps = { db: prisma, env, auth: createAuth(prisma, env, new SignInThrottle({ maxFailures: 5, windowMs: 60_000 })), dbHealth: new DbHealthMonitor(prisma), presence, runner, auditKey: digestKey(undefined, env.KEEL_CP_SECRET), notify: () => undefined };
}, 120_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await db?.stop();
});

async function finished(id: string) {
  return waitFor(async () => {
    const o = await call(operator).operations.get({ id });
    return o.status === 'succeeded' || o.status === 'failed' ? o : null;
  }, { timeoutMs: 15_000, message: `operation ${id} to finish` });
}

describe('operation flows', () => {
  it('a rolling restart: replicas one by one, then a switchover, then the old primary, one command at a time, one id per step', async () => {
    sent.length = 0;
    const op = await call(operator).operations.request({ cluster: 'flow', type: 'rolling_restart', params: {}, reason: 'minor upgrade 15.4 -> 15.5' });
    expect(op.status).toBe('awaiting_approval');
    await call(approver).operations.approve({ id: op.id, expectedState: op.stateNow });
    const done = await finished(op.id);
    expect(done.status).toBe('succeeded');
    expect(sent.map((s) => `${s.command.id.slice(36)} ${s.command.op} ${[...memberIds].find(([, id]) => id === s.memberId)![0]}`)).toEqual([':1 restart pg1', ':2 restart pg2', ':3 switchover pg0', ':4 restart pg0']);
    expect(sent[2]!.command).toMatchObject({ op: 'switchover', request: { leader: 'pg0', candidate: 'pg1' }, reason: 'minor upgrade 15.4 -> 15.5', requestedBy: 'op@keel.test' });
    expect(sent.every((s) => s.command.id.startsWith(op.id) && Date.parse(s.command.notAfter!) > Date.now() - 60_000)).toBe(true);
    expect(done.progress.map((p) => p.message)).toEqual(expect.arrayContaining(['step 1/4: restart replica pg1', 'step 4/4: restart pg0 (now a replica)']));
  });

  it('a failed step fails the operation with the agent\'s words and sends nothing after it', async () => {
    sent.length = 0;
    failOn = 'restart pg1';
    try {
      const op = await call(operator).operations.request({ cluster: 'flow', type: 'restart', params: { role: 'replica' }, reason: 'pending restart' });
      const done = await finished(op.id);
      expect(done.status).toBe('failed');
      expect(done.error).toBe('step 1 (restart pg1) failed on pg1: restart conditions are not satisfied');
      expect(sent.map((s) => s.command.op)).toEqual(['restart']); // pg2 was never asked
    } finally {
      failOn = null;
    }
  });

  it('starting twice runs once (the operation id is the idempotency key)', async () => {
    sent.length = 0;
    const op = await call(operator).operations.request({ cluster: 'flow', type: 'switchover', params: { candidate: 'pg2' }, reason: 'twice?' });
    // the approval (which starts it) races two direct starts; a start that claims the operation first
    // makes the approval a conflict ("this operation is running"), which is right
    const [approved, ...started] = await Promise.allSettled([call(approver).operations.approve({ id: op.id }), runner.start(op.id), runner.start(op.id)]);
    if (approved.status === 'rejected') expect(String(approved.reason)).toMatch(/This operation is (running|succeeded): there is nothing to approve/);
    expect(started.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect((await finished(op.id)).status).toBe('succeeded');
    expect(sent.filter((s) => s.command.id === op.id)).toHaveLength(1);
  });

  it('recovery at start fails what a previous process left running, not what a live peer runs nor what started since this process booted', async () => {
    const clusterId = (await prisma.cluster.findUniqueOrThrow({ where: { scope: 'flow' } })).id;
    const bootedAt = new Date();
    const running = (startedAt: Date) =>
      prisma.operation.create({
        data: {
          clusterId, type: 'restart', params: { members: ['pg1'] }, reason: 'recovery', status: 'running', requiredApprovals: 1,
          requestedById: operator.userId, requestedBy: operator.email, channel: 'session', stateAtRequest: {}, startedAt,
        },
        select: { id: true },
      });
    const orphan = await running(new Date(bootedAt.getTime() - 60_000));
    const peers = await running(new Date(bootedAt.getTime() - 60_000));
    const since = await running(new Date(bootedAt.getTime() + 50)); // another instance started it after this boot
    expect(await runner.recover(new Set([peers.id]), bootedAt)).toBe(1);
    const status = async (id: string) => (await prisma.operation.findUniqueOrThrow({ where: { id } })).status;
    expect(await status(orphan.id)).toBe('failed');
    expect((await prisma.operation.findUniqueOrThrow({ where: { id: orphan.id } })).error).toMatch(/restarted while this operation ran/);
    expect(await status(peers.id)).toBe('running');
    expect(await status(since.id)).toBe('running');
    await runner.failOrphaned([peers.id, since.id], 'test cleanup');
  });

  it('break-glass: admins only, no approval, the skipped approvers are named, a review by someone else', async () => {
    await expect(call(operator).operations.breakGlass({ cluster: 'flow', type: 'switchover', params: {}, reason: 'primary disk failing' })).rejects.toThrow(/needs the admin role/);
    const op = await call(admin).operations.breakGlass({ cluster: 'flow', type: 'switchover', params: {}, reason: 'primary disk failing' });
    expect(op).toMatchObject({ breakGlass: true, requiredApprovals: 0 });
    await finished(op.id);
    const audit = await call(admin).audit.list({ operationId: op.id, actions: ['operation.request'] });
    expect(audit[0]!.details).toMatchObject({ breakGlass: true, policyApprovals: 1, skippedApprovers: ['ap@keel.test', 'boss2@keel.test'] });
    await expect(call(admin).operations.review({ id: op.id, note: 'looked fine to me' })).rejects.toThrow(/cannot review it/);
    const reviewed = await call(admin2).operations.review({ id: op.id, note: 'disk replaced; the switchover was right' });
    expect(reviewed.review).toMatchObject({ by: 'boss2@keel.test', note: 'disk replaced; the switchover was right' });
  });

  it('approvals expire, and an approver who looked at another state is refused', async () => {
    await prisma.clusterPolicy.create({ data: { clusterId: (await prisma.cluster.findUniqueOrThrow({ where: { scope: 'flow' } })).id, rules: { approvals: { switchover: 2 } }, updatedBy: 'test' } });
    const op = await call(operator).operations.request({ cluster: 'flow', type: 'switchover', params: {}, reason: 'two approvers' });
    const stale = { ...op.stateNow, leader: 'pg9' };
    await expect(call(approver).operations.approve({ id: op.id, expectedState: stale })).rejects.toThrow(/The cluster changed since you looked \(the leader changed from pg9 to pg0\)/);
    await call(approver).operations.approve({ id: op.id });
    // an hour later (TTL 1 minute here): the approval no longer counts
    await prisma.approval.updateMany({ where: { operationId: op.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const later = await call(admin).operations.approve({ id: op.id });
    expect(later.status).toBe('awaiting_approval');
    expect(later.approvals.find((a) => a.approver === 'ap@keel.test')).toMatchObject({ valid: false, invalidReason: expect.stringMatching(/^expired at /) });
    expect(later.validApprovals).toBe(1);
  });
});
