/**
 * Replay, pure: the cluster as the stored snapshots say it was at a moment. Each member shows its
 * last snapshot at or before t; a member whose last snapshot is older than the stale threshold is
 * "no report" (its role then is what it last said, not a fact); the leader is the reporting member
 * that says primary (the highest timeline if two do, as after a split brain the newer one leads).
 */
import type { TReplayData, TReplaySample } from '../server/services/get-incident.ts';

export interface TReplayMember {
  name: string;
  /** The last snapshot at or before t (null: none yet). */
  sample: TReplaySample | null;
  /** No snapshot within the stale threshold before t. */
  stale: boolean;
  /** "primary", "replica", ... as reported; null when it has no snapshot yet. */
  role: string | null;
}

export interface TReplayFrame {
  at: number;
  leader: string | null;
  members: TReplayMember[];
}

/** The last sample at or before t (samples ascending by at). */
export function sampleAt(samples: readonly TReplaySample[], t: number): TReplaySample | null {
  let lo = 0;
  let hi = samples.length - 1;
  let found: TReplaySample | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = samples[mid]!;
    if (s.at <= t) {
      found = s;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

export function replayAt(data: Pick<TReplayData, 'members' | 'staleAfterMs'>, t: number): TReplayFrame {
  const members = data.members.map((m) => {
    const sample = sampleAt(m.samples, t);
    const stale = sample === null || t - sample.at > data.staleAfterMs;
    return { name: m.name, sample, stale, role: sample?.role ?? null };
  });
  const leaders = members.filter((m) => !m.stale && (m.role === 'primary' || m.role === 'master' || m.role === 'standby_leader'));
  leaders.sort((a, b) => (b.sample?.timeline ?? 0) - (a.sample?.timeline ?? 0));
  return { at: t, leader: leaders[0]?.name ?? null, members };
}
