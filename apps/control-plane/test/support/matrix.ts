/**
 * The role x operation matrix, written once and run through tRPC (createCaller) and REST: who may
 * request each operation type, and who may approve. The cluster is "alpha" (pg0 leads, pg1 is an
 * eligible replica); "beta" exists for the per-cluster grant.
 */
import type { TOperationRequestInput, TOperationType } from '../../server/lib/operation-types.ts';

/** The users of the matrix: a global role, or a grant on alpha only (global viewer). */
export const MATRIX_USERS = ['viewer', 'operator', 'approver', 'admin', 'alpha_operator'] as const;
export type TMatrixUser = (typeof MATRIX_USERS)[number];

export const REQUESTS: Record<TOperationType, Omit<TOperationRequestInput, 'cluster' | 'reason'>> = {
  switchover: { type: 'switchover', params: {} },
  failover: { type: 'failover', params: { candidate: 'pg1' } },
  restart: { type: 'restart', params: { members: ['pg1'] } },
  rolling_restart: { type: 'rolling_restart', params: {} },
  reinitialize: { type: 'reinitialize', params: { member: 'pg1' } },
  reload: { type: 'reload', params: {} },
  pause: { type: 'pause', params: {} },
  resume: { type: 'resume', params: {} },
  config_patch: { type: 'config_patch', params: { patch: { postgresql: { parameters: { work_mem: '8MB' } } } } },
} as Record<TOperationType, Omit<TOperationRequestInput, 'cluster' | 'reason'>>;

/** The default policy's approvals for these requests on alpha. */
export const NEEDS_APPROVAL: Record<TOperationType, boolean> = {
  switchover: true, failover: true, restart: false, rolling_restart: true, reinitialize: false, reload: false, pause: false, resume: false, config_patch: false,
};

/** Refused by the cluster (412) even for those allowed to ask: alpha is not paused. */
export const REFUSED_BY_CLUSTER: Partial<Record<TOperationType, RegExp>> = { resume: /not paused/ };

export type TOutcome = 'allowed' | 'forbidden' | 'refused';

export function expectedRequest(user: TMatrixUser, cluster: 'alpha' | 'beta', type: TOperationType): TOutcome {
  const can = user === 'operator' || user === 'approver' || user === 'admin' || (user === 'alpha_operator' && cluster === 'alpha');
  if (!can) return 'forbidden';
  return REFUSED_BY_CLUSTER[type] ? 'refused' : 'allowed';
}

/** Approving an operator's request. */
export function expectedApprove(user: TMatrixUser | 'requester'): TOutcome {
  return user === 'approver' || user === 'admin' ? 'allowed' : 'forbidden';
}
