/**
 * Carries out approved operations: plans the agent commands from the stored request and the cluster
 * as its agents report it now, sends each over its member's WebSocket (the operation id, or
 * `<id>:<step>` for multi-step operations, is the idempotency key the agents dedupe on), records the
 * agents' progress and results on the operation, and ends it succeeded or failed with the reason.
 *
 * - start() claims the operation atomically (status -> running only from awaiting_approval), so
 *   nothing runs twice even if two approvals race.
 * - No connected agent for a step: the operation fails at once, saying so; commands carry a notAfter
 *   a few seconds ahead, so the agents never run one later by surprise.
 * - Operations found running when the server starts are failed ("outcome unknown"): the control
 *   plane never resumes one behind people's backs. With several instances (instances/peers.ts),
 *   those another live instance is running are left alone, and when an instance vanishes the
 *   others fail the operations it was running.
 * - The agent may be connected to another instance: `send` routes the command there, and a result
 *   that reaches an instance without a waiter is forwarded (`unclaimed`) to the one that waits.
 */
import type { TCommandInput, TOperationProgress, TOperationResult } from '@keel/protocol';
import type { Prisma, TDb } from '../db.ts';
import { SYSTEM_ACTOR } from '../lib/actor.ts';
import type { TPlanStep } from '../lib/operation-plan.ts';
import { planOperation } from '../lib/operation-plan.ts';
import { ZOperationType, ZOperationParams, type TStoredRequest } from '../lib/operation-types.ts';
import { appendAudit, byActor } from './append-audit.ts';
import type { TAgentPresence } from './list-clusters.ts';
import { loadClusterMembers } from './load-cluster-members.ts';

/** How long one step may take before the operation fails (a restart waits for PostgreSQL). */
const STEP_TIMEOUT_MS = 15 * 60_000;
/** Agents refuse a command that reaches them later than this. */
const NOT_AFTER_MS = 30_000;

export interface TRunnerDeps {
  db: TDb;
  presence: TAgentPresence;
  send(memberId: string, command: TCommandInput): boolean;
  /** An operation changed (the live feed tells browsers). */
  changed(op: { id: string; cluster: string; status: string }): void;
  /** An operation finished: sign an audit digest. */
  finished(): void;
  /** A result nobody here waits for (another instance may: forward it). */
  unclaimed?(memberId: string, m: TOperationResult): void;
  log(event: string, fields: Record<string, unknown>): void;
}

export interface TOperationRunner {
  /** Claim and start an operation whose approvals are complete; resolves once it is running or failed. */
  start(operationId: string): Promise<void>;
  onMessage(memberId: string, m: TOperationProgress | TOperationResult): Promise<void>;
}

interface Waiter {
  resolve(r: TOperationResult): void;
  member: string;
}

type TProgressEntry = { at: string; member: string; message: string };

export class OperationRunner implements TOperationRunner {
  private readonly waiters = new Map<string, Waiter>();
  /** Operations whose steps run in this process. */
  private readonly active = new Set<string>();

  constructor(private readonly deps: TRunnerDeps) {}

  /**
   * Fail what a previous server process left running; `others`: operations other live instances
   * run (left alone). Only operations started before `bootedAt` (this process's start): one that
   * another instance started since is not a previous process's, even before that instance's
   * heartbeat has named it.
   */
  async recover(others: ReadonlySet<string> = new Set(), bootedAt: Date = new Date()): Promise<number> {
    const stale = await this.deps.db.operation.findMany({
      where: { status: 'running', OR: [{ startedAt: null }, { startedAt: { lt: bootedAt } }] },
      select: { id: true, cluster: { select: { scope: true } } },
    });
    const orphans = stale.filter((op) => !others.has(op.id) && !this.active.has(op.id));
    for (const op of orphans) await this.finish(op.id, op.cluster.scope, 'failed', 'the control plane restarted while this operation ran; its outcome is unknown: check the cluster');
    return orphans.length;
  }

  /** Fail these operations if they are still running (the instance running them is gone). */
  async failOrphaned(operationIds: string[], reason: string): Promise<void> {
    const ops = await this.deps.db.operation.findMany({ where: { id: { in: operationIds }, status: 'running' }, select: { id: true, cluster: { select: { scope: true } } } });
    for (const op of ops) if (!this.active.has(op.id)) await this.finish(op.id, op.cluster.scope, 'failed', reason);
  }

  runningOperations(): string[] {
    return [...this.active];
  }

  /** A result for one of our commands, forwarded by the instance the agent is connected to. */
  claimResult(_memberId: string, m: TOperationResult): boolean {
    const w = this.waiters.get(m.operationId);
    if (!w) return false;
    this.waiters.delete(m.operationId);
    w.resolve(m);
    return true;
  }

  /** The instance holding the agent's connection could not hand it the command (it just left). */
  undeliverable(commandId: string, _memberId: string): void {
    const w = this.waiters.get(commandId);
    if (!w) return;
    this.waiters.delete(commandId);
    w.resolve({
      type: 'operation_result', seq: 0, at: new Date().toISOString(), operationId: commandId, op: null, outcome: 'failed', steps: [],
      message: `the agent of ${w.member} disconnected before the command reached it; nothing was run`,
    });
  }

  async start(operationId: string): Promise<void> {
    const { db } = this.deps;
    const claimed = await db.operation.updateMany({ where: { id: operationId, status: 'awaiting_approval' }, data: { status: 'running', startedAt: new Date() } });
    if (claimed.count !== 1) return; // someone else started it, or it was closed
    const op = await db.operation.findUniqueOrThrow({
      where: { id: operationId },
      select: { id: true, type: true, params: true, reason: true, ticket: true, requestedBy: true, clusterId: true, cluster: { select: { scope: true } } },
    });
    const scope = op.cluster.scope;
    const type = ZOperationType.parse(op.type);
    const req = { type, params: ZOperationParams[type].parse(op.params) } as TStoredRequest;
    const loaded = await loadClusterMembers(db, op.clusterId, this.deps.presence);
    const plan = planOperation(req, loaded.state, loaded.members, Date.now());
    await appendAudit(db, byActor(SYSTEM_ACTOR, { action: 'operation.start', target: `operation:${op.id}`, cluster: scope, outcome: 'ok', details: { type, steps: plan.steps.map((s) => s.label) } }));
    this.deps.changed({ id: op.id, cluster: scope, status: 'running' });
    if (plan.refusal) return this.finish(op.id, scope, 'failed', `refused when it was due to start: ${plan.refusal}`);
    const idOf = new Map(loaded.members.map((m) => [m.name, m.id]));
    const firstMissing = plan.steps.find((s) => !loaded.members.find((m) => m.name === s.member)?.connected);
    if (plan.steps.length === 0 || firstMissing) {
      return this.finish(op.id, scope, 'failed', `no connected agent for ${firstMissing?.member ?? 'this cluster'}: nothing was sent, and nothing will run later`);
    }
    // the steps run in the background; start() returns once the operation is under way
    this.active.add(op.id);
    void this.runSteps(op, scope, plan.steps, idOf)
      .catch((e: unknown) =>
        this.finish(op.id, scope, 'failed', `the control plane failed while running it: ${e instanceof Error ? e.message : String(e)}`).catch(() => undefined),
      )
      .finally(() => this.active.delete(op.id));
  }

  private async runSteps(
    op: { id: string; reason: string; ticket: string | null; requestedBy: string },
    scope: string,
    steps: TPlanStep[],
    idOf: Map<string, string>,
  ): Promise<void> {
    let last: TOperationResult | null = null;
    for (const [i, step] of steps.entries()) {
      const commandId = steps.length === 1 ? op.id : `${op.id}:${i + 1}`;
      const memberId = idOf.get(step.member);
      await this.addProgress(op.id, scope, { at: new Date().toISOString(), member: step.member, message: `step ${i + 1}/${steps.length}: ${step.label}` });
      const command = {
        ...step.command,
        id: commandId,
        reason: op.reason,
        ...(op.ticket ? { ticket: op.ticket } : {}),
        requestedBy: op.requestedBy,
        notAfter: new Date(Date.now() + NOT_AFTER_MS).toISOString(),
      } as TCommandInput;
      const result = new Promise<TOperationResult | 'timeout'>((resolve) => {
        const t = setTimeout(() => {
          this.waiters.delete(commandId);
          resolve('timeout');
        }, STEP_TIMEOUT_MS);
        t.unref();
        this.waiters.set(commandId, { member: step.member, resolve: (r) => (clearTimeout(t), resolve(r)) });
      });
      if (!memberId || !this.deps.send(memberId, command)) {
        this.waiters.delete(commandId);
        return this.finish(op.id, scope, 'failed', `step ${i + 1} (${step.label}): no connected agent for ${step.member}; nothing was sent, and nothing will run later`);
      }
      const r = await result;
      if (r === 'timeout') return this.finish(op.id, scope, 'failed', `step ${i + 1} (${step.label}): no result from ${step.member} within ${STEP_TIMEOUT_MS / 60_000} minutes`);
      if (r.outcome === 'failed') return this.finish(op.id, scope, 'failed', `step ${i + 1} (${step.label}) failed on ${step.member}: ${r.message}`, r);
      last = r;
    }
    await this.finish(op.id, scope, 'succeeded', last?.message ?? 'done', last);
  }

  async onMessage(memberId: string, m: TOperationProgress | TOperationResult): Promise<void> {
    const opId = m.operationId.split(':')[0] ?? m.operationId;
    const member = (await this.deps.db.member.findUnique({ where: { id: memberId }, select: { name: true, cluster: { select: { scope: true } } } })) ?? null;
    if (!member) return;
    if (m.type === 'operation_progress') {
      const step = m.steps[m.steps.length - 1];
      if (step) await this.addProgress(opId, member.cluster.scope, { at: step.at, member: member.name, message: step.message }, true);
      return;
    }
    if (this.claimResult(memberId, m)) return;
    if (this.deps.unclaimed) this.deps.unclaimed(memberId, m);
    else this.deps.log('operation_result_unclaimed', { id: m.operationId, member: member.name, outcome: m.outcome });
  }

  private async addProgress(opId: string, scope: string, entry: TProgressEntry, onlyIfRunning = false): Promise<void> {
    const { db } = this.deps;
    const op = await db.operation.findUnique({ where: { id: opId }, select: { progress: true, status: true } });
    if (!op || (onlyIfRunning && op.status !== 'running')) return;
    const progress = (Array.isArray(op.progress) ? (op.progress as TProgressEntry[]) : []).concat(entry).slice(-200);
    await db.operation.update({ where: { id: opId }, data: { progress: progress as Prisma.InputJsonValue }, select: { id: true } });
    this.deps.changed({ id: opId, cluster: scope, status: op.status });
  }

  private async finish(opId: string, scope: string, outcome: 'succeeded' | 'failed', message: string, result?: TOperationResult | null): Promise<void> {
    const { db } = this.deps;
    const done = await db.operation.updateMany({
      where: { id: opId, status: 'running' },
      data: {
        status: outcome,
        finishedAt: new Date(),
        ...(outcome === 'failed' ? { error: message } : {}),
        result: { message, ...(result?.data ? { data: result.data } : {}), ...(result?.code ? { code: result.code } : {}) } as Prisma.InputJsonValue,
      },
    });
    if (done.count !== 1) return;
    await appendAudit(db, byActor(SYSTEM_ACTOR, {
      action: outcome === 'succeeded' ? 'operation.succeed' : 'operation.fail',
      target: `operation:${opId}`,
      cluster: scope,
      outcome: outcome === 'succeeded' ? 'ok' : 'failed',
      details: { message },
    }));
    this.deps.log('operation_finished', { id: opId, cluster: scope, outcome, message });
    this.deps.changed({ id: opId, cluster: scope, status: outcome });
    this.deps.finished();
  }
}
