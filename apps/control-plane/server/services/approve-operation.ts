/**
 * Approve an operation (approver on its cluster; never the requester). The approval is pinned to the
 * exact request (its hash) and to the cluster state now; an approver who passes the state they saw
 * (`expectedState`, the UI does) is refused if the cluster moved since. When the valid approvals
 * reach the policy's count the operation starts; approvals whose pinned state no longer matches are
 * voided first, recorded with the reason, and do not count.
 */
import { z } from 'zod';
import type { Prisma } from '../db.ts';
import type { TAppDeps } from '../context.ts';
import { auditActor, SYSTEM_ACTOR, type TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import { requestHash, stateChange, type TClusterState } from '../lib/cluster-state.ts';
import { ZPolicyRules } from '../lib/policy.ts';
import { appendAuditInTx, byActor } from './append-audit.ts';
import { authorizeClusterId } from './authorize.ts';
import { approvalValidity, getOperation, loadOperation, type TOperationView } from './get-operation.ts';

export const ZApproveOperation = z.object({
  id: z.string().min(1),
  /** The cluster state the approver looked at (operation view's stateNow). */
  expectedState: z.object({ leader: z.string().nullable(), timeline: z.number().nullable(), members: z.array(z.string()), paused: z.boolean() }).optional(),
  comment: z.string().trim().max(2000).optional(),
});

export async function approveOperation(
  deps: Pick<TAppDeps, 'db' | 'presence' | 'runner' | 'env'>,
  actor: TActor,
  input: z.input<typeof ZApproveOperation>,
): Promise<TOperationView> {
  const q = ZApproveOperation.parse(input);
  const { db } = deps;
  const { op, state } = await loadOperation(deps, q.id);
  await authorizeClusterId(db, actor, op.clusterId, 'approver');
  if (op.requestedById === actor.userId) throw new AppError('forbidden', 'You requested this operation: someone else must approve it.');
  if (op.status !== 'awaiting_approval') throw new AppError('conflict', `This operation is ${op.status.replace('_', ' ')}: there is nothing to approve.`);
  if (q.expectedState) {
    const moved = stateChange(q.expectedState, state);
    if (moved) throw new AppError('conflict', `The cluster changed since you looked (${moved}): review the request again.`, { stateNow: state });
  }
  const policy = await db.clusterPolicy.findUnique({ where: { clusterId: op.clusterId }, select: { rules: true } });
  const ttlMinutes = (policy ? ZPolicyRules.parse(policy.rules).approvalTtlMinutes : undefined) ?? deps.env.KEEL_CP_APPROVAL_TTL_MINUTES;
  const now = new Date();
  const ready = await db.$transaction(async (tx) => {
    const data = {
      approver: actor.email,
      channel: actor.channel,
      paramsHash: requestHash(op),
      state: state as unknown as Prisma.InputJsonValue,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlMinutes * 60_000),
      voidedAt: null,
      voidReason: null,
    };
    await tx.approval.upsert({ where: { operationId_userId: { operationId: op.id, userId: actor.userId } }, create: { operationId: op.id, userId: actor.userId, ...data }, update: data });
    await appendAuditInTx(tx, byActor(auditActor(actor), {
      action: 'operation.approve', target: `operation:${op.id}`, cluster: op.cluster.scope, outcome: 'ok',
      details: { type: op.type, requestedBy: op.requestedBy, state, ...(q.comment ? { comment: q.comment } : {}) },
    }));
    const approvals = await tx.approval.findMany({ where: { operationId: op.id }, select: { id: true, userId: true, approver: true, channel: true, createdAt: true, expiresAt: true, voidedAt: true, voidReason: true, paramsHash: true, state: true } });
    let valid = 0;
    for (const a of approvals) {
      const why = approvalValidity(a, op, now, state as TClusterState);
      if (why === null) valid++;
      else if (!a.voidedAt && why.startsWith('void')) {
        await tx.approval.update({ where: { id: a.id }, data: { voidedAt: now, voidReason: why }, select: { id: true } });
        await appendAuditInTx(tx, byActor(SYSTEM_ACTOR, { action: 'operation.approval_void', target: `operation:${op.id}`, cluster: op.cluster.scope, outcome: 'ok', details: { approver: a.approver, reason: why } }));
      }
    }
    return valid >= op.requiredApprovals;
  });
  if (ready) await deps.runner.start(op.id);
  return getOperation(deps, actor, op.id);
}
