import { act } from '../decision.ts';
import type { Facts } from '../facts.ts';
import { failsafeChore } from '../failsafe.ts';
import { slotSync } from '../slots.ts';
import { syncChore } from '../sync.ts';
import type { Action } from '../types.ts';

/**
 * Renew first (the executor stops at the first failure), then the leader's bookkeeping: seed /config,
 * match the slots to the members, re-create /initialize if someone deleted it, and (synchronous_mode)
 * keep synchronous_standby_names and /sync on the chosen synchronous standbys, and (failsafe_mode)
 * keep /failsafe on the members.
 */
export function leaderChores(f: Facts): Action[] {
  const actions: Action[] = [act.renewLock()];
  if (!f.cluster.hasConfig) actions.push(act.seedConfig());
  const slots = slotSync(f, { drop: true });
  if (slots !== null) actions.push(slots);
  if (f.cluster.initialize === null && f.pg.sysid !== null && f.blocker === null) actions.push(act.claimInitialize(f.pg.sysid));
  const sync = syncChore(f);
  if (sync !== null) actions.push(sync);
  const failsafe = failsafeChore(f);
  if (failsafe !== null) actions.push(failsafe);
  return actions;
}
