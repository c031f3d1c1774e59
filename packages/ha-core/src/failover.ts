import type { TFailoverValue } from '@keel/protocol';
import { formatLsn } from '@keel/protocol';
import { promotionBlocker } from './tags.ts';
import type { ClusterView, PeerView } from './types.ts';

/**
 * The `failover` key (Patroni's manual failover / switchover intent), normalized once. Patroni writes
 * {leader, member, scheduled_at} and clears the key by writing `{}`, so a value that names neither a
 * leader nor a candidate is no request at all.
 */
export interface FailoverRequest {
  /** The member to move away from: set for a switchover, null for a manual failover. */
  readonly leader: string | null;
  /** The member to promote (`member`, or Keel's older `candidate`); null: the healthiest replica. */
  readonly candidate: string | null;
  /** scheduled_at exactly as written, or null. */
  readonly scheduledAt: string | null;
  /** scheduled_at parsed, or why it cannot be; null when not scheduled. */
  readonly schedule: ParsedSchedule | null;
  /** Patroni's wording for logs and reasons. */
  readonly action: 'switchover' | 'manual failover';
}

export type ParsedSchedule = { ok: true; at: number } | { ok: false; error: 'unparseable' | 'no_timezone' };

export function failoverRequest(value: TFailoverValue | null): FailoverRequest | null {
  if (value === null) return null;
  const leader = nonEmpty(value.leader);
  const candidate = nonEmpty(value.member) ?? nonEmpty(value.candidate);
  if (leader === null && candidate === null) return null;
  const scheduledAt = nonEmpty(value.scheduled_at);
  return {
    leader,
    candidate,
    scheduledAt,
    schedule: scheduledAt === null ? null : parseScheduledAt(scheduledAt),
    action: leader !== null ? 'switchover' : 'manual failover',
  };
}

/** A request scheduled for later than `now` is not acted on yet (only the leader waits for it). */
export function isPending(req: FailoverRequest, now: number): boolean {
  return req.schedule !== null && req.schedule.ok && req.schedule.at > now;
}

function nonEmpty(s: string | undefined): string | null {
  return typeof s === 'string' && s.length > 0 ? s : null;
}

// YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z | +HH | +HHMM | +HH:MM]
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/**
 * An ISO 8601 timestamp as milliseconds since the epoch. The timezone is mandatory (Patroni rejects a
 * naive time, and reading one as local time would make decide() depend on the host's TZ).
 */
export function parseScheduledAt(text: string): ParsedSchedule {
  const m = ISO_8601.exec(text.trim());
  if (m === null) return { ok: false, error: 'unparseable' };
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3) || 0);
  const offHours = Number(m[10] ?? 0);
  const offMinutes = Number(m[11] ?? 0);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const valid =
    year >= 1970 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offHours <= 23 &&
    offMinutes <= 59;
  if (!valid) return { ok: false, error: 'unparseable' };
  if (m[8] === undefined && m[9] === undefined) return { ok: false, error: 'no_timezone' };
  const offset = (m[9] === '-' ? -1 : 1) * (offHours * 60 + offMinutes);
  return { ok: true, at: Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000 };
}

/**
 * Every member but `exclude` as a PeerView: its GET /patroni answer, or an unreachable stand-in (with
 * the tags the DCS shows) when it did not answer. The DCS member list is the roster; peers only add
 * what each member says about itself.
 */
export function rosterOf(cluster: Pick<ClusterView, 'members'>, peers: readonly PeerView[], exclude: readonly (string | null)[]): PeerView[] {
  return cluster.members
    .filter((m) => !exclude.includes(m.name))
    .map(
      (m) =>
        peers.find((p) => p.name === m.name) ?? {
          name: m.name,
          reachable: false,
          role: null,
          state: null,
          lsn: null,
          timeline: null,
          tags: m.tags,
        },
    );
}

/**
 * The WAL position a member must have passed before it may lead after a switchover: the former leader
 * wrote its shutdown checkpoint location to /status.optime before it released the lock. A member past
 * it has every record the former leader wrote, so the former leader can follow it without pg_rewind.
 * null: no gate (a manual failover, whose leader may be dead, or no /status).
 */
export function shutdownCheckpoint(req: FailoverRequest, cluster: Pick<ClusterView, 'optime'>, standby = false): number | null {
  // A standby leader writes no shutdown checkpoint (it is in recovery): the new one catches up from the other site.
  return req.leader !== null && !standby ? cluster.optime : null;
}

/**
 * Strictly past: the checkpoint location is where the shutdown checkpoint record starts, and a replica
 * that received the record reports the position where it ends.
 */
export function passedCheckpoint(lsn: number | null, checkpoint: number | null): boolean {
  return checkpoint === null || (lsn !== null && lsn > checkpoint);
}

/**
 * Why `p` cannot take over from a leader that stepped down ([] when it can): it must answer, run, be
 * allowed to promote and be past `checkpoint` (see shutdownCheckpoint).
 */
export function takeoverReasons(p: PeerView, checkpoint: number | null): string[] {
  if (!p.reachable) return ['unreachable', ...blockerOf(p)];
  const reasons = blockerOf(p);
  if (p.state !== 'running') reasons.push(`not running (state: ${p.state ?? 'unknown'})`);
  else if (!passedCheckpoint(p.lsn, checkpoint)) {
    reasons.push(`WAL position ${lsnText(p.lsn)} has not passed the shutdown checkpoint ${lsnText(checkpoint)}`);
  }
  return reasons;
}

function blockerOf(p: PeerView): string[] {
  const blocker = promotionBlocker(p.tags);
  return blocker === null ? [] : [blocker];
}

/** "b: unreachable; c: tagged nofailover, not running (state: stopped)", by name. */
export function describeMembers(members: readonly { name: string; reasons: readonly string[] }[]): string {
  return [...members]
    .sort(byName)
    .map((m) => `${m.name}: ${m.reasons.join(', ')}`)
    .join('; ');
}

export function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function lsnText(lsn: number | null): string {
  return lsn === null ? 'unknown' : formatLsn(lsn);
}
