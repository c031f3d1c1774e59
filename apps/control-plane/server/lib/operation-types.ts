/**
 * The operations people request from the control plane: a closed set of types, each with its
 * parameter schema (ZOperationRequest, discriminated by `type`). What each becomes on the agents is
 * in operation-plan.ts (commands of @keel/protocol's ZCommand).
 */
import { z } from 'zod';
import { ZConfigPatch } from '@keel/protocol';

export const OPERATION_TYPES = ['switchover', 'failover', 'restart', 'rolling_restart', 'reinitialize', 'reload', 'pause', 'resume', 'config_patch'] as const;
export const ZOperationType = z.enum(OPERATION_TYPES);
export type TOperationType = z.infer<typeof ZOperationType>;

export const OPERATION_STATUSES = ['awaiting_approval', 'running', 'succeeded', 'failed', 'rejected', 'cancelled'] as const;
export type TOperationStatus = (typeof OPERATION_STATUSES)[number];
export const FINISHED_STATUSES: readonly TOperationStatus[] = ['succeeded', 'failed', 'rejected', 'cancelled'];

const ZMemberName = z.string().trim().min(1).max(256);
const ZWhen = z.iso.datetime({ offset: true, error: 'an ISO 8601 time with a timezone, e.g. 2026-12-03T22:00:00Z' });

export const ZOperationParams = {
  /** Candidate optional (the agents pick the best); scheduledAt: later, by the agents. */
  switchover: z.strictObject({ candidate: ZMemberName.optional(), scheduledAt: ZWhen.optional() }),
  failover: z.strictObject({ candidate: ZMemberName }),
  /** members: default every member; pendingOnly: only those with a pending restart; role: only that role. */
  restart: z.strictObject({
    members: z.array(ZMemberName).min(1).max(100).optional(),
    pendingOnly: z.boolean().optional(),
    role: z.enum(['primary', 'replica']).optional(),
    scheduledAt: ZWhen.optional(),
  }),
  /** Replicas one by one, then a switchover to a restarted replica, then the old primary. */
  rolling_restart: z.strictObject({ pendingOnly: z.boolean().optional() }),
  reinitialize: z.strictObject({ member: ZMemberName, force: z.boolean().optional() }),
  reload: z.strictObject({ members: z.array(ZMemberName).min(1).max(100).optional() }),
  pause: z.strictObject({}),
  resume: z.strictObject({}),
  /** A JSON merge patch of /config (PostgreSQL parameters under postgresql.parameters, HA settings). */
  config_patch: z.strictObject({ patch: ZConfigPatch.refine((p) => Object.keys(p).length > 0, 'the patch is empty') }),
} satisfies Record<TOperationType, z.ZodType>;
export type TOperationParams<K extends TOperationType> = z.output<(typeof ZOperationParams)[K]>;

const requestBase = {
  /** The cluster's scope. */
  cluster: z.string().min(1).max(256),
  /** Why: required, shown wherever the operation appears. */
  reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(2000),
  /** A ticket reference, e.g. CHG-1234. */
  ticket: z.string().trim().max(200).optional(),
};

function requestOf<K extends TOperationType>(type: K) {
  return z.object({ ...requestBase, type: z.literal(type), params: ZOperationParams[type] });
}

export const ZOperationRequest = z.discriminatedUnion('type', [
  requestOf('switchover'),
  requestOf('failover'),
  requestOf('restart'),
  requestOf('rolling_restart'),
  requestOf('reinitialize'),
  requestOf('reload'),
  requestOf('pause'),
  requestOf('resume'),
  requestOf('config_patch'),
]);
export type TOperationRequest = z.output<typeof ZOperationRequest>;
export type TOperationRequestInput = z.input<typeof ZOperationRequest>;

/** Request minus the routing fields: what is stored and hashed. */
export type TStoredRequest = Pick<TOperationRequest, 'type' | 'params'>;
