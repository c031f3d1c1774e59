/**
 * Request an operation (operator on the cluster). Refused requests (the preview's refusal) store
 * nothing but are audited. One that needs no approval starts at once. Break-glass: an admin runs it
 * without approval, with a mandatory reason; it is flagged for an after-action review by another
 * person, and the approvers it skipped are named in the audit entry and told over the live feed.
 */
import type { Prisma } from '../db.ts';
import type { TAppDeps } from '../context.ts';
import { auditActor, type TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import type { TOperationRequestInput } from '../lib/operation-types.ts';
import { appendAudit, appendAuditInTx, byActor } from './append-audit.ts';
import { authorizeCluster } from './authorize.ts';
import { previewOperation } from './preview-operation.ts';
import { getOperation, type TOperationView } from './get-operation.ts';
import { approversOf } from './list-approvers.ts';

export async function requestOperation(
  deps: Pick<TAppDeps, 'db' | 'presence' | 'runner'> & { notify?: (userIds: string[], message: string) => void },
  actor: TActor,
  input: TOperationRequestInput,
  options: { breakGlass?: boolean } = {},
): Promise<TOperationView> {
  const { db } = deps;
  const p = await previewOperation(deps, actor, input);
  const { request, access } = p;
  if (options.breakGlass) await authorizeCluster(db, actor, access.scope, 'admin');
  const who = auditActor(actor);
  if (p.refusal) {
    await appendAudit(db, byActor(who, { action: 'operation.request', target: `cluster:${access.scope}`, cluster: access.scope, outcome: 'refused', details: { type: request.type, params: request.params, reason: request.reason, ticket: request.ticket ?? null, refusal: p.refusal } }));
    throw new AppError('precondition_failed', p.refusal, { candidates: p.candidates, patch: p.patch });
  }
  const required = options.breakGlass ? 0 : p.requiredApprovals;
  const skipped = options.breakGlass && p.requiredApprovals > 0 ? await approversOf(db, access.clusterId, actor.userId) : [];
  const op = await db.$transaction(async (tx) => {
    const row = await tx.operation.create({
      data: {
        clusterId: access.clusterId,
        type: request.type,
        params: request.params as Prisma.InputJsonValue,
        reason: request.reason,
        ticket: request.ticket || null,
        status: 'awaiting_approval',
        requiredApprovals: required,
        requestedById: actor.userId,
        requestedBy: actor.email,
        channel: actor.channel,
        stateAtRequest: p.state as unknown as Prisma.InputJsonValue,
        breakGlass: options.breakGlass === true,
      },
      select: { id: true },
    });
    await appendAuditInTx(tx, byActor(who, {
      action: 'operation.request',
      target: `operation:${row.id}`,
      cluster: access.scope,
      outcome: 'ok',
      details: {
        type: request.type, params: request.params, reason: request.reason, ticket: request.ticket ?? null, requiredApprovals: required,
        ...(options.breakGlass ? { breakGlass: true, policyApprovals: p.requiredApprovals, skippedApprovers: skipped.map((u) => u.email) } : {}),
      },
    }));
    return row;
  });
  if (skipped.length) deps.notify?.(skipped.map((u) => u.id), `${actor.email} ran a ${request.type} on ${access.scope} without approval (break-glass): ${request.reason}`);
  if (required === 0) await deps.runner.start(op.id);
  return getOperation(deps, actor, op.id);
}
