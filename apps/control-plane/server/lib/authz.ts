/**
 * Roles per cluster, pure. A user's global role (users.role) applies to every cluster; a grant
 * (role_grants) raises it on one cluster. An API token caps its owner's role. Admin powers that are
 * not about one cluster (users, tokens, policies, audit) need the global admin role.
 */
import { roleRank, type TRole } from './roles.ts';
import type { TActor } from './actor.ts';

function lower(a: TRole, b: TRole): TRole {
  return roleRank(a) <= roleRank(b) ? a : b;
}

function higher(a: TRole, b: TRole): TRole {
  return roleRank(a) >= roleRank(b) ? a : b;
}

/** The actor's role on a cluster, given their grant there (null: none). */
export function clusterRole(actor: Pick<TActor, 'role' | 'token'>, grant: TRole | null): TRole {
  const user = grant ? higher(actor.role, grant) : actor.role;
  return actor.token ? lower(user, actor.token.role) : user;
}

/** The actor's role for things that are not about one cluster. */
export function globalRole(actor: Pick<TActor, 'role' | 'token'>): TRole {
  return actor.token ? lower(actor.role, actor.token.role) : actor.role;
}

/** The highest role the user holds anywhere (what an API token may be scoped up to). */
export function highestRole(role: TRole, grants: readonly TRole[]): TRole {
  return grants.reduce(higher, role);
}
