/** Health at a glance for the clusters list: computed from the member views, pure. */
import { computeReadiness, type TReadiness } from './failover-readiness.ts';
import type { TMemberView } from './member-view.ts';

export type TClusterStatus = 'healthy' | 'degraded' | 'no_leader' | 'split_brain' | 'unknown';

export interface TClusterHealth {
  status: TClusterStatus;
  /** The member reporting itself primary (or standby leader), if exactly one fresh one does. */
  leader: string | null;
  /** Fresh members whose PostgreSQL is running. */
  membersUp: number;
  membersTotal: number;
  membersStale: number;
  /** The replica furthest behind (replay lag), among fresh replicas that report lag. */
  worstLag: { member: string; bytes: number | null; seconds: number | null } | null;
  pendingRestarts: number;
  paused: boolean;
  /** Is there an eligible failover candidate right now? (From `readiness`: eligible members, best first.) */
  failoverReadiness: { ready: boolean; candidates: string[]; blocked: Array<{ member: string; reasons: string[] }> };
  /** Who would be promoted if the leader died now, why not the others, RTO/RPO (failover-readiness.ts). */
  readiness: TReadiness;
  /** One human sentence, e.g. "pg1 leads; 3/3 up; failover ready (pg0, pg2)". */
  summary: string;
}

const LEADER_ROLES = new Set(['primary', 'standby_leader']);

function lagOf(m: TMemberView): { bytes: number | null; seconds: number | null } {
  const bytes = m.lag?.replayBytes ?? m.lag?.receiveBytes ?? null;
  const seconds = m.lag?.replaySeconds ?? m.lag?.receiveSeconds ?? null;
  return { bytes, seconds };
}

export function summarizeCluster(members: readonly TMemberView[]): TClusterHealth {
  const fresh = members.filter((m) => !m.stale && m.role !== null);
  const leaders = fresh.filter((m) => m.role !== null && LEADER_ROLES.has(m.role) && m.pgRunning !== false);
  const leader = leaders.length === 1 ? (leaders[0]?.name ?? null) : null;
  const membersUp = fresh.filter((m) => m.pgRunning === true).length;
  const replicas = fresh.filter((m) => m.role === 'replica');

  let worstLag: TClusterHealth['worstLag'] = null;
  for (const m of replicas) {
    const lag = lagOf(m);
    if (lag.bytes === null && lag.seconds === null) continue;
    const worse =
      worstLag === null ||
      (lag.bytes ?? -1) > (worstLag.bytes ?? -1) ||
      ((lag.bytes ?? -1) === (worstLag.bytes ?? -1) && (lag.seconds ?? -1) > (worstLag.seconds ?? -1));
    if (worse) worstLag = { member: m.name, ...lag };
  }

  const readiness = computeReadiness(members);
  const candidates = readiness.candidate === null ? [] : readiness.members.filter((m) => m.eligible).map((m) => m.name);
  const blocked = readiness.members.filter((m) => !m.eligible).map((m) => ({ member: m.name, reasons: m.reasons })).sort((a, b) => a.member.localeCompare(b.member));

  const status: TClusterStatus =
    fresh.length === 0
      ? 'unknown'
      : leaders.length > 1 && leaders.filter((m) => m.role === 'primary').length > 1
        ? 'split_brain'
        : leader === null
          ? 'no_leader'
          : membersUp === members.length && candidates.length > 0
            ? 'healthy'
            : members.length === 1 && membersUp === 1
              ? 'healthy'
              : 'degraded';

  const parts = [
    status === 'unknown' ? 'no member reporting' : leader ? `${leader} leads` : status === 'split_brain' ? `several primaries: ${leaders.map((m) => m.name).join(', ')}` : 'no leader',
    `${membersUp}/${members.length} up`,
  ];
  if (members.length - fresh.length > 0) parts.push(`${members.length - fresh.length} stale`);
  if (members.length > 1) parts.push(candidates.length ? `failover ready (${candidates.join(', ')})` : 'no failover candidate');
  const pendingRestarts = members.filter((m) => m.pendingRestart).length;
  if (pendingRestarts) parts.push(`${pendingRestarts} pending restart${pendingRestarts > 1 ? 's' : ''}`);
  const paused = fresh.some((m) => m.paused);
  if (paused) parts.push('paused');

  return {
    status,
    leader,
    membersUp,
    membersTotal: members.length,
    membersStale: members.filter((m) => m.stale).length,
    worstLag,
    pendingRestarts,
    paused,
    failoverReadiness: { ready: candidates.length > 0, candidates, blocked },
    readiness,
    summary: parts.join('; '),
  };
}
