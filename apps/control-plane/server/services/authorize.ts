/**
 * THE authorisation check: every service that reads or acts on a cluster, or manages users, tokens
 * and policies, calls one of these with the actor (tRPC and REST alike), so the rule lives here only.
 */
import type { TDb } from '../db.ts';
import type { TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import { clusterRole, globalRole } from '../lib/authz.ts';
import { hasRole, ZRole, type TRole } from '../lib/roles.ts';

export interface TClusterAccess {
  clusterId: string;
  scope: string;
  role: TRole;
}

function refuse(required: TRole, have: TRole, where: string): never {
  throw new AppError('forbidden', `This needs the ${required} role ${where}; you are ${have} there.`);
}

export async function authorizeCluster(db: TDb, actor: TActor, scope: string, required: TRole): Promise<TClusterAccess> {
  const cluster = await db.cluster.findUnique({ where: { scope }, select: { id: true, scope: true, grants: { where: { userId: actor.userId }, select: { role: true } } } });
  if (!cluster) throw new AppError('not_found', `There is no cluster "${scope}".`);
  const grant = cluster.grants[0]?.role;
  const role = clusterRole(actor, grant ? ZRole.parse(grant) : null);
  if (!hasRole(role, required)) refuse(required, role, `on cluster "${scope}"`);
  return { clusterId: cluster.id, scope: cluster.scope, role };
}

/** The same check when the cluster is known by id (an operation's). */
export async function authorizeClusterId(db: TDb, actor: TActor, clusterId: string, required: TRole): Promise<TClusterAccess> {
  const c = await db.cluster.findUnique({ where: { id: clusterId }, select: { scope: true } });
  if (!c) throw new AppError('not_found', 'There is no such cluster.');
  return authorizeCluster(db, actor, c.scope, required);
}

/** Users, tokens, policies, the audit log: the global role. */
export function authorizeGlobal(actor: TActor, required: TRole): TRole {
  const role = globalRole(actor);
  if (!hasRole(role, required)) refuse(required, role, 'for this');
  return role;
}

/** The user's role on every cluster where it differs from their global role (for the UI). */
export async function clusterRoles(db: TDb, actor: TActor): Promise<Record<string, TRole>> {
  const grants = await db.roleGrant.findMany({ where: { userId: actor.userId }, select: { role: true, cluster: { select: { scope: true } } } });
  return Object.fromEntries(grants.map((g) => [g.cluster.scope, clusterRole(actor, ZRole.parse(g.role))]));
}
