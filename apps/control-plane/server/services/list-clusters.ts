import type { TDb } from '../db.ts';
import { summarizeCluster, type TClusterHealth } from '../lib/cluster-health.ts';
import { memberView, type TMemberView } from '../lib/member-view.ts';
import { standbyLinks, type TClusterLinks } from '../lib/standby-links.ts';

/** Which agents have their WebSocket open (the ingest knows). */
export interface TAgentPresence {
  isConnected(memberId: string): boolean;
  /** Close the live connections that use a revoked token; returns how many. */
  disconnectToken?(tokenId: string, reason: string): number;
}

export interface TViewOptions {
  now: Date;
  staleAfterSeconds: number;
  presence: TAgentPresence;
}

export const MEMBER_SELECT = { id: true, name: true, snapshot: true, lastSeenAt: true, lastSeq: true, agentVersion: true } as const;

export interface TClusterListItem {
  scope: string;
  name: string;
  health: TClusterHealth;
  members: TMemberView[];
  /** Standby cluster links: the site this cluster follows, the standby clusters that follow it. */
  links: TClusterLinks;
}

export async function listClusters(db: TDb, opts: TViewOptions): Promise<TClusterListItem[]> {
  const clusters = await db.cluster.findMany({
    orderBy: { scope: 'asc' },
    select: { scope: true, name: true, members: { select: MEMBER_SELECT, orderBy: { name: 'asc' } } },
  });
  const views = clusters.map((c) => ({
    scope: c.scope,
    name: c.name,
    members: c.members.map((m) => memberView(m, { now: opts.now, staleAfterSeconds: opts.staleAfterSeconds, connected: opts.presence.isConnected(m.id) })),
  }));
  const links = standbyLinks(views);
  return views.map((c) => ({ ...c, health: summarizeCluster(c.members), links: links.get(c.scope)! }));
}
