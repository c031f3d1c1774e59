/** A cluster's members with their latest snapshots and whether their agent is connected now. */
import { ZSnapshot } from '@keel/protocol';
import type { TDb } from '../db.ts';
import { clusterStateOf, type TClusterState } from '../lib/cluster-state.ts';
import type { TPlanMember } from '../lib/operation-plan.ts';
import type { TAgentPresence } from './list-clusters.ts';

export interface TLoadedCluster {
  members: (TPlanMember & { id: string })[];
  state: TClusterState;
}

export async function loadClusterMembers(db: TDb, clusterId: string, presence: TAgentPresence): Promise<TLoadedCluster> {
  const rows = await db.member.findMany({ where: { clusterId }, orderBy: { name: 'asc' }, select: { id: true, name: true, snapshot: true, lastSeenAt: true } });
  const members = rows.map((r) => {
    const parsed = r.snapshot ? ZSnapshot.safeParse(r.snapshot) : null;
    return { id: r.id, name: r.name, snapshot: parsed?.success ? parsed.data : null, lastSeenAt: r.lastSeenAt, connected: presence.isConnected(r.id) };
  });
  return { members, state: clusterStateOf(members) };
}
