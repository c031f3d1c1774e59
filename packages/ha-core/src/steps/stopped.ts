import { formatLsn } from '@keel/protocol';
import { act, decision } from '../decision.ts';
import { isPrimaryRole, startTimedOut, startTimeoutReason, upstreamOf, type Facts } from '../facts.ts';
import type { ControlState, Decision } from '../types.ts';
import { standbyLeaderDown } from '../standby.ts';
import { recoverDiverged } from './diverged.ts';
import { TAKEOVER_RETRY_MS, awaitTakeover } from './manual-failover.ts';

/** pg_controldata states that only a primary leaves behind. */
const PRIMARY_STATES: ReadonlySet<ControlState> = new Set(['in production', 'shut down', 'in crash recovery']);

/** G. Data is here but PostgreSQL is down. Pause never starts it. */
export function notRunning(f: Facts): Decision | null {
  if (f.pg.running) return null;
  if (f.iAmLeader) return leaderDown(f);
  if (f.otherLeader !== null) return followerDown(f, f.otherLeader);
  if (f.paused) return decision('paused', 'PAUSE: no action. PostgreSQL is not running and the cluster has no leader');
  return (
    awaitTakeover(f) ??
    decision('start_replica', 'starting as a secondary because the cluster has no leader yet', [act.startReplica(null)])
  );
}

/** I hold the lock: restart in place (same timeline) until primary_start_timeout, then hand over. */
function leaderDown(f: Facts): Decision {
  if (f.paused) {
    return decision('paused', 'PAUSE: releasing the leader lock because PostgreSQL is not running', [act.releaseLock()]);
  }
  if (startTimedOut(f)) return decision('release_lock_start_timeout', startTimeoutReason(f), [act.releaseLock()]);
  if (f.standby !== null) return standbyLeaderDown(f, f.standby);
  return decision('start_primary_after_crash', 'starting primary after failure', [act.renewLock(), act.startPrimary()]);
}

function followerDown(f: Facts, leader: string): Decision {
  if (f.paused) {
    // A switchover is allowed in pause; finishing it (the old primary following the new one, no
    // rewind needed) is part of that manual operation, as in Patroni.
    const clean = wasPrimary(f) ? afterCleanShutdown(f, leader) : null;
    if (clean?.verdict === 'follow_after_clean_switchover') return clean;
    return decision('paused', 'PAUSE: no action. PostgreSQL is not running');
  }
  if (f.memory.lastFailure?.kind === 'rewind') return recoverDiverged(f, leader, 'pg_rewind failed');
  if (wasPrimary(f)) return afterCleanShutdown(f, leader) ?? recoverDiverged(f, leader, 'I was a primary and may have diverged');
  const up = upstreamOf(f, leader);
  return decision('start_replica', `starting as a secondary following (${up.name})${up.cascading ? ` as tagged replicatefrom; the leader is (${leader})` : ''}`, [
    act.startReplica(up.name),
  ]);
}

/**
 * A primary that shut down cleanly (a switchover's graceful demote, or a plain stop) has not diverged
 * from a leader whose timeline forked after its last record: /history says where my timeline ended (its
 * entry [timeline, switch lsn, ...]), and pg_controldata says where my last record, the shutdown
 * checkpoint, starts. Then it just follows: no pg_rewind, no new clone, even with use_pg_rewind off.
 * With no entry for my timeline yet, the new leader is about to write it (right after promoting): wait
 * for it while the leader's member key still shows a replica on my timeline (it is promoting); a leader
 * on another timeline, or a primary on mine, will not write it. null: cannot tell, so rewind or re-clone.
 */
function afterCleanShutdown(f: Facts, leader: string): Decision | null {
  const { controlState, timeline, checkpointLsn } = f.pg;
  if (controlState !== 'shut down' || timeline === null || checkpointLsn === null) return null;
  const fork = f.cluster.history.find((entry) => entry[0] === timeline);
  if (fork === undefined) {
    const theirs = f.cluster.members.find((m) => m.name === leader);
    if (theirs?.timeline !== timeline || isPrimaryRole(theirs.role)) return null;
    return decision(
      'waiting_for_leader',
      `waiting for the new leader (${leader}) to record where timeline ${timeline} ended before following it`,
      [],
      TAKEOVER_RETRY_MS,
    );
  }
  const switchLsn = fork[1];
  if (checkpointLsn >= switchLsn) return null;
  return decision(
    'follow_after_clean_switchover',
    `following new leader (${leader}) without pg_rewind: I shut down cleanly at ${formatLsn(checkpointLsn)}, before timeline ${timeline} ended at ${formatLsn(switchLsn)}`,
    [act.startReplica(leader)],
  );
}

function wasPrimary(f: Facts): boolean {
  const state = f.pg.controlState;
  return f.memory.formerPrimary || (state !== null && PRIMARY_STATES.has(state));
}
