import { formatLsn, type Lsn } from '@keel/protocol';

/** One line of a timeline history file: `parentTli` ended at `switchpoint`, where the next timeline begins. */
export interface TimelineFork {
  parentTli: number;
  switchpoint: Lsn;
}

/** A stopped former primary's WAL: the timeline it ends on, where it ends, that timeline's history. */
export interface RejoinLocal {
  sysid: string;
  timeline: number;
  /** End of the last valid record (where crash recovery stops replaying). */
  end: Lsn;
  history: readonly TimelineFork[];
}

/** The leader's current timeline and its history (IDENTIFY_SYSTEM, TIMELINE_HISTORY). */
export interface RejoinLeader {
  sysid: string;
  timeline: number;
  history: readonly TimelineFork[];
}

/** A fact read from disk or from the leader, or why it could not be read. */
export type Known<T> = { ok: true; value: T } | { ok: false; error: string };

export interface RewindVerdict {
  rewind: boolean;
  /** One sentence for the log and the events: why. */
  reason: string;
  /** Where my WAL ends, when known. */
  localEnd: Lsn | null;
  /** Where the leader's history leaves my timeline, when found. */
  switchpoint: Lsn | null;
}

/** A history is usable when its timelines increase, all come before `timeline`, and its switch points never go back. */
function historyProblem(history: readonly TimelineFork[], timeline: number): string | null {
  let prev: TimelineFork | null = null;
  for (const e of history) {
    if (!Number.isInteger(e.parentTli) || e.parentTli < 1 || e.parentTli >= timeline) return `timeline ${e.parentTli} cannot precede timeline ${timeline}`;
    if (prev && e.parentTli <= prev.parentTli) return `timeline ${e.parentTli} follows timeline ${prev.parentTli}`;
    if (prev && e.switchpoint < prev.switchpoint) return `timeline ${e.parentTli} ends at ${formatLsn(e.switchpoint)}, before timeline ${prev.parentTli} did`;
    prev = e;
  }
  if (timeline > 1 && history.length === 0) return `timeline ${timeline} has no history`;
  return null;
}

/**
 * Must a former primary be rewound before it follows the leader? Not when its WAL ends at or before
 * the point where the leader's timeline history leaves the former primary's timeline: the leader
 * then holds every record it wrote, and PostgreSQL, started as a standby with
 * recovery_target_timeline = latest, replays its own WAL and follows the new timeline by itself
 * (PostgreSQL's own rule for a standby following a promotion). A rewind that is skipped wrongly
 * would leave records the leader never had in the data files, so anything uncertain answers
 * "rewind": a fact that could not be read, another system identifier, my timeline not behind the
 * leader's, a history that is missing or out of order, my timeline's own history not matching the
 * leader's (another lineage), or my timeline absent from the leader's history.
 */
export function rewindNeeded(local: Known<RejoinLocal>, leader: Known<RejoinLeader>): RewindVerdict {
  const rewind = (reason: string, localEnd: Lsn | null = null, switchpoint: Lsn | null = null): RewindVerdict => ({ rewind: true, reason, localEnd, switchpoint });
  if (!local.ok) return rewind(`cannot tell where my WAL ends (${local.error})`);
  const me = local.value;
  const at = `my WAL ends at ${formatLsn(me.end)} on timeline ${me.timeline}`;
  if (!leader.ok) return rewind(`${at} but the leader's timeline history cannot be read (${leader.error})`, me.end);
  const them = leader.value;
  if (them.sysid !== me.sysid) return rewind(`the leader's system identifier ${them.sysid} is not mine (${me.sysid})`, me.end);
  if (me.timeline > them.timeline) return rewind(`${at}, ahead of the leader's timeline ${them.timeline}`, me.end);
  if (me.timeline === them.timeline) return rewind(`${at} and the leader is still on timeline ${them.timeline} (no new timeline to follow)`, me.end);
  const bad = historyProblem(them.history, them.timeline);
  if (bad !== null) return rewind(`${at} but the leader's timeline history is unusable: ${bad}`, me.end);
  const mine = historyProblem(me.history, me.timeline);
  if (mine !== null) return rewind(`${at} but its own history is unusable: ${mine}`, me.end);
  for (const e of me.history) {
    const theirs = them.history.find((t) => t.parentTli === e.parentTli);
    if (theirs?.switchpoint !== e.switchpoint) {
      const where = theirs ? `at ${formatLsn(theirs.switchpoint)}` : 'not at all';
      return rewind(`${at}, a timeline that left timeline ${e.parentTli} at ${formatLsn(e.switchpoint)}, but the leader's history leaves it ${where}: another lineage`, me.end);
    }
  }
  const i = them.history.findIndex((t) => t.parentTli === me.timeline);
  if (i < 0) {
    return rewind(`${at}, a timeline the leader's history (timeline ${them.timeline}: ${them.history.map((t) => t.parentTli).join(', ')}) does not pass through`, me.end);
  }
  const fork = them.history[i]!;
  const next = them.history[i + 1]?.parentTli ?? them.timeline;
  const where = `where the leader's history leaves timeline ${me.timeline} for timeline ${next} (${formatLsn(fork.switchpoint)})`;
  if (me.end > fork.switchpoint) return rewind(`${at}, past the point ${where}: diverged`, me.end, fork.switchpoint);
  return {
    rewind: false,
    reason: `${at}, ${me.end === fork.switchpoint ? 'exactly at' : 'before'} the point ${where}: not diverged, the leader has all of it`,
    localEnd: me.end,
    switchpoint: fork.switchpoint,
  };
}
