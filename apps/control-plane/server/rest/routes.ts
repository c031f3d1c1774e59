/**
 * The REST API for automation (/api/v1), as data: each route names its method, path, the zod schemas
 * of its path, query and body (the same schemas tRPC uses), the role it is about, and a one-line
 * handler over the same service as the tRPC procedure. The OpenAPI document (openapi.ts) is generated
 * from this table.
 */
import { z } from 'zod';
import type { TAppDeps } from '../context.ts';
import type { TActor } from '../lib/actor.ts';
import { ZAuditAction } from '../lib/audit-actions.ts';
import { OPERATION_STATUSES, ZOperationRequest } from '../lib/operation-types.ts';
import { ZPolicyRules } from '../lib/policy.ts';
import { approveOperation, ZApproveOperation } from '../services/approve-operation.ts';
import { authorizeCluster, clusterRoles } from '../services/authorize.ts';
import { closeOperation } from '../services/close-operation.ts';
import { getCluster } from '../services/get-cluster.ts';
import { getOperation } from '../services/get-operation.ts';
import { listAudit } from '../services/list-audit.ts';
import { listClusters } from '../services/list-clusters.ts';
import { listOperations } from '../services/list-operations.ts';
import { listApiTokens, revokeApiToken } from '../services/manage-api-tokens.ts';
import { setClusterPolicy } from '../services/manage-users.ts';
import { previewOperation } from '../services/preview-operation.ts';
import { requestOperation } from '../services/request-operation.ts';
import { reviewOperation } from '../services/review-operation.ts';
import { verifyAudit } from '../services/verify-audit.ts';
import { authorizeGlobal } from '../services/authorize.ts';
import { AppError } from '../lib/app-error.ts';

export interface TRouteInput<P, Q, B> {
  path: P;
  query: Q;
  body: B;
}

export interface TRoute<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI style: /operations/{id} */
  path: string;
  summary: string;
  params?: P;
  query?: Q;
  body?: B;
  /** 201 for creations. */
  status?: number;
  /** JSON lines instead of JSON. */
  stream?: boolean;
  handler(deps: TAppDeps, actor: TActor, input: TRouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown> | AsyncIterable<string>;
}

function route<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(r: TRoute<P, Q, B>): TRoute {
  return r as unknown as TRoute;
}

const ZId = z.object({ id: z.string().min(1).meta({ description: 'the operation id' }) });
const ZScope = z.object({ scope: z.string().min(1).meta({ description: 'the cluster (its scope)' }) });
const ZReason = z.object({ reason: z.string().trim().min(3).max(2000) });
const ZNote = z.object({ note: z.string().trim().min(3).max(4000) });
const ZApproveBody = ZApproveOperation.omit({ id: true });
const csv = <T extends z.ZodType<unknown, string>>(item: T) => z.string().transform((s) => s.split(',').filter(Boolean)).pipe(z.array(item));

const viewOptions = (d: TAppDeps) => ({ now: new Date(), staleAfterSeconds: d.env.KEEL_CP_STALE_AFTER_SECONDS, presence: d.presence });

export const REST_ROUTES: TRoute[] = [
  route({ method: 'get', path: '/me', summary: 'The caller: user, global role, roles per cluster, channel', handler: async (d, a) => ({ id: a.userId, email: a.email, role: a.role, tokenRole: a.token?.role ?? null, clusterRoles: await clusterRoles(d.db, a) }) }),
  route({ method: 'get', path: '/clusters', summary: 'Every cluster with its health and members', handler: (d) => listClusters(d.db, viewOptions(d)) }),
  route({
    method: 'get', path: '/clusters/{scope}', summary: 'One cluster: members, health, recent events, history', params: ZScope,
    handler: async (d, a, i) => {
      await authorizeCluster(d.db, a, i.path.scope, 'viewer');
      const c = await getCluster(d.db, i.path.scope, viewOptions(d));
      if (!c) throw new AppError('not_found', `There is no cluster "${i.path.scope}".`);
      return c;
    },
  }),
  route({ method: 'put', path: '/clusters/{scope}/policy', summary: 'Set the approval policy of a cluster (admin)', params: ZScope, body: ZPolicyRules, handler: (d, a, i) => setClusterPolicy(d, a, { cluster: i.path.scope, rules: i.body }) }),
  route({
    method: 'post', path: '/operations/preview', summary: 'What a request would do (candidates, patch diff, restart order, timing, refusal, approvals needed); nothing is stored', body: ZOperationRequest,
    handler: async (d, a, i) => {
      const { request: _r, access: _a, ...p } = await previewOperation(d, a, i.body);
      return p;
    },
  }),
  route({ method: 'post', path: '/operations', summary: 'Request an operation (operator); starts at once when the policy needs no approval', body: ZOperationRequest, status: 201, handler: (d, a, i) => requestOperation(d, a, i.body) }),
  route({ method: 'post', path: '/operations/break-glass', summary: 'Run an operation without approval (admin; flagged for review)', body: ZOperationRequest, status: 201, handler: (d, a, i) => requestOperation(d, a, i.body, { breakGlass: true }) }),
  route({
    method: 'get', path: '/operations', summary: 'Operations, newest first',
    query: z.object({ cluster: z.string().min(1).optional(), status: csv(z.enum(OPERATION_STATUSES)).optional(), limit: z.coerce.number().int().min(1).max(200).optional() }),
    handler: (d, a, i) => listOperations(d, a, i.query),
  }),
  route({ method: 'get', path: '/operations/{id}', summary: 'One operation: request, approvals (and why one no longer counts), progress, outcome', params: ZId, handler: (d, a, i) => getOperation(d, a, i.path.id) }),
  route({ method: 'post', path: '/operations/{id}/approve', summary: 'Approve (approver; not the requester); starts it when enough approvals are valid', params: ZId, body: ZApproveBody, handler: (d, a, i) => approveOperation(d, a, { ...i.body, id: i.path.id }) }),
  route({ method: 'post', path: '/operations/{id}/reject', summary: 'Reject with a reason (approver)', params: ZId, body: ZReason, handler: (d, a, i) => closeOperation(d, a, 'reject', { id: i.path.id, reason: i.body.reason }) }),
  route({ method: 'post', path: '/operations/{id}/cancel', summary: 'Cancel with a reason (the requester or an admin)', params: ZId, body: ZReason, handler: (d, a, i) => closeOperation(d, a, 'cancel', { id: i.path.id, reason: i.body.reason }) }),
  route({ method: 'post', path: '/operations/{id}/review', summary: 'After-action review of a break-glass operation (another approver)', params: ZId, body: ZNote, handler: (d, a, i) => reviewOperation(d, a, { id: i.path.id, note: i.body.note }) }),
  route({ method: 'get', path: '/tokens', summary: "The caller's API tokens (no secrets)", handler: (d, a) => listApiTokens(d.db, a) }),
  route({ method: 'delete', path: '/tokens/{id}', summary: 'Revoke an API token (its owner or an admin)', params: z.object({ id: z.uuid() }), handler: (d, a, i) => revokeApiToken(d.db, a, i.path.id) }),
  route({
    method: 'get', path: '/audit', summary: 'The audit log, newest first (admin)',
    query: z.object({
      cluster: z.string().min(1).optional(), actor: z.string().min(1).optional(), actions: csv(ZAuditAction).optional(), operationId: z.string().optional(),
      from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional(), before: z.string().regex(/^\d+$/).optional(), limit: z.coerce.number().int().min(1).max(500).optional(),
    }),
    handler: (d, a, i) => listAudit(d.db, a, i.query),
  }),
  route({
    method: 'get', path: '/audit/export', summary: 'The audit log as JSON lines, oldest first (admin)', stream: true,
    query: z.object({ cluster: z.string().min(1).optional(), actor: z.string().min(1).optional(), from: z.iso.datetime({ offset: true }).optional(), to: z.iso.datetime({ offset: true }).optional() }),
    handler: async (d, a, i) => (await import('../services/list-audit.ts')).exportAudit(d.db, a, i.query),
  }),
  route({ method: 'get', path: '/audit/verify', summary: 'Check the hash chain and the signed digests; names the first broken entry (admin)', handler: async (d, a) => (authorizeGlobal(a, 'admin'), verifyAudit(d.db, d.auditKey)) }),
];
