import type { Decision, Observation } from '@keel/ha-core';
import type { TPendingRestartReason } from '@keel/protocol';
import type { TSnapshotBody } from './snapshot.ts';

import type { TEventBody } from '../agent-events.ts';

export type { TEventBody };

type Role = TSnapshotBody['role'];

/** A promotion this agent decided on, remembered until PostgreSQL reports it as primary. */
export interface PendingPromotion {
  kind: 'failover' | 'switchover' | 'leader_promote';
  /** The /failover key named this member as the candidate (a requested, not automatic, takeover). */
  manual: boolean;
  previousLeader: string | null;
  scheduledAt: string | null;
  decidedAt: number;
}

/**
 * What event derivation remembers between loop iterations: the few fields that events are about,
 * plus "since when" and "last known" values carried forward. Built by track(), compared by deriveEvents().
 */
export interface Tracked {
  at: number;
  me: string;
  role: Role;
  state: TSnapshotBody['state'];
  pgRunning: boolean;
  timeline: number | null;
  dcsOk: boolean;
  dcsError: string | null;
  leader: string | null;
  /** leader position - own position (replicas), 0 on a primary, null when unknown. */
  lagBytes: number | null;
  thresholdBytes: number;
  pendingRestartReasons: TPendingRestartReason;
  /** Carried forward: */
  lastRunningRole: Role | null;
  lastLeader: string | null;
  pgDownSince: number | null;
  dcsDownSince: number | null;
  lagAbove: boolean;
  promotion: PendingPromotion | null;
  /** The promotion known in this iteration before it was forgotten as seen through (for deriveEvents). */
  latestPromotion: PendingPromotion | null;
}

/** A promotion not seen through within this long is forgotten (it failed or was overtaken). */
const PROMOTION_MEMORY_MS = 5 * 60_000;

function nonEmpty(s: string | undefined): string | null {
  return typeof s === 'string' && s !== '' ? s : null;
}

/**
 * Classify a promotion this iteration decided on, by the /failover key as Patroni reads it: with a
 * `leader` it is a switchover, with only a candidate (`member`, Keel's older `candidate`) a manual
 * failover, and without a key an automatic failover (a leaderless race) or, when I already hold the
 * lock (leader_promote), no takeover at all.
 */
function promotionFrom(me: string, obs: Observation, decision: Decision | null, previousLeader: string | null, now: number): PendingPromotion | null {
  if (!decision?.actions.some((a) => a.type === 'promote')) return null;
  const intent = obs.dcs.ok ? obs.dcs.cluster.failover : null;
  const leader = nonEmpty(intent?.leader);
  const candidate = nonEmpty(intent?.member) ?? nonEmpty(intent?.candidate);
  const requested = (leader !== null || candidate !== null) && (candidate === null || candidate === me);
  const scheduledAt = requested ? nonEmpty(intent?.scheduled_at) : null;
  if (requested && leader !== null) return { kind: 'switchover', manual: true, previousLeader: leader, scheduledAt, decidedAt: now };
  if (requested) return { kind: 'failover', manual: true, previousLeader, scheduledAt, decidedAt: now };
  if (decision.verdict === 'leader_promote') return { kind: 'leader_promote', manual: false, previousLeader, scheduledAt: null, decidedAt: now };
  return { kind: 'failover', manual: false, previousLeader, scheduledAt: null, decidedAt: now };
}

/** Fold one loop iteration into the tracked state. Pure. */
export function track(
  prev: Tracked | null,
  cur: { me: string; now: number; snapshot: TSnapshotBody; obs: Observation; decision: Decision | null; thresholdBytes: number },
): Tracked {
  const s = cur.snapshot;
  const leader = cur.obs.dcs.ok ? cur.obs.dcs.cluster.leader : prev ? prev.leader : s.leader;
  const lagBytes = !s.pgRunning ? null : s.role === 'primary' ? 0 : s.lag.leaderLsn !== null && s.lsn !== null ? Math.max(0, s.lag.leaderLsn - s.lsn) : null;
  const lastLeader = leader ?? prev?.lastLeader ?? null;
  let promotion = prev?.promotion ?? null;
  if (promotion && cur.now - promotion.decidedAt > PROMOTION_MEMORY_MS) promotion = null;
  // The leader before the race: the last one seen by an earlier iteration (this one already sees none, or me).
  const before = prev?.lastLeader ?? null;
  // Someone else holds the lock now: my promotion lost the race (its actions stopped at acquireLock).
  if (promotion && leader !== null && leader !== cur.me) promotion = null;
  promotion = promotionFrom(cur.me, cur.obs, cur.decision, before === cur.me ? null : before, cur.now) ?? promotion;
  const lagAbove = lagBytes === null ? (prev?.lagAbove ?? false) : lagBytes > cur.thresholdBytes;
  return {
    at: cur.now,
    me: cur.me,
    role: s.role,
    state: s.state,
    pgRunning: s.pgRunning,
    timeline: s.timeline,
    dcsOk: s.dcsOk,
    dcsError: cur.obs.dcs.ok ? null : cur.obs.dcs.error,
    leader,
    lagBytes,
    thresholdBytes: cur.thresholdBytes,
    pendingRestartReasons: s.pendingRestartReasons,
    lastRunningRole: s.pgRunning ? s.role : (prev?.lastRunningRole ?? null),
    lastLeader,
    pgDownSince: s.pgRunning ? null : (prev?.pgDownSince ?? (prev?.pgRunning ? cur.now : null)),
    dcsDownSince: s.dcsOk ? null : (prev?.dcsDownSince ?? cur.now),
    lagAbove,
    // Seen through: forget it (deriveEvents still reads it through latestPromotion).
    promotion: s.pgRunning && s.role === 'primary' ? null : promotion,
    latestPromotion: promotion,
  };
}

function seconds(from: number | null, to: number): number | null {
  return from === null ? null : Math.max(0, (to - from) / 1000);
}

function newPendingParams(prev: TPendingRestartReason, cur: TPendingRestartReason): string[] {
  return Object.keys(cur).filter((k) => prev[k]?.new_value !== cur[k]?.new_value || prev[k]?.old_value !== cur[k]?.old_value);
}

/**
 * The events between two consecutive iterations, in the order they happened as far as one loop can
 * tell (DCS first, then PostgreSQL, role, promotion, lag, pending restart). Nothing on the first one:
 * its snapshot already says how things are. Pure.
 */
export function deriveEvents(prev: Tracked | null, cur: Tracked): TEventBody[] {
  if (prev === null) return [];
  const at = new Date(cur.at).toISOString();
  const me = cur.me;
  const out: TEventBody[] = [];

  if (prev.dcsOk && !cur.dcsOk) {
    out.push({ type: 'event', at, event: 'dcs_unreachable', summary: `${me} cannot reach the DCS: ${cur.dcsError ?? 'unknown error'}`, details: { error: cur.dcsError ?? 'unknown error' } });
  } else if (!prev.dcsOk && cur.dcsOk) {
    const down = seconds(prev.dcsDownSince, cur.at);
    out.push({ type: 'event', at, event: 'dcs_back', summary: `${me} reaches the DCS again${down === null ? '' : ` after ${down.toFixed(1)} s`}`, details: { unreachableSeconds: down } });
  }

  if (prev.pgRunning && !cur.pgRunning) {
    out.push({ type: 'event', at, event: 'postgres_down', summary: `PostgreSQL on ${me} is down (${cur.state})`, details: { state: cur.state, wasRole: prev.role } });
  } else if (!prev.pgRunning && cur.pgRunning) {
    const down = seconds(prev.pgDownSince, cur.at);
    out.push({ type: 'event', at, event: 'postgres_up', summary: `PostgreSQL on ${me} is up as ${cur.role}${down === null ? '' : ` after ${down.toFixed(1)} s`}`, details: { role: cur.role, downSeconds: down } });
  }

  const before = prev.lastRunningRole;
  if (cur.pgRunning && before !== null && before !== cur.role) {
    out.push({ type: 'event', at, event: 'role_change', summary: `${me}: ${before} -> ${cur.role}`, details: { from: before, to: cur.role } });
    // A promotion usually completes within the iteration that decided it: read this one's first.
    const p = cur.latestPromotion ?? prev.promotion;
    if (cur.role === 'primary' && p && p.kind !== 'leader_promote') {
      const from = p.previousLeader ? ` from ${p.previousLeader}` : '';
      const tl = cur.timeline === null ? '' : `, timeline ${cur.timeline}`;
      if (p.kind === 'switchover') {
        out.push({ type: 'event', at, event: 'switchover', summary: `switchover${from} to ${me}${tl}`, details: { previousLeader: p.previousLeader, timeline: cur.timeline, scheduledAt: p.scheduledAt } });
      } else {
        const how = p.manual ? 'manual failover' : 'failover';
        out.push({ type: 'event', at, event: 'failover', summary: `${how}${from} to ${me}${tl}`, details: { previousLeader: p.previousLeader, timeline: cur.timeline, manual: p.manual } });
      }
    }
  }

  if (!prev.lagAbove && cur.lagAbove && cur.lagBytes !== null) {
    out.push({ type: 'event', at, event: 'lag_above_threshold', summary: `${me} lags ${cur.lagBytes} bytes behind the leader (threshold ${cur.thresholdBytes})`, details: { lagBytes: cur.lagBytes, thresholdBytes: cur.thresholdBytes } });
  } else if (prev.lagAbove && !cur.lagAbove && cur.lagBytes !== null) {
    out.push({ type: 'event', at, event: 'lag_back', summary: `${me} is back within ${cur.thresholdBytes} bytes of the leader (lag ${cur.lagBytes})`, details: { lagBytes: cur.lagBytes, thresholdBytes: cur.thresholdBytes } });
  }

  const fresh = newPendingParams(prev.pendingRestartReasons, cur.pendingRestartReasons);
  if (fresh.length > 0) {
    out.push({ type: 'event', at, event: 'pending_restart', summary: `${me} needs a restart to apply ${fresh.join(', ')}`, details: { reasons: cur.pendingRestartReasons } });
  }
  return out;
}
