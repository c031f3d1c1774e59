import type { TDb } from '../db.ts';
import { resolveRuleSettings } from '../lib/alerts/rules.ts';
import { summarizeCluster, type TClusterHealth } from '../lib/cluster-health.ts';
import { memberView, type TMemberView } from '../lib/member-view.ts';
import { standbyLinks, type TClusterLinks } from '../lib/standby-links.ts';
import { MEMBER_SELECT, type TViewOptions } from './list-clusters.ts';

/** JSON as stored (not `unknown`: tRPC's inferred outputs would make an `unknown` field optional). */
export type TJsonValue = string | number | boolean | null | TJsonValue[] | { [key: string]: TJsonValue };

export interface TEventView {
  id: string;
  cluster: string;
  member: string;
  seq: number;
  type: string;
  at: string;
  receivedAt: string;
  summary: string;
  details: TJsonValue;
}

export interface TClusterDetail {
  scope: string;
  name: string;
  createdAt: string;
  health: TClusterHealth;
  members: TMemberView[];
  /** Standby cluster links: the site this cluster follows, the standby clusters that follow it. */
  links: TClusterLinks;
  /** Newest first. */
  recentEvents: TEventView[];
  /** Failovers, switchovers and role changes, newest first: the cluster's timeline history. */
  history: TEventView[];
  staleAfterSeconds: number;
  /** The no_recent_backup rule's maximum age: the page highlights an older last backup. */
  backupMaxAgeHours: number;
}

export const EVENT_SELECT = {
  id: true,
  seq: true,
  type: true,
  at: true,
  receivedAt: true,
  summary: true,
  details: true,
  member: { select: { name: true } },
  cluster: { select: { scope: true } },
} as const;

export function eventView(e: {
  id: bigint;
  seq: bigint;
  type: string;
  at: Date;
  receivedAt: Date;
  summary: string;
  details: unknown;
  member: { name: string };
  cluster: { scope: string };
}): TEventView {
  return {
    id: String(e.id),
    cluster: e.cluster.scope,
    member: e.member.name,
    seq: Number(e.seq),
    type: e.type,
    at: e.at.toISOString(),
    receivedAt: e.receivedAt.toISOString(),
    summary: e.summary,
    details: e.details as TJsonValue,
  };
}

export const HISTORY_EVENT_TYPES = ['failover', 'switchover', 'role_change'];

export async function getCluster(db: TDb, scope: string, opts: TViewOptions & { events?: number }): Promise<TClusterDetail | null> {
  const c = await db.cluster.findUnique({
    where: { scope },
    select: { id: true, scope: true, name: true, createdAt: true, members: { select: MEMBER_SELECT, orderBy: { name: 'asc' } } },
  });
  if (!c) return null;
  const [recent, history, backupRule] = await Promise.all([
    db.event.findMany({ where: { clusterId: c.id }, orderBy: [{ at: 'desc' }, { id: 'desc' }], take: opts.events ?? 50, select: EVENT_SELECT }),
    db.event.findMany({ where: { clusterId: c.id, type: { in: HISTORY_EVENT_TYPES } }, orderBy: [{ at: 'desc' }, { id: 'desc' }], take: 100, select: EVENT_SELECT }),
    db.alertRuleSetting.findUnique({ where: { rule: 'no_recent_backup' }, select: { rule: true, enabled: true, params: true } }),
  ]);
  const view = (m: { id: string; name: string; snapshot: unknown; lastSeenAt: Date | null; lastSeq: bigint; agentVersion: string | null }) =>
    memberView(m, { now: opts.now, staleAfterSeconds: opts.staleAfterSeconds, connected: opts.presence.isConnected(m.id) });
  const members = c.members.map(view);
  // the other clusters' members, to match a standby leader's upstream with the site it follows
  const others = await db.member.findMany({ where: { clusterId: { not: c.id } }, select: { ...MEMBER_SELECT, cluster: { select: { scope: true } } } });
  const byScope = new Map<string, TMemberView[]>();
  for (const m of others) byScope.set(m.cluster.scope, [...(byScope.get(m.cluster.scope) ?? []), view(m)]);
  const links = standbyLinks([{ scope: c.scope, members }, ...[...byScope].map(([scope, ms]) => ({ scope, members: ms }))]).get(c.scope)!;
  return {
    scope: c.scope,
    name: c.name,
    createdAt: c.createdAt.toISOString(),
    health: summarizeCluster(members),
    members,
    links,
    recentEvents: recent.map(eventView),
    history: history.map(eventView),
    staleAfterSeconds: opts.staleAfterSeconds,
    backupMaxAgeHours: resolveRuleSettings(backupRule ? [backupRule] : []).no_recent_backup.params.maxAgeHours,
  };
}
