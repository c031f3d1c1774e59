import { act, decision } from '../decision.ts';
import { startTimedOut, startTimeoutReason } from '../facts.ts';
import type { Facts } from '../facts.ts';
import type { ControlState, Decision } from '../types.ts';
import { recoverDiverged } from './diverged.ts';

/** pg_controldata states that only a primary leaves behind. */
const PRIMARY_STATES: ReadonlySet<ControlState> = new Set(['in production', 'shut down', 'in crash recovery']);

/** G. Data is here but PostgreSQL is down. Pause never starts it. */
export function notRunning(f: Facts): Decision | null {
  if (f.pg.running) return null;
  if (f.iAmLeader) return leaderDown(f);
  if (f.otherLeader !== null) return followerDown(f, f.otherLeader);
  if (f.paused) return decision('paused', 'PAUSE: no action. PostgreSQL is not running and the cluster has no leader');
  return decision('start_replica', 'starting as a secondary because the cluster has no leader yet', [act.startReplica(null)]);
}

/** I hold the lock: restart in place (same timeline) until primary_start_timeout, then hand over. */
function leaderDown(f: Facts): Decision {
  if (f.paused) {
    return decision('paused', 'PAUSE: releasing the leader lock because PostgreSQL is not running', [act.releaseLock()]);
  }
  if (startTimedOut(f)) return decision('release_lock_start_timeout', startTimeoutReason(f), [act.releaseLock()]);
  return decision('start_primary_after_crash', 'starting primary after failure', [act.renewLock(), act.startPrimary()]);
}

function followerDown(f: Facts, leader: string): Decision {
  if (f.paused) return decision('paused', 'PAUSE: no action. PostgreSQL is not running');
  if (f.memory.lastFailure?.kind === 'rewind') return recoverDiverged(f, leader, 'pg_rewind failed');
  if (wasPrimary(f)) return recoverDiverged(f, leader, 'I was a primary and may have diverged');
  return decision('start_replica', `starting as a secondary following (${leader})`, [act.startReplica(leader)]);
}

function wasPrimary(f: Facts): boolean {
  const state = f.pg.controlState;
  return f.memory.formerPrimary || (state !== null && PRIMARY_STATES.has(state));
}
