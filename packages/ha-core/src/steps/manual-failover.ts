import { act, decision } from '../decision.ts';
import type { Facts } from '../facts.ts';
import { isPrimaryRole } from '../facts.ts';
import { describeMembers, lsnText, passedCheckpoint, rosterOf, shutdownCheckpoint, takeoverReasons } from '../failover.ts';
import type { FailoverRequest } from '../failover.ts';
import { slotSync } from '../slots.ts';
import { becomeStandbyLeader } from '../standby.ts';
import { mayRaceInSyncMode, syncActive } from '../sync.ts';
import type { Action, Decision } from '../types.ts';

/** How soon to look again while waiting for a shutdown checkpoint that is milliseconds away. */
export const CHECKPOINT_RETRY_MS = 50;
/** How soon to look again while waiting for another member to take the lock or record its history. */
export const TAKEOVER_RETRY_MS = 200;

/**
 * J'. Nobody holds the lock, PostgreSQL runs, and a manual failover or switchover is requested (Patroni's
 * manual_failover_process_no_leader). The requested candidate takes over without comparing itself to
 * the others (it was chosen), but after a switchover only once it is past the former leader's shutdown
 * checkpoint. The others defer to it while it can act. The former leader never races for a switchover
 * it requested; when nobody else can take over it withdraws the request instead, and the normal race
 * (itself included) resumes. Paused, only the requested candidate acts. null: the normal race decides.
 */
export function manualFailover(f: Facts): Decision | null {
  const req = f.activeRequest;
  if (req === null) return null;
  if (req.leader === f.me) return f.paused || f.blocker !== null ? null : asFormerLeader(f, req);
  // synchronous_mode: a switchover only ever goes to a synchronous standby (a manual failover, with no
  // leader named, is the operator's override and bypasses the sync check, as in Patroni).
  const syncBars = (name: string): boolean => req.leader !== null && syncActive(f.settings, f.cluster) && !f.settings.quorumCommit && !mayRaceInSyncMode(f.cluster, name);
  if (req.candidate === f.me) return syncBars(f.me) ? null : asCandidate(f, req);
  if (f.paused || f.blocker !== null) return null;

  const candidate = req.candidate === null || syncBars(req.candidate) ? undefined : f.obs.peers?.find((p) => p.name === req.candidate);
  if (candidate !== undefined && takeoverReasons(candidate, null).length === 0) {
    return notHealthiest(f, `a ${req.action} to (${candidate.name}) is requested`);
  }
  // No candidate, or one that cannot act: the healthiest races, but after a switchover only from past the
  // former leader's shutdown checkpoint (a planned handover loses nothing).
  const checkpoint = shutdownCheckpoint(req, f.cluster, f.standby !== null);
  if (passedCheckpoint(f.pg.lsn, checkpoint)) return null;
  const where = `my WAL position ${lsnText(f.pg.lsn)} has not passed the former leader's shutdown checkpoint ${lsnText(checkpoint)}`;
  if (f.pg.streaming) {
    return decision('waiting_for_shutdown_checkpoint', `switchover: waiting before racing for the lock: ${where}`, [], CHECKPOINT_RETRY_MS);
  }
  return notHealthiest(f, where);
}

function asCandidate(f: Facts, req: FailoverRequest): Decision | null {
  // Tags that forbid promotion, or a running primary (it races for its lock as usual): the normal path.
  if (f.blocker !== null || f.pg.role === 'primary') return null;
  const peers = f.obs.peers;
  if (peers === null) return decision('not_healthiest', `${req.action}: I am the requested candidate but the peer statuses were not gathered`);
  const alive = peers.find((p) => p.name !== f.me && p.reachable && isPrimaryRole(p.role) && p.state === 'running');
  if (alive !== undefined) {
    // The former leader is shutting down: look again in a moment rather than after loop_wait.
    return decision('not_healthiest', `${req.action}: I am the requested candidate but primary (${alive.name}) is still alive`, [], 100);
  }
  const checkpoint = shutdownCheckpoint(req, f.cluster, f.standby !== null);
  if (!passedCheckpoint(f.pg.lsn, checkpoint)) {
    const where = `my WAL position ${lsnText(f.pg.lsn)} has not passed the former leader's shutdown checkpoint ${lsnText(checkpoint)}`;
    if (f.pg.streaming) return decision('waiting_for_shutdown_checkpoint', `switchover: waiting to promote: ${where}`, [], CHECKPOINT_RETRY_MS);
    // Nothing more will arrive: promoting now would lose the former leader's last WAL.
    return decision(
      'failover_abandoned',
      `switchover: ${where} and I no longer stream WAL; removing the request so that the healthiest member takes over`,
      [act.clearFailover(f.requestRevision)],
    );
  }
  const actions: Action[] = [act.acquireLock(), act.promote(), act.clearFailover(f.requestRevision)];
  const slots = slotSync(f, { drop: false });
  if (slots !== null) actions.push(slots);
  const past = checkpoint === null ? '' : ` (past the former leader's shutdown checkpoint ${lsnText(checkpoint)})`;
  if (f.standby !== null) {
    return decision('failover_promote', `${req.action}: taking the leader lock as the new standby leader: I am the requested candidate`, becomeStandbyLeader(actions));
  }
  return decision('failover_promote', `${req.action}: taking the leader lock and promoting: I am the requested candidate${past}`, actions);
}

function asFormerLeader(f: Facts, req: FailoverRequest): Decision {
  const t = takers(f, req);
  if (t === null) return notHealthiest(f, 'peer statuses were not gathered');
  if (t.able.length > 0) return notHealthiest(f, `I am the former leader of the switchover and (${t.able.join(', ')}) can take over`);
  return withdraw(f, req, t.unable);
}

/**
 * The former leader of a switchover, stopped after its graceful demote, with no leader yet: it stays
 * stopped until the new leader appears, then follows it without pg_rewind (stopped.ts). Starting now as
 * a replica with no upstream would leave it on the old timeline past the fork. Also a member that shut
 * down cleanly as primary when a manual failover names another member (the demoted leader, which the
 * request does not name). null: start as usual.
 */
export function awaitTakeover(f: Facts): Decision | null {
  const req = f.activeRequest;
  if (req === null || req.candidate === f.me || f.pg.controlState !== 'shut down') return null;
  if (req.leader !== null && req.leader !== f.me) return null;
  const t = takers(f, req);
  if (t === null) return null;
  if (t.able.length > 0) {
    return decision(
      'waiting_for_switchover',
      `${req.action}: waiting for (${t.able.join(', ')}) to take over before starting as a secondary`,
      [],
      TAKEOVER_RETRY_MS,
    );
  }
  return req.leader === f.me ? withdraw(f, req, t.unable) : null;
}

/** Who can take over from me, the requested candidate alone when it can; null when peers were not gathered. */
function takers(f: Facts, req: FailoverRequest): { able: string[]; unable: { name: string; reasons: string[] }[] } | null {
  const peers = f.obs.peers;
  if (peers === null) return null;
  const checkpoint = shutdownCheckpoint(req, f.cluster, f.standby !== null);
  const judged = rosterOf(f.cluster, peers, [f.me]).map((p) => ({ name: p.name, reasons: takeoverReasons(p, checkpoint) }));
  const able = judged.filter((m) => m.reasons.length === 0).map((m) => m.name);
  return { able: req.candidate !== null && able.includes(req.candidate) ? [req.candidate] : able, unable: judged.filter((m) => m.reasons.length > 0) };
}

function withdraw(f: Facts, req: FailoverRequest, unable: { name: string; reasons: string[] }[]): Decision {
  const who = unable.length > 0 ? ` (${describeMembers(unable)})` : '';
  return decision('failover_abandoned', `${req.action}: no other member can take over${who}; removing the request`, [act.clearFailover(f.requestRevision)]);
}

/** Not racing: a running primary stops now (whoever wins would run next to it), a replica waits. */
export function notHealthiest(f: Facts, why: string): Decision {
  return f.pg.role === 'primary'
    ? decision('not_healthiest', `demoting self because I am not the healthiest member: ${why}`, [act.demote('immediate-nolock')])
    : decision('not_healthiest', `I am not the healthiest member: ${why}`);
}
