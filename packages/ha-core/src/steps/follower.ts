import { act, decision } from '../decision.ts';
import { upstreamOf, type Facts } from '../facts.ts';
import type { Decision } from '../types.ts';
import { slotSync } from '../slots.ts';
import { recoverDiverged } from './diverged.ts';

/** I. PostgreSQL runs and another member holds the lock. */
export function followingLeader(f: Facts): Decision | null {
  const leader = f.otherLeader;
  if (leader === null) return null;
  if (f.pg.role === 'primary') return lostLock(f, leader);
  const diverged = divergedTimeline(f, leader);
  if (diverged !== null) {
    if (f.paused) return decision('paused', `PAUSE: no action. I was a primary and ${diverged}`);
    return recoverDiverged(f, leader, `I was a primary and ${diverged}`);
  }
  const up = upstreamOf(f, leader);
  if (f.memory.following !== up.name) {
    if (up.cascading) {
      return decision('follow_leader', `following (${up.name}) as tagged replicatefrom; the leader is (${leader})`, [act.follow(up.name)]);
    }
    return decision('follow_leader', `following new leader (${leader})`, [act.follow(leader)]);
  }
  // Members cascading from me stream through slots on me (created, never dropped, on a replica).
  const slots = slotSync(f, { drop: false });
  if (slots !== null) {
    return decision('replica_ok', `creating replication slots for the members that replicate from me (${f.me})`, [slots]);
  }
  if (up.cascading) {
    return decision('replica_ok', `no action. I am (${f.me}), a secondary, and following (${up.name}), which replicates from the leader (${leader})`);
  }
  return decision('replica_ok', `no action. I am (${f.me}), a secondary, and following a leader (${leader})`);
}

/** The split-brain guard: a primary that sees another lock holder stops at once, without touching the lock. */
export function lostLock(f: Facts, leader: string): Decision {
  return decision('lost_lock_demote', `demoting self because (${leader}) holds the lock and I was a primary`, [
    act.demote('immediate-nolock'),
  ]);
}

/**
 * A former primary running as a replica that does not stream and is on an older timeline than the
 * leader has diverged (the rewind executor stops PostgreSQL first). Returns the phrase, or null.
 */
function divergedTimeline(f: Facts, leader: string): string | null {
  if (!f.memory.formerPrimary || f.pg.streaming) return null;
  const theirs = f.cluster.members.find((m) => m.name === leader)?.timeline ?? null;
  const mine = f.pg.timeline ?? 0;
  if (theirs === null || mine >= theirs) return null;
  return `my timeline ${mine} is behind the leader's ${theirs}`;
}
