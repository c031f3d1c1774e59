import { act, decision } from './decision.ts';
import type { Facts } from './facts.ts';
import type { Action, Decision, StandbyClusterView } from './types.ts';

/**
 * The upstream name that stands for the other site in a standby cluster: the standby leader's follow,
 * startReplica (and memory.following) use it instead of a member name. The agent resolves it to
 * standby_cluster's host:port, primary_slot_name and restore_command. Member names never contain
 * parentheses in practice; a member so named would be taken for the other site, so the agent refuses it.
 */
export const REMOTE_UPSTREAM = '(standby_cluster)';

/** "10.0.0.5:5432", "10.0.0.5:5432 and the archive", or "the archive (restore_command)". */
export function describeStandbySource(s: StandbyClusterView): string {
  if (s.host === null) return 'the archive (restore_command)';
  return `${s.host}:${s.port}${s.restoreCommand ? ' and the archive' : ''}`;
}

/**
 * H in a standby cluster: I hold the lock and PostgreSQL runs. A standby leader never promotes while
 * standby_cluster is set: it follows the other site (Patroni's enforce_follow_remote_member). A primary
 * (standby_cluster was just added, keelctl demote-cluster) stops and comes back as the standby leader.
 * A switchover or failover request hands the lock to another member, which becomes the standby leader.
 */
export function standbyLeaderHolding(f: Facts, standby: StandbyClusterView, chores: Action[], handover: () => Decision | null): Decision {
  const source = describeStandbySource(standby);
  if (f.pg.role === 'primary') {
    if (f.paused) return decision('paused', `PAUSE: no action. I am a primary in a standby cluster following ${source}`, chores);
    return decision('demote_to_standby_leader', `demoting self to a standby leader because the cluster is a standby cluster following ${source}`, [
      act.renewLock(),
      act.demote('standby'),
    ]);
  }
  const requested = handover();
  if (requested !== null) return requested;
  if (f.memory.following !== REMOTE_UPSTREAM) {
    return decision('standby_leader_follow', `promoted self to a standby leader because I had the session lock: following ${source}`, [
      ...chores,
      act.follow(REMOTE_UPSTREAM),
    ]);
  }
  return decision('standby_leader_ok', `no action. I am (${f.me}), the standby leader with the lock, following ${source}`, chores);
}

/** G in a standby cluster: I hold the lock and PostgreSQL is down: start it as the standby leader. */
export function standbyLeaderDown(f: Facts, standby: StandbyClusterView): Decision {
  return decision('start_replica', `starting as the standby leader following ${describeStandbySource(standby)}`, [
    act.renewLock(),
    act.startReplica(REMOTE_UPSTREAM),
  ]);
}

/** J and J' in a standby cluster: the member that takes the lock follows the other site instead of promoting. */
export function becomeStandbyLeader(actions: readonly Action[]): Action[] {
  return actions.map((a) => (a.type === 'promote' ? act.follow(REMOTE_UPSTREAM) : a));
}
