import { act, decision } from '../decision.ts';
import type { Facts } from '../facts.ts';
import { describeMembers, rosterOf } from '../failover.ts';
import type { FailoverRequest } from '../failover.ts';
import { rankCandidates } from '../rank.ts';
import { SYNC_MISMATCH, syncPool } from '../sync.ts';
import type { Decision } from '../types.ts';
import { leaderChores } from './chores.ts';

/**
 * H'. I hold the lock, run as primary, and the `failover` key asks me to hand over (Patroni's
 * process_manual_failover_from_leader). Every outcome renews the lock first. A request that cannot be
 * carried out is removed, with the reason, so the API caller polling the key sees it fail at once.
 * The candidates are judged by rankCandidates(), the code the leader race and the REST API use.
 */
export function switchoverFromLeader(f: Facts): Decision | null {
  const req = f.request;
  if (req === null) return null;
  const clear = (why: string, what = 'the request'): Decision => {
    const reason = `${req.action}: ${why}; removing ${what}`;
    return decision('failover_invalid', reason, [act.renewLock(), act.clearFailover(f.requestRevision, reason)]);
  };

  if (req.leader !== null && req.leader !== f.me) {
    return clear(`leader name (${req.leader}) does not match (${f.me})`, 'the stale request');
  }
  if (req.candidate === f.me) return clear(`I am (${f.me}), the requested candidate, and already the leader`);
  const scheduled = scheduledSwitchover(f, req, clear);
  if (scheduled !== null) return scheduled;
  if (f.paused && req.candidate === null) return clear('only a switchover to a named candidate is possible while the cluster is paused');

  const peers = f.obs.peers;
  if (peers === null) {
    return decision('leader_ok', `no action. I am (${f.me}), the leader with the lock; the ${req.action} waits for the peer statuses`, leaderChores(f));
  }
  const target = req.candidate;
  // synchronous_mode: only a synchronous standby may take over (Patroni's process_manual_failover_from_leader).
  const pool = syncPool(f.settings, f.cluster, rosterOf(f.cluster, peers, [f.me]));
  if (target !== null && pool.restricted && !pool.members.some((p) => p.name === target)) {
    return clear(`${SYNC_MISMATCH} (${target})`);
  }
  const ranked = rankCandidates({ candidates: pool.members, cluster: f.cluster, settings: f.settings });
  if (pool.restricted && target === null && ranked.length === 0) return clear('no synchronous standby can be found');
  if (target !== null) {
    const c = ranked.find((x) => x.name === target);
    if (c === undefined) return clear(`candidate (${target}) is not a member of the cluster`);
    if (!c.eligible) return clear(`candidate (${target}) is not eligible: ${c.reasons.join('; ')}`);
    const waiting = awaitStreaming(f, req, [target], clear);
    if (waiting !== null) return waiting;
    return decision('switchover_demote', `${req.action}: demoting myself in favour of (${target})`, [
      act.renewLock(),
      act.gracefulDemote(target),
    ]);
  }
  if (ranked.length === 0) return clear('the cluster has no members except the leader');
  if (!ranked.some((c) => c.eligible)) return clear(`no good candidates have been found (${describeMembers(ranked)})`);
  const waiting = awaitStreaming(
    f,
    req,
    ranked.filter((c) => c.eligible).map((c) => c.name),
    clear,
  );
  if (waiting !== null) return waiting;
  return decision('switchover_demote', `${req.action}: demoting myself in favour of the healthiest replica`, [
    act.renewLock(),
    act.gracefulDemote(null),
  ]);
}

/** How long the leader waits for the candidate to stream from it before refusing the request. */
export const CANDIDATE_STREAM_WAIT_MS = 5000;
/** How soon the leader looks again while it waits for the candidate to stream. */
export const CANDIDATE_STREAM_RETRY_MS = 250;

/**
 * The leader shuts down only when a member that may take over streams from it (pg_stat_replication): it
 * must receive the shutdown checkpoint, or the handover would lose the last WAL or stall. It waits up to
 * CANDIDATE_STREAM_WAIT_MS from when it first saw the request (or from its scheduled time), keeping its
 * lock and chores and looking again soon, then refuses the request. null: one streams, demote now.
 */
function awaitStreaming(f: Facts, req: FailoverRequest, names: readonly string[], clear: (why: string) => Decision): Decision | null {
  const streams = f.pg.replication.some((r) => r.state === 'streaming' && names.includes(r.name));
  if (streams) return null;
  const seen = f.memory.requestSeen;
  const seenAt = seen != null && seen.revision === f.requestRevision ? seen.at : f.obs.now;
  const from = req.schedule?.ok === true ? Math.max(seenAt, req.schedule.at) : seenAt;
  const left = from + CANDIDATE_STREAM_WAIT_MS - f.obs.now;
  const one = names.length === 1;
  if (left <= 0) return clear(one ? `candidate (${names[0]}) does not stream from me` : 'no eligible replica streams from me');
  const what = one ? `(${names[0]})` : 'an eligible replica';
  return decision(
    'waiting_for_candidate',
    `${req.action}: waiting for ${what} to stream from me (${Math.ceil(left / 1000)} s left)`,
    leaderChores(f),
    Math.min(CANDIDATE_STREAM_RETRY_MS, left),
  );
}

/**
 * A scheduled request: wait for its time (the loop wakes up then), refuse it while paused, drop it when
 * its time passed more than 1.5 loop_wait ago (Patroni: the agent was down, the moment is gone), and
 * let it run when its time has come. null: run it now (or it is not scheduled).
 */
function scheduledSwitchover(f: Facts, req: FailoverRequest, clear: (why: string) => Decision): Decision | null {
  const s = req.schedule;
  if (s === null) return null;
  const raw = req.scheduledAt ?? '';
  if (!s.ok) {
    return clear(s.error === 'no_timezone' ? `scheduled_at (${raw}) has no timezone` : `scheduled_at (${raw}) is not an ISO 8601 time`);
  }
  if (f.paused) return clear(`a scheduled ${req.action} cannot run while the cluster is paused`);
  const wait = s.at - f.obs.now;
  if (wait > 0) {
    const to = req.candidate === null ? 'the healthiest replica' : `(${req.candidate})`;
    return decision('switchover_scheduled', `${req.action} to ${to} scheduled at ${raw}`, leaderChores(f), wait);
  }
  const late = 1.5 * f.settings.loopWait;
  if (-wait > late * 1000) return clear(`its scheduled time (${raw}) passed more than 1.5 loop_wait (${late} s) ago`);
  return null;
}
