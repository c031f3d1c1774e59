/** The after-action review of a break-glass operation, by an approver other than the admin who ran it. */
import { z } from 'zod';
import type { TAppDeps } from '../context.ts';
import { auditActor, type TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import { appendAuditInTx, byActor } from './append-audit.ts';
import { authorizeClusterId } from './authorize.ts';
import { getOperation, loadOperation, type TOperationView } from './get-operation.ts';

export const ZReviewOperation = z.object({ id: z.string().min(1), note: z.string().trim().min(3, 'write what the review found').max(4000) });

export async function reviewOperation(deps: Pick<TAppDeps, 'db' | 'presence'>, actor: TActor, input: z.input<typeof ZReviewOperation>): Promise<TOperationView> {
  const q = ZReviewOperation.parse(input);
  const { op } = await loadOperation(deps, q.id);
  await authorizeClusterId(deps.db, actor, op.clusterId, 'approver');
  if (!op.breakGlass) throw new AppError('bad_request', 'Only break-glass operations are reviewed after the fact.');
  if (op.requestedById === actor.userId) throw new AppError('forbidden', 'The admin who used break-glass cannot review it: someone else must.');
  await deps.db.$transaction(async (tx) => {
    const r = await tx.operation.updateMany({ where: { id: op.id, reviewedAt: null }, data: { reviewedBy: actor.email, reviewedAt: new Date(), reviewNote: q.note } });
    if (r.count !== 1) throw new AppError('conflict', 'This operation was already reviewed.');
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: 'operation.review', target: `operation:${op.id}`, cluster: op.cluster.scope, outcome: 'ok', details: { note: q.note } }));
  });
  return getOperation(deps, actor, op.id);
}
