/** Operations, newest first, on the clusters the actor can see (filters: cluster, status). */
import { z } from 'zod';
import type { TAppDeps } from '../context.ts';
import type { TActor } from '../lib/actor.ts';
import { OPERATION_STATUSES } from '../lib/operation-types.ts';
import { authorizeCluster } from './authorize.ts';
import { OPERATION_SELECT, operationView, type TOperationView } from './get-operation.ts';
import { loadClusterMembers } from './load-cluster-members.ts';

export const ZListOperations = z.object({
  cluster: z.string().min(1).optional(),
  status: z.array(z.enum(OPERATION_STATUSES)).optional(),
  limit: z.number().int().min(1).max(200).default(50),
});

export async function listOperations(deps: Pick<TAppDeps, 'db' | 'presence'>, actor: TActor, input: z.input<typeof ZListOperations>): Promise<TOperationView[]> {
  const q = ZListOperations.parse(input);
  const clusterId = q.cluster ? (await authorizeCluster(deps.db, actor, q.cluster, 'viewer')).clusterId : undefined;
  const rows = await deps.db.operation.findMany({
    where: { ...(clusterId ? { clusterId } : {}), ...(q.status ? { status: { in: q.status } } : {}) },
    orderBy: { createdAt: 'desc' },
    take: q.limit,
    select: OPERATION_SELECT,
  });
  const states = new Map<string, Awaited<ReturnType<typeof loadClusterMembers>>['state']>();
  const out: TOperationView[] = [];
  for (const r of rows) {
    if (!states.has(r.clusterId)) states.set(r.clusterId, (await loadClusterMembers(deps.db, r.clusterId, deps.presence)).state);
    out.push(operationView(r, states.get(r.clusterId)!));
  }
  return out;
}
