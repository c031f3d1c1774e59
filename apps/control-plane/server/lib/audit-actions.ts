/** The audit log's closed vocabulary: every entry's action is one of these (like the agent events). */
import { z } from 'zod';

export const AUDIT_ACTIONS = [
  'auth.sign_in',
  'auth.sign_in_failed',
  'auth.sign_out',
  'user.create',
  'user.set_role',
  'user.disable',
  'user.enable',
  'user.grant_cluster_role',
  'user.revoke_cluster_role',
  'agent_token.create',
  'agent_token.revoke',
  'agent.refused',
  'api_token.create',
  'api_token.revoke',
  'policy.update',
  'operation.request',
  'operation.approve',
  'operation.approval_void',
  'operation.reject',
  'operation.cancel',
  'operation.start',
  'operation.succeed',
  'operation.fail',
  'operation.review',
  'incident.acknowledge',
  'incident.annotate',
  'incident.resolve',
  'alert_channel.create',
  'alert_channel.update',
  'alert_channel.delete',
  'alert_rule.update',
] as const;
export const ZAuditAction = z.enum(AUDIT_ACTIONS);
export type TAuditAction = z.infer<typeof ZAuditAction>;

export const AUDIT_OUTCOMES = ['ok', 'refused', 'failed'] as const;
export const ZAuditOutcome = z.enum(AUDIT_OUTCOMES);
export type TAuditOutcome = z.infer<typeof ZAuditOutcome>;
