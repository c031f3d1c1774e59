/**
 * Incidents, newest first, one page at a time (keyset pagination on id: no OFFSET, no count, so a
 * page costs the same with months of history). Filters: cluster, status.
 */
import { z } from 'zod';
import type { TAppDeps } from '../context.ts';
import type { TActor } from '../lib/actor.ts';
import { QUIET_MS } from '../lib/incident-grouping.ts';
import { authorizeCluster } from './authorize.ts';

export const INCIDENT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;

export const ZListIncidents = z.object({
  cluster: z.string().min(1).optional(),
  status: z.array(z.enum(INCIDENT_STATUSES)).optional(),
  /** The last id of the previous page (react-query's infinite query cursor). */
  cursor: z.string().regex(/^\d+$/).nullish(),
  limit: z.number().int().min(1).max(100).default(25),
});

export interface TIncidentListItem {
  id: string;
  cluster: string;
  title: string;
  severity: string;
  status: string;
  startedAt: string;
  lastEventAt: string;
  /** null while events keep arriving (within the quiet period). */
  endedAt: string | null;
  summary: string;
  members: string[];
  eventCount: number;
  acknowledgedBy: string | null;
}

export const INCIDENT_SELECT = {
  id: true,
  title: true,
  severity: true,
  status: true,
  startedAt: true,
  lastEventAt: true,
  lastReceivedAt: true,
  summary: true,
  members: true,
  eventCount: true,
  acknowledgedBy: true,
  acknowledgedAt: true,
  resolvedBy: true,
  resolvedAt: true,
  clusterId: true,
  cluster: { select: { scope: true } },
} as const;

type TRow = {
  id: bigint;
  title: string;
  severity: string;
  status: string;
  startedAt: Date;
  lastEventAt: Date;
  lastReceivedAt: Date;
  summary: string;
  members: string[];
  eventCount: number;
  acknowledgedBy: string | null;
  cluster: { scope: string };
};

/** Ongoing: not resolved and an event arrived within the quiet period (server clock). */
export function incidentEnded(r: Pick<TRow, 'status' | 'lastEventAt' | 'lastReceivedAt'>, now: number, quietMs = QUIET_MS): string | null {
  const ongoing = r.status !== 'resolved' && now - r.lastReceivedAt.getTime() <= quietMs;
  return ongoing ? null : r.lastEventAt.toISOString();
}

export function incidentListItem(r: TRow, now: number, quietMs = QUIET_MS): TIncidentListItem {
  return {
    id: String(r.id),
    cluster: r.cluster.scope,
    title: r.title,
    severity: r.severity,
    status: r.status,
    startedAt: r.startedAt.toISOString(),
    lastEventAt: r.lastEventAt.toISOString(),
    endedAt: incidentEnded(r, now, quietMs),
    summary: r.summary,
    members: r.members,
    eventCount: r.eventCount,
    acknowledgedBy: r.acknowledgedBy,
  };
}

export async function listIncidents(deps: Pick<TAppDeps, 'db' | 'env'>, actor: TActor, input: z.input<typeof ZListIncidents>): Promise<{ items: TIncidentListItem[]; next: string | null }> {
  const q = ZListIncidents.parse(input);
  const clusterId = q.cluster ? (await authorizeCluster(deps.db, actor, q.cluster, 'viewer')).clusterId : undefined;
  const rows = await deps.db.incident.findMany({
    where: { ...(clusterId ? { clusterId } : {}), ...(q.status ? { status: { in: q.status } } : {}), ...(q.cursor ? { id: { lt: BigInt(q.cursor) } } : {}) },
    orderBy: { id: 'desc' },
    take: q.limit + 1,
    select: INCIDENT_SELECT,
  });
  const now = Date.now();
  const page = rows.slice(0, q.limit).map((r) => incidentListItem(r, now, deps.env.KEEL_CP_INCIDENT_QUIET_SECONDS * 1000));
  return { items: page, next: rows.length > q.limit ? page.at(-1)!.id : null };
}
