/**
 * One incident: its facts, its timeline (its agent events, and the control plane's own entries of the
 * same cluster and window read from the audit log, not copied), its notes, the replay data (each
 * member's stored snapshots over the window) and the postmortem draft.
 *
 * Every read is bounded and indexed: events by (incident_id, at), audit entries by (cluster, at) and
 * (action, at), samples by (member_id, at); nothing scans the whole history.
 */
import type { TAppDeps } from '../context.ts';
import type { TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import { MAX_SPAN_MS } from '../lib/incident-grouping.ts';
import { postmortemMarkdown, type TTimelineEntry } from '../lib/postmortem.ts';
import { hasRole } from '../lib/roles.ts';
import { globalRole } from '../lib/authz.ts';
import { authorizeClusterId } from './authorize.ts';
import { INCIDENT_SELECT, incidentListItem, type TIncidentListItem } from './list-incidents.ts';

const MAX_EVENTS = 1000;
const MAX_AUDIT = 200;
const MAX_SAMPLES = 20_000;
/** Control-plane entries this long before the first and after the last event are part of the story. */
const AUDIT_MARGIN_MS = 5 * 60_000;
/** The replay starts this long before the incident, to show the cluster as it was. */
const REPLAY_BEFORE_MS = 60_000;
const REPLAY_AFTER_MS = 30_000;

export interface TIncidentTimelineEntry extends TTimelineEntry {
  id: string;
  /** The agent's sequence number (agent events). */
  seq: string | null;
  details: unknown;
}

export interface TReplaySample {
  /** epoch ms, agent time */
  at: number;
  role: string;
  timeline: number | null;
  lsn: number | null;
  lagBytes: number | null;
}

export interface TReplayData {
  from: string;
  to: string;
  /** A member with no snapshot for this long is shown as unknown (KEEL_CP_STALE_AFTER_SECONDS). */
  staleAfterMs: number;
  members: Array<{ name: string; samples: TReplaySample[] }>;
  /** Rows were cut at the limit (the replay ends early). */
  truncated: boolean;
}

export interface TIncidentDetail extends TIncidentListItem {
  acknowledgedAt: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  notes: Array<{ id: string; at: string; author: string; text: string }>;
  timeline: TIncidentTimelineEntry[];
  replay: TReplayData;
  /** May the caller acknowledge, annotate and resolve it (operator or above on its cluster)? */
  canManage: boolean;
}

const SIGN_IN_ACTIONS = ['auth.sign_in', 'auth.sign_in_failed', 'auth.sign_out'];
const num = (x: bigint | number | null): number | null => (x === null ? null : Number(x));

export async function getIncident(deps: Pick<TAppDeps, 'db' | 'env'>, actor: TActor, id: string): Promise<TIncidentDetail> {
  if (!/^\d{1,18}$/.test(id)) throw new AppError('not_found', `There is no incident "${id}".`);
  const db = deps.db;
  const row = await db.incident.findUnique({ where: { id: BigInt(id) }, select: INCIDENT_SELECT });
  if (!row) throw new AppError('not_found', `There is no incident "${id}".`);
  const access = await authorizeClusterId(db, actor, row.clusterId, 'viewer');
  const now = Date.now();
  const base = incidentListItem(row, now, deps.env.KEEL_CP_INCIDENT_QUIET_SECONDS * 1000);
  const start = row.startedAt.getTime();
  const end = Math.min(row.lastEventAt.getTime(), start + MAX_SPAN_MS);

  const [events, notes, audit] = await Promise.all([
    db.event.findMany({
      where: { incidentId: row.id },
      orderBy: [{ at: 'asc' }, { receivedAt: 'asc' }, { seq: 'asc' }],
      take: MAX_EVENTS,
      select: { id: true, seq: true, type: true, at: true, receivedAt: true, summary: true, details: true, cause: true, operationId: true, member: { select: { name: true } } },
    }),
    db.incidentNote.findMany({ where: { incidentId: row.id }, orderBy: { at: 'asc' }, take: 500 }),
    db.auditLog.findMany({
      where: {
        at: { gte: new Date(start - AUDIT_MARGIN_MS), lte: new Date(end + AUDIT_MARGIN_MS) },
        // sign-ins are in the audit log, which only admins read
        OR: [{ cluster: access.scope }, ...(hasRole(globalRole(actor), 'admin') ? [{ action: { in: SIGN_IN_ACTIONS } }] : [])],
      },
      orderBy: { at: 'asc' },
      take: MAX_AUDIT,
      select: { id: true, at: true, actor: true, action: true, target: true, outcome: true },
    }),
  ]);

  const timeline: TIncidentTimelineEntry[] = [
    ...events.map((e) => {
      const cause = (e.cause ?? {}) as { decision?: string };
      return {
        id: `e${e.id}`,
        seq: String(e.seq),
        at: e.at.toISOString(),
        receivedAt: e.receivedAt.toISOString(),
        source: 'agent' as const,
        who: e.member.name,
        type: e.type,
        summary: e.summary,
        decision: typeof cause.decision === 'string' ? cause.decision : null,
        operationId: e.operationId,
        details: e.details,
      };
    }),
    ...audit.map((a) => {
      const op = /^operation:(.+)$/.exec(a.target)?.[1] ?? null;
      return {
        id: `a${a.id}`,
        seq: null,
        at: a.at.toISOString(),
        receivedAt: a.at.toISOString(),
        source: 'control-plane' as const,
        who: a.actor,
        type: a.action,
        summary: `${a.action} ${a.target}${a.outcome && a.outcome !== 'ok' ? ` (${a.outcome})` : ''}`,
        decision: null,
        operationId: op,
        details: null,
      };
    }),
  ].sort((a, b) => a.at.localeCompare(b.at) || a.receivedAt.localeCompare(b.receivedAt));

  const replay = await replayData(deps, row.clusterId, start - REPLAY_BEFORE_MS, Math.min(end, now) + REPLAY_AFTER_MS);
  const role = access.role;
  return {
    ...base,
    acknowledgedAt: row.acknowledgedAt?.toISOString() ?? null,
    resolvedBy: row.resolvedBy,
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    notes: notes.map((n) => ({ id: String(n.id), at: n.at.toISOString(), author: n.author, text: n.text })),
    timeline,
    replay,
    canManage: hasRole(role, 'operator'),
  };
}

/** Each member's snapshots over [from, to], plus its last one before `from` (how it was when the window opens). */
async function replayData(deps: Pick<TAppDeps, 'db' | 'env'>, clusterId: string, from: number, to: number): Promise<TReplayData> {
  const members = await deps.db.member.findMany({ where: { clusterId }, select: { id: true, name: true }, orderBy: { name: 'asc' } });
  const sel = { at: true, role: true, timeline: true, lsn: true, replayLagBytes: true } as const;
  const toSample = (s: { at: Date; role: string; timeline: number | null; lsn: bigint | null; replayLagBytes: bigint | null }): TReplaySample => ({
    at: s.at.getTime(),
    role: s.role,
    timeline: s.timeline,
    lsn: num(s.lsn),
    lagBytes: num(s.replayLagBytes),
  });
  const perMember = Math.max(100, Math.floor(MAX_SAMPLES / Math.max(1, members.length)));
  let truncated = false;
  const out = await Promise.all(
    members.map(async (m) => {
      const [before, within] = await Promise.all([
        deps.db.stateSample.findFirst({ where: { memberId: m.id, at: { lt: new Date(from) } }, orderBy: { at: 'desc' }, select: sel }),
        deps.db.stateSample.findMany({ where: { memberId: m.id, at: { gte: new Date(from), lte: new Date(to) } }, orderBy: { at: 'asc' }, take: perMember, select: sel }),
      ]);
      if (within.length === perMember) truncated = true;
      return { name: m.name, samples: [...(before ? [toSample(before)] : []), ...within.map(toSample)] };
    }),
  );
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), staleAfterMs: deps.env.KEEL_CP_STALE_AFTER_SECONDS * 1000, members: out, truncated };
}

/** The postmortem draft (Markdown) of an incident the caller may read. */
export async function incidentPostmortem(deps: Pick<TAppDeps, 'db' | 'env'>, actor: TActor, id: string): Promise<{ filename: string; markdown: string }> {
  const d = await getIncident(deps, actor, id);
  const markdown = postmortemMarkdown({
    id: d.id,
    cluster: d.cluster,
    title: d.title,
    severity: d.severity,
    status: d.status,
    startedAt: d.startedAt,
    endedAt: d.endedAt,
    members: d.members,
    summary: d.summary,
    acknowledgedBy: d.acknowledgedBy,
    resolvedBy: d.resolvedBy,
    notes: d.notes,
    timeline: d.timeline,
  });
  return { filename: `postmortem-${d.cluster}-incident-${d.id}.md`, markdown };
}
