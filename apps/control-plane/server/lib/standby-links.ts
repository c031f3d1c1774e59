/**
 * Standby clusters and the sites they follow, from what the agents report: a standby leader's
 * `follows` ("host:port", standby_cluster) matched against the members' `connectAddress`. Pure.
 */
import type { TMemberView } from './member-view.ts';

export interface TStandbyLink {
  /** The other site's "host:port" this cluster's standby leader replicates from. */
  follows: string;
  /** The standby leader. */
  leader: string;
  /** The cluster (scope) and member that address belongs to; null: not a cluster this control plane knows. */
  cluster: string | null;
  member: string | null;
}

export interface TClusterLinks {
  /** This cluster is a standby cluster following another site (null: it is not, or no fresh report says so). */
  standbyOf: TStandbyLink | null;
  /** The standby clusters (scopes) following a member of this cluster, by name. */
  followedBy: string[];
}

interface TLinkInput {
  scope: string;
  members: readonly Pick<TMemberView, 'name' | 'role' | 'follows' | 'connectAddress' | 'stale'>[];
}

/** The links of every cluster, by scope (every scope in `clusters` has an entry). */
export function standbyLinks(clusters: readonly TLinkInput[]): Map<string, TClusterLinks> {
  const owners = new Map<string, { cluster: string; member: string }>();
  for (const c of clusters) for (const m of c.members) if (m.connectAddress) owners.set(m.connectAddress, { cluster: c.scope, member: m.name });
  const out = new Map<string, TClusterLinks>(clusters.map((c) => [c.scope, { standbyOf: null, followedBy: [] }]));
  for (const c of clusters) {
    const leader = c.members.find((m) => m.role === 'standby_leader' && m.follows && !m.stale);
    if (!leader?.follows) continue;
    const owner = owners.get(leader.follows);
    const other = owner && owner.cluster !== c.scope ? owner : null;
    out.get(c.scope)!.standbyOf = { follows: leader.follows, leader: leader.name, cluster: other?.cluster ?? null, member: other?.member ?? null };
    if (other) out.get(other.cluster)!.followedBy.push(c.scope);
  }
  for (const links of out.values()) links.followedBy.sort();
  return out;
}
