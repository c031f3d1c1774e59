import { act, decision } from '../decision.ts';
import type { Facts } from '../facts.ts';
import { slotSync } from '../slots.ts';
import { mayRaceInSyncMode, syncActive } from '../sync.ts';
import type { Action, Decision } from '../types.ts';
import { whyNotHealthiest } from './healthiest.ts';
import { becomeStandbyLeader, describeStandbySource } from '../standby.ts';
import { manualFailover, notHealthiest } from './manual-failover.ts';

/**
 * J. PostgreSQL runs and nobody holds the lock. A requested manual failover or switchover goes first
 * (J', even when paused). Otherwise the healthiest member races (create-if-absent decides between
 * equals). A primary that may not or should not race demotes at once: whoever wins the race would
 * otherwise run next to it.
 */
export function leaderless(f: Facts): Decision {
  const manual = manualFailover(f);
  if (manual !== null) return manual;
  const primary = f.pg.role === 'primary';
  if (f.paused) {
    // Patroni's is_healthiest_node in pause: only the running primary may take the lock (for instance
    // after its agent was restarted in pause and the old lease expired meanwhile), unless a request
    // names another member or synchronous_mode's /sync does not list it.
    const syncAllows = !syncActive(f.settings, f.cluster) || mayRaceInSyncMode(f.cluster, f.me);
    if (primary && f.blocker === null && f.activeRequest === null && syncAllows) {
      return decision('race_for_lock', 'PAUSE: acquiring the leader lock as the running primary', [act.acquireLock()]);
    }
    return decision('paused', `PAUSE: no action. I am (${f.me}) and the cluster has no leader`);
  }
  if (f.blocker !== null) {
    return primary
      ? decision('not_allowed_to_promote', `demoting self because the cluster has no leader and I am ${f.blocker}`, [
          act.demote('immediate-nolock'),
        ])
      : decision('not_allowed_to_promote', `no action. I am (${f.me}), a secondary, and ${f.blocker}, so I do not race for the lock`);
  }
  if (primary && f.standby !== null) {
    // A standby cluster never has a writable primary: stop, start again as a replica, then race.
    return decision('demote_to_standby_leader', `demoting self because the cluster is a standby cluster following ${describeStandbySource(f.standby)}`, [
      act.demote('immediate-nolock'),
    ]);
  }
  const why = whyNotHealthiest(f);
  if (why !== null) return notHealthiest(f, why);
  if (primary) return decision('race_for_lock', 'racing for the leader lock as the running primary', [act.acquireLock()]);
  const actions: Action[] = [act.acquireLock(), act.promote()];
  const slots = slotSync(f, { drop: false });
  if (slots !== null) actions.push(slots);
  if (f.standby !== null) {
    return decision(
      'race_for_lock',
      `racing for the leader lock to become the standby leader following ${describeStandbySource(f.standby)}: I am the healthiest member`,
      becomeStandbyLeader(actions),
    );
  }
  return decision('race_for_lock', 'racing for the leader lock and promoting: I am the healthiest member', actions);
}
