/** Picking the members a command acts on (patronictl's get_all_members / get_members). */

import type { ClusterSnapshot, MemberRecord } from '@keel/dcs';
import type { Ctl, Target } from './context.ts';
import { failed, usageError } from './errors.ts';
import type { Asker } from './interact.ts';
import { clusterView } from './render/cluster.ts';
import { renderMembers } from './render/members.ts';

export const ROLES = ['leader', 'primary', 'standby-leader', 'replica', 'standby', 'any', 'master'] as const;
export type Role = (typeof ROLES)[number];

export function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw usageError(`--role ${value}: expected one of ${ROLES.join(', ')}`);
  return value as Role;
}

export function target(m: MemberRecord): Target {
  return { name: m.name, apiUrl: m.value.api_url };
}

/** The members that have `role`: the leader for leader/primary/standby-leader, the others for replica/standby. */
export function membersWithRole(snap: ClusterSnapshot, role: Role): MemberRecord[] {
  const leaderName = snap.leader?.name || null;
  if (role === 'leader' || role === 'primary' || role === 'master' || role === 'standby-leader') {
    const leader = snap.members.find((m) => m.name === leaderName);
    if (!leader) return [];
    const standby = leader.value.role === 'standby_leader';
    if (role === 'leader' || (role === 'standby-leader' ? standby : !standby)) return [leader];
    return [];
  }
  if (role === 'any') return [...snap.members];
  return snap.members.filter((m) => m.name !== leaderName);
}

/** The leader's member first, then the others: where to send a request that any member can serve. */
export function leaderFirst(snap: ClusterSnapshot): MemberRecord[] {
  const leaderName = snap.leader?.name;
  const leader = snap.members.filter((m) => m.name === leaderName);
  return [...leader, ...snap.members.filter((m) => m.name !== leaderName)].filter((m) => m.value.api_url);
}

export interface SelectOptions {
  names: readonly string[];
  role: Role;
  /** "restart", "reload", "reinitialize": for messages. */
  action: string;
  force: boolean;
  asker: Asker;
  /** With no names given: act on every member with the role (default), or ask which one (reinit). */
  allByDefault?: boolean;
}

/**
 * Prints the cluster table (so the user sees what they act on), checks the names against the members with
 * the role, and asks which member when none was named and allByDefault is off.
 */
export async function selectMembers(ctl: Ctl, snap: ClusterSnapshot, scope: string, o: SelectOptions): Promise<MemberRecord[]> {
  const withRole = membersWithRole(snap, o.role);
  const candidates = new Set(withRole.map((m) => m.name));
  if (o.names.length === 0 && candidates.size === 0) throw failed(`${scope} cluster doesn't have any members${o.role === 'any' ? '' : ` with the role ${o.role}`}`);
  ctl.io.out(renderMembers(clusterView(snap, scope)));
  let names = [...new Set(o.names)];
  for (const n of names) {
    if (!snap.members.some((m) => m.name === n)) throw failed(`${n} is not a member of cluster ${scope}`);
  }
  if (names.length > 0) {
    names = names.filter((n) => candidates.has(n));
    if (names.length === 0) throw failed(`No ${o.role} among provided members`);
  } else if (o.allByDefault !== false) {
    names = [...candidates];
  } else {
    if (o.force) throw usageError(`name the member to ${o.action}`);
    const answer = await o.asker.ask(`Which member do you want to ${o.action} [${[...candidates].join(', ')}]?`);
    if (!candidates.has(answer)) throw failed(`${answer || '(none)'} is not a member of cluster ${scope}${o.role === 'any' ? '' : ` with the role ${o.role}`}`);
    names = [answer];
  }
  return withRole.filter((m) => names.includes(m.name));
}

/**
 * patronictl lets the cluster name lead the member names (`restart bench node1`). Keel takes the scope
 * from the configuration, so a first argument that equals the configured scope, or any first argument when
 * no scope is configured, names the cluster.
 */
export function splitClusterArg(args: readonly string[], configuredScope: string | null): { cluster?: string; rest: string[] } {
  const [first, ...rest] = args;
  if (first !== undefined && (configuredScope === null || first === configuredScope)) return { cluster: first, rest };
  return { rest: [...args] };
}
