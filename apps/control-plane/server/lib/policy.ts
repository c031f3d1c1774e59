/**
 * Per-cluster approval policy. `rules.approvals[type]` (a number of approvers, 0 = none) overrides
 * the default for that type. Defaults (issue 11): one approver for switchover, failover, a restart
 * that touches the primary, rolling restart, and a config patch that needs a restart or changes
 * timings; none for the rest. The requester never counts as an approver.
 */
import { z } from 'zod';
import { OPERATION_TYPES, type TOperationType } from './operation-types.ts';

export const ZPolicyRules = z.strictObject({
  approvals: z.partialRecord(z.enum(OPERATION_TYPES), z.number().int().min(0).max(5)).default({}),
  /** Approvals expire after this many minutes (default: KEEL_CP_APPROVAL_TTL_MINUTES). */
  approvalTtlMinutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
});
export type TPolicyRules = z.output<typeof ZPolicyRules>;

/** What the preview found that matters to the default policy. */
export interface TRiskFacts {
  touchesPrimary: boolean;
  needsRestart: boolean;
  changesTiming: boolean;
}

export function defaultApprovals(type: TOperationType, risk: TRiskFacts): number {
  switch (type) {
    case 'switchover':
    case 'failover':
    case 'rolling_restart':
      return 1;
    case 'restart':
      return risk.touchesPrimary ? 1 : 0;
    case 'config_patch':
      return risk.needsRestart || risk.changesTiming ? 1 : 0;
    case 'reinitialize':
    case 'reload':
    case 'pause':
    case 'resume':
      return 0;
  }
}

export function requiredApprovals(rules: TPolicyRules | null, type: TOperationType, risk: TRiskFacts): number {
  return rules?.approvals[type] ?? defaultApprovals(type, risk);
}
