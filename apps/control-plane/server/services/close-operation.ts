/**
 * Reject (an approver, with a reason) or cancel (the requester or an admin, with a reason) an
 * operation that is still waiting for approval. Nothing is sent to the agents.
 */
import { z } from 'zod';
import type { TAppDeps } from '../context.ts';
import { auditActor, type TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import { hasRole } from '../lib/roles.ts';
import { appendAuditInTx, byActor } from './append-audit.ts';
import { authorizeClusterId } from './authorize.ts';
import { getOperation, loadOperation, type TOperationView } from './get-operation.ts';

export const ZCloseOperation = z.object({ id: z.string().min(1), reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(2000) });

export async function closeOperation(
  deps: Pick<TAppDeps, 'db' | 'presence'>,
  actor: TActor,
  verb: 'reject' | 'cancel',
  input: z.input<typeof ZCloseOperation>,
): Promise<TOperationView> {
  const q = ZCloseOperation.parse(input);
  const { op } = await loadOperation(deps, q.id);
  if (verb === 'reject') {
    await authorizeClusterId(deps.db, actor, op.clusterId, 'approver');
    if (op.requestedById === actor.userId) throw new AppError('forbidden', 'You requested this operation: cancel it instead of rejecting it.');
  } else {
    const access = await authorizeClusterId(deps.db, actor, op.clusterId, 'operator');
    if (op.requestedById !== actor.userId && !hasRole(access.role, 'admin')) throw new AppError('forbidden', 'Only the requester or an admin can cancel an operation.');
  }
  const status = verb === 'reject' ? 'rejected' : 'cancelled';
  await deps.db.$transaction(async (tx) => {
    const r = await tx.operation.updateMany({ where: { id: op.id, status: 'awaiting_approval' }, data: { status, closedBy: actor.email, closedReason: q.reason, finishedAt: new Date() } });
    if (r.count !== 1) throw new AppError('conflict', `This operation is ${op.status.replace('_', ' ')}: it can no longer be ${status}.`);
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: verb === 'reject' ? 'operation.reject' : 'operation.cancel', target: `operation:${op.id}`, cluster: op.cluster.scope, outcome: 'ok', details: { type: op.type, reason: q.reason } }));
  });
  return getOperation(deps, actor, op.id);
}
