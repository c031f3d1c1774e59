/**
 * What a request would do, before it is submitted (the request form shows it; request-operation
 * stores the same computation): eligible candidates, patch diff and restart order, timing effect,
 * whether it would be refused, how many approvals the cluster's policy asks for.
 */
import type { TDb } from '../db.ts';
import type { TActor } from '../lib/actor.ts';
import { planOperation, type TPreview } from '../lib/operation-plan.ts';
import { ZOperationRequest, type TOperationRequest, type TOperationRequestInput } from '../lib/operation-types.ts';
import { requiredApprovals, ZPolicyRules } from '../lib/policy.ts';
import { authorizeCluster, type TClusterAccess } from './authorize.ts';
import type { TAgentPresence } from './list-clusters.ts';
import { loadClusterMembers } from './load-cluster-members.ts';

export interface TOperationPreview extends Omit<TPreview, 'steps'> {
  steps: { member: string; label: string }[];
  requiredApprovals: number;
  /** Members whose agent is connected now (commands can only go to these). */
  connected: string[];
}

export async function previewOperation(
  deps: { db: TDb; presence: TAgentPresence },
  actor: TActor,
  input: TOperationRequestInput,
): Promise<TOperationPreview & { request: TOperationRequest; access: TClusterAccess }> {
  const request = ZOperationRequest.parse(input);
  const access = await authorizeCluster(deps.db, actor, request.cluster, 'operator');
  const loaded = await loadClusterMembers(deps.db, access.clusterId, deps.presence);
  const preview = planOperation({ type: request.type, params: request.params } as Pick<TOperationRequest, 'type' | 'params'>, loaded.state, loaded.members, Date.now());
  const policy = await deps.db.clusterPolicy.findUnique({ where: { clusterId: access.clusterId }, select: { rules: true } });
  const rules = policy ? ZPolicyRules.parse(policy.rules) : null;
  return {
    ...preview,
    steps: preview.steps.map(({ member, label }) => ({ member, label })),
    requiredApprovals: requiredApprovals(rules, request.type, preview.risk),
    connected: loaded.members.filter((m) => m.connected).map((m) => m.name),
    request,
    access,
  };
}
