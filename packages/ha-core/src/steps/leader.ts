import { act, decision } from '../decision.ts';
import { watchdogBlocker, type Facts } from '../facts.ts';
import { slotSync } from '../slots.ts';
import type { Action, Decision } from '../types.ts';
import { standbyLeaderHolding } from '../standby.ts';
import { leaderChores } from './chores.ts';
import { switchoverFromLeader } from './switchover.ts';

/** H. PostgreSQL runs and I hold the lock. A `failover` key is handled first (H'). */
export function holdingLock(f: Facts): Decision | null {
  if (!f.iAmLeader) return null;
  if (f.standby !== null) return standbyLeaderHolding(f, f.standby, leaderChores(f), () => switchoverFromLeader(f));
  if (f.pg.role !== 'primary') return leaderNotPrimary(f);
  const watchdog = watchdogBlocker(f.obs);
  if (watchdog !== null && !f.paused) {
    // Patroni's enforce_primary_role: no watchdog in required mode, no primary (not enforced in pause).
    return decision('watchdog_unusable', `demoting self because watchdog could not be activated: I am ${watchdog}`, [act.demote('immediate')]);
  }
  return switchoverFromLeader(f) ?? decision('leader_ok', `no action. I am (${f.me}), the leader with the lock`, leaderChores(f));
}

/**
 * My name is in the leader key but I run as a replica (restarted, demoted by hand, or a manual failover
 * to me took the lock but its promotion failed: that one promotes even when paused, as in Patroni).
 */
function leaderNotPrimary(f: Facts): Decision {
  const requested = f.request?.candidate === f.me;
  if (f.paused && !requested) {
    return decision('paused', 'PAUSE: releasing the leader lock because I am no longer a primary', [act.releaseLock()]);
  }
  if (f.blocker !== null) {
    return decision('not_allowed_to_promote', `releasing the leader lock because I am a secondary and ${f.blocker}`, [
      act.releaseLock(),
    ]);
  }
  const actions: Action[] = [act.renewLock(), act.promote()];
  if (requested) actions.push(act.clearFailover(f.requestRevision));
  const slots = slotSync(f, { drop: false });
  if (slots !== null) actions.push(slots);
  const why = requested ? 'I have the session lock and I am the requested candidate' : 'I have the session lock';
  return decision('leader_promote', `promoting self to leader because ${why}`, actions);
}
