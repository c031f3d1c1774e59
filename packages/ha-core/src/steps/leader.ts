import { act, decision } from '../decision.ts';
import type { Facts } from '../facts.ts';
import { slotSync } from '../slots.ts';
import type { Action, Decision } from '../types.ts';

/** H. PostgreSQL runs and I hold the lock. */
export function holdingLock(f: Facts): Decision | null {
  if (!f.iAmLeader) return null;
  return f.pg.role === 'primary' ? leaderOk(f) : leaderNotPrimary(f);
}

/**
 * Renew first (the executor stops at the first failure), then the leader's bookkeeping: seed /config,
 * match the slots to the members, and re-create /initialize if someone deleted it.
 */
function leaderOk(f: Facts): Decision {
  const actions: Action[] = [act.renewLock()];
  if (!f.cluster.hasConfig) actions.push(act.seedConfig());
  const slots = slotSync(f, { drop: true });
  if (slots !== null) actions.push(slots);
  if (f.cluster.initialize === null && f.pg.sysid !== null && f.blocker === null) actions.push(act.claimInitialize(f.pg.sysid));
  return decision('leader_ok', `no action. I am (${f.me}), the leader with the lock`, actions);
}

/** My name is in the leader key but I run as a replica (restarted, or demoted by hand). */
function leaderNotPrimary(f: Facts): Decision {
  if (f.paused) {
    return decision('paused', 'PAUSE: releasing the leader lock because I am no longer a primary', [act.releaseLock()]);
  }
  if (f.blocker !== null) {
    return decision('not_allowed_to_promote', `releasing the leader lock because I am a secondary and ${f.blocker}`, [
      act.releaseLock(),
    ]);
  }
  const actions: Action[] = [act.renewLock(), act.promote()];
  const slots = slotSync(f, { drop: false });
  if (slots !== null) actions.push(slots);
  return decision('leader_promote', 'promoting self to leader because I have the session lock', actions);
}
