/**
 * One operation as people see it: the request (reason, ticket), who asked and how, its approvals,
 * each with whether it still counts and why not (expired, void because the cluster changed since it
 * was given, or given to a different request), progress and outcome.
 */
import type { TAppDeps } from '../context.ts';
import type { TDb } from '../db.ts';
import type { TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import { requestHash, stateChange, type TClusterState } from '../lib/cluster-state.ts';
import type { TOperationStatus } from '../lib/operation-types.ts';
import { authorizeClusterId } from './authorize.ts';
import type { TJsonValue } from './get-cluster.ts';
import { loadClusterMembers } from './load-cluster-members.ts';

export interface TApprovalView {
  approver: string;
  channel: string;
  at: string;
  expiresAt: string;
  /** Counts toward the operation now. */
  valid: boolean;
  /** Why it does not count (expired, void: the cluster changed, ...). */
  invalidReason: string | null;
}

export interface TOperationView {
  id: string;
  cluster: string;
  type: string;
  params: TJsonValue;
  reason: string;
  ticket: string | null;
  status: TOperationStatus;
  requestedBy: string;
  requestedById: string;
  channel: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  requiredApprovals: number;
  approvals: TApprovalView[];
  validApprovals: number;
  breakGlass: boolean;
  review: { by: string; at: string; note: string } | null;
  closed: { by: string; reason: string } | null;
  progress: { at: string; member: string; message: string }[];
  result: TJsonValue;
  error: string | null;
  /** The cluster now, and how it differs from when the request was made. */
  stateNow: TClusterState;
  stateChangedSinceRequest: string | null;
}

export const OPERATION_SELECT = {
  id: true, type: true, params: true, reason: true, ticket: true, status: true, requestedBy: true, requestedById: true, channel: true,
  createdAt: true, startedAt: true, finishedAt: true, requiredApprovals: true, breakGlass: true, reviewedBy: true, reviewedAt: true,
  reviewNote: true, closedBy: true, closedReason: true, progress: true, result: true, error: true, stateAtRequest: true, clusterId: true,
  cluster: { select: { scope: true } },
  approvals: { orderBy: { createdAt: 'asc' }, select: { userId: true, approver: true, channel: true, createdAt: true, expiresAt: true, voidedAt: true, voidReason: true, paramsHash: true, state: true } },
} as const;

type Row = NonNullable<Awaited<ReturnType<typeof loadRow>>>;
function loadRow(db: TDb, id: string) {
  return db.operation.findUnique({ where: { id }, select: OPERATION_SELECT });
}

/** Whether an approval counts now, and why not. */
export function approvalValidity(a: Row['approvals'][number], op: Pick<Row, 'type' | 'params' | 'reason' | 'ticket'>, now: Date, state: TClusterState): string | null {
  if (a.voidedAt) return a.voidReason ?? 'void';
  if (a.expiresAt <= now) return `expired at ${a.expiresAt.toISOString()}`;
  if (a.paramsHash !== requestHash(op)) return 'given to a different request';
  const change = stateChange(a.state as unknown as TClusterState, state);
  return change ? `void: the cluster changed since it was given (${change})` : null;
}

export function operationView(op: Row, stateNow: TClusterState, now = new Date()): TOperationView {
  const approvals = op.approvals.map((a) => {
    const why = op.status === 'awaiting_approval' ? approvalValidity(a, op, now, stateNow) : (a.voidedAt ? (a.voidReason ?? 'void') : null);
    return { approver: a.approver, channel: a.channel, at: a.createdAt.toISOString(), expiresAt: a.expiresAt.toISOString(), valid: why === null, invalidReason: why };
  });
  return {
    id: op.id,
    cluster: op.cluster.scope,
    type: op.type,
    params: op.params as TJsonValue,
    reason: op.reason,
    ticket: op.ticket,
    status: op.status,
    requestedBy: op.requestedBy,
    requestedById: op.requestedById,
    channel: op.channel,
    createdAt: op.createdAt.toISOString(),
    startedAt: op.startedAt?.toISOString() ?? null,
    finishedAt: op.finishedAt?.toISOString() ?? null,
    requiredApprovals: op.requiredApprovals,
    approvals,
    validApprovals: approvals.filter((a) => a.valid).length,
    breakGlass: op.breakGlass,
    review: op.reviewedBy && op.reviewedAt ? { by: op.reviewedBy, at: op.reviewedAt.toISOString(), note: op.reviewNote ?? '' } : null,
    closed: op.closedBy ? { by: op.closedBy, reason: op.closedReason ?? '' } : null,
    progress: Array.isArray(op.progress) ? (op.progress as TOperationView['progress']) : [],
    result: (op.result ?? null) as TJsonValue,
    error: op.error,
    stateNow,
    stateChangedSinceRequest: stateChange(op.stateAtRequest as unknown as TClusterState, stateNow),
  };
}

export async function loadOperation(deps: Pick<TAppDeps, 'db' | 'presence'>, id: string) {
  const op = /^[0-9a-f-]{36}$/i.test(id) ? await loadRow(deps.db, id) : null;
  if (!op) throw new AppError('not_found', `There is no operation ${id}.`);
  const { state } = await loadClusterMembers(deps.db, op.clusterId, deps.presence);
  return { op, state };
}

export async function getOperation(deps: Pick<TAppDeps, 'db' | 'presence'>, actor: TActor, id: string): Promise<TOperationView> {
  const { op, state } = await loadOperation(deps, id);
  await authorizeClusterId(deps.db, actor, op.clusterId, 'viewer');
  return operationView(op, state);
}
