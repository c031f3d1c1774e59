/**
 * The dashboard's pure view logic, apart from the rendering so it is tested on its own
 * (apps/control-plane/test/dashboard-view.test.ts): the topology tree, the lag chart's rows, the
 * tags worth showing.
 */
import type { TClusterHealth } from '../server/lib/cluster-health.ts';
import type { TLagSeries } from '../server/services/get-lag-series.ts';
import type { TMemberView } from './live-cache.ts';

// ------------------------------------------------------------------------------------- topology

export interface TTopoNode {
  member: TMemberView;
  children: TTopoNode[];
}

export interface TTopology {
  root: TTopoNode | null;
  /** Not in the tree: not reporting, not a replica, or an upstream that leads nowhere. */
  apart: TMemberView[];
  sync: Set<string>;
}

/** Sync standbys as the fresh members read them from the DCS (role "sync_standby" in members/<name>). */
export function syncStandbys(members: readonly TMemberView[]): Set<string> {
  const out = new Set<string>();
  for (const m of members) {
    if (m.stale) continue;
    for (const d of m.dcsMembers) if (/^sync[_ ]standby$/i.test(d.role)) out.add(d.name);
  }
  return out;
}

/** Patroni's `replicatefrom` tag: the member this one streams from (cascading replication). */
export function replicateFrom(m: TMemberView): string | null {
  const t: unknown = m.tags.replicatefrom;
  return typeof t === 'string' && t !== '' && t !== m.name ? t : null;
}

/** Pure: arrange members into the tree. */
export function buildTopology(members: readonly TMemberView[], health: Pick<TClusterHealth, 'leader'>): TTopology {
  const byName = new Map(members.map((m) => [m.name, m]));
  const rootMember = (health.leader ? byName.get(health.leader) : undefined) ?? null;
  const children = new Map<string, TMemberView[]>();
  const apart: TMemberView[] = [];
  for (const m of members) {
    if (m === rootMember) continue;
    if (m.stale || m.role !== 'replica' || !rootMember) {
      apart.push(m);
      continue;
    }
    const wanted = replicateFrom(m);
    const upstream = wanted && byName.has(wanted) && !byName.get(wanted)!.stale ? wanted : rootMember.name;
    children.set(upstream, [...(children.get(upstream) ?? []), m]);
  }
  const placed = new Set<string>();
  const grow = (m: TMemberView): TTopoNode => {
    placed.add(m.name);
    const kids = (children.get(m.name) ?? []).filter((k) => !placed.has(k.name));
    return { member: m, children: kids.map(grow) };
  };
  const root = rootMember ? grow(rootMember) : null;
  // a replicatefrom cycle or chain that never reaches the leader: show those members apart
  for (const m of members) if (m !== rootMember && !placed.has(m.name) && !apart.includes(m)) apart.push(m);
  return { root, apart, sync: syncStandbys(members) };
}

// ------------------------------------------------------------------------------------- lag chart

export type TLagMetric = 'bytes' | 'seconds';

export interface TChartData {
  rows: Array<Record<string, number | null>>;
  members: string[];
  points: number;
}

/** Pure: one row per bucket time with a column per member; members without any value are left out. */
export function chartRows(series: TLagSeries['series'], metric: TLagMetric, leader: string | null): TChartData {
  const byT = new Map<number, Record<string, number | null>>();
  const members: string[] = [];
  let points = 0;
  for (const s of series) {
    const values = s.points.map((p) => ({ t: Date.parse(p.t), v: metric === 'bytes' ? p.replayBytesMax : p.replaySecondsMax }));
    const known = values.filter((x) => x.v !== null);
    if (known.length === 0) continue;
    // the leader "lags" by 0 by definition: leave it out unless it lagged earlier in the range
    if (s.member === leader && known.every((x) => x.v === 0)) continue;
    members.push(s.member);
    for (const { t, v } of values) {
      const row = byT.get(t) ?? { t };
      row[s.member] = v;
      byT.set(t, row);
      if (v !== null) points++;
    }
  }
  members.sort();
  return { rows: [...byT.values()].sort((a, b) => (a.t ?? 0) - (b.t ?? 0)), members, points };
}

// ------------------------------------------------------------------------------------- members

/** Tags worth showing: Patroni omits false booleans, and so do we. */
export function visibleTags(tags: TMemberView['tags']): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(tags)) {
    if (v === false || v === undefined || v === null) continue;
    out.push(v === true ? k : `${k}: ${String(v)}`);
  }
  return out.sort();
}

// ------------------------------------------------------------------------------------- archive

export interface TArchiveSummary {
  /** ok: archiving and the last attempt succeeded; failing: the last attempt failed; off: archive_mode off. */
  status: 'ok' | 'failing' | 'off' | 'idle' | 'unknown';
  text: string;
  /** ISO time of the last archived WAL file, when there is one. */
  lastArchivedAt: string | null;
}

/**
 * One line about a member's WAL archiving. Failing means the last failure is newer than the last
 * success (PostgreSQL retries a failed segment and archives nothing after it meanwhile).
 */
export function archiveSummary(a: TMemberView['archive']): TArchiveSummary {
  if (!a) return { status: 'unknown', text: 'no report', lastArchivedAt: null };
  if (a.archiveMode === 'off') return { status: 'off', text: 'archive_mode off', lastArchivedAt: null };
  const failedLast = a.lastFailedAt !== null && (a.lastArchivedAt === null || a.lastFailedAt > a.lastArchivedAt);
  if (failedLast) {
    return { status: 'failing', text: `failing at ${a.lastFailedWal ?? '?'} (${a.failedCount} failed)`, lastArchivedAt: a.lastArchivedAt };
  }
  if (a.lastArchivedWal === null) return { status: 'idle', text: 'nothing archived yet', lastArchivedAt: null };
  const failed = a.failedCount > 0 ? `, ${a.failedCount} failed before` : '';
  return { status: 'ok', text: `${a.lastArchivedWal} (${a.archivedCount} archived${failed})`, lastArchivedAt: a.lastArchivedAt };
}
