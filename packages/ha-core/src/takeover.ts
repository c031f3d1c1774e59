import { act, decision } from './decision.ts';
import { isPrimaryRole, type Facts } from './facts.ts';
import { slotSync } from './slots.ts';
import { isSyncStandby } from './sync.ts';
import type { Action, Decision, LeaseView, TakeoverProbe } from './types.ts';

/**
 * Synchronous mode's early takeover (ARCHITECTURE.md "Early takeover in synchronous mode").
 *
 * The leader keeps its lease alive every HEARTBEAT_INTERVAL_MS, independent of loop_wait; the DCS
 * shows the lease's remaining TTL in whole seconds (truncated). A synchronous standby listed in /sync
 * that sees the heartbeat stopped, has stopped streaming, cannot reach the leader's PostgreSQL nor
 * its REST API, and hears from no reachable member that the leader is alive, takes the leader key
 * over in one transaction and promotes, without waiting for the lease to expire.
 */

/** How often the leader refreshes its lease in synchronous mode. */
export const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * The heartbeat counts as stopped after more than this many seconds without a keepalive: the
 * remaining TTL is then at most granted - (HEARTBEAT_STALL_SECONDS + 1), because etcd truncates it.
 */
export const HEARTBEAT_STALL_SECONDS = 2;

/** The leader's heartbeat has stopped (its lease is gone, or not refreshed for > HEARTBEAT_STALL_SECONDS). */
export function heartbeatStopped(lease: LeaseView): boolean {
  if (lease.state === 'gone') return true;
  if (lease.state === 'unknown') return false;
  return lease.grantedTtl - lease.ttl > HEARTBEAT_STALL_SECONDS;
}

/**
 * Who watches the leader's heartbeat: a running replica listed in /sync (synchronous_mode on, /sync
 * written by the current leader), allowed to promote, not paused. The agent samples the heartbeat
 * only then, and decide() considers a takeover only then.
 */
export function watchesHeartbeat(f: Facts): boolean {
  const leader = f.otherLeader;
  return (
    leader !== null &&
    !f.paused &&
    f.blocker === null &&
    // Quorum mode: a voter need not have every acknowledged commit, so no early takeover (lease expiry only).
    !f.settings.quorumCommit &&
    f.pg.running &&
    f.pg.role === 'replica' &&
    isSyncStandby(f.settings, f.cluster, f.me) &&
    f.cluster.sync?.leader === leader
  );
}

/** Why this member must not take over from `leader` now (null: it may). */
export function whyNoTakeover(f: Facts, leader: string, t: TakeoverProbe): string | null {
  const lease = t.leaseTtl;
  if (lease.state === 'unknown') return 'the DCS does not show its heartbeat';
  if (!heartbeatStopped(lease)) return `its heartbeat goes on (${lease.state === 'alive' ? lease.ttl : 0} s of ${lease.state === 'alive' ? lease.grantedTtl : 0} s left)`;
  if (f.pg.streaming) return 'I still stream from it';
  if (!t.pgUnreachable) return 'its PostgreSQL accepts connections';
  const peers = f.obs.peers;
  if (peers === null) return 'peer statuses were not gathered';
  const own = peers.find((p) => p.name === leader);
  if (own?.reachable) return 'its REST API answers';
  for (const p of peers) {
    if (p.name === f.me || p.name === leader || !p.reachable) continue;
    if (isPrimaryRole(p.role) && p.state === 'running') return `(${p.name}) runs as a primary`;
    // A member cascading from another replica says nothing about the leader.
    const from = p.tags.replicatefrom;
    const cascading = typeof from === 'string' && from !== leader;
    if (p.streaming === true && !cascading) return `(${p.name}) still streams from it`;
  }
  return null;
}

/**
 * H''. Synchronous mode, another member leads and I am its synchronous standby: take over when
 * whyNoTakeover() finds nothing. When the heartbeat looked stopped but something else says the leader
 * lives, the follower's "no action" names it; otherwise null (the follower's step decides).
 */
export function syncTakeover(f: Facts, follow: () => Decision | null): Decision | null {
  const t = f.obs.takeover ?? null;
  const leader = f.otherLeader;
  if (t === null || leader === null || !watchesHeartbeat(f)) return null;
  const leaderRevision = f.cluster.leaderRevision ?? null;
  const syncRevision = f.cluster.syncRevision ?? null;
  if (t.leader !== leader || t.lease !== (f.cluster.leaderLease ?? null) || leaderRevision === null || syncRevision === null) return null;
  const why = whyNoTakeover(f, leader, t);
  if (why !== null) {
    const base = follow();
    if (base === null || base.verdict !== 'replica_ok' || base.actions.length > 0) return base;
    return decision('replica_ok', `${base.reason}; not taking over before its lease expires: ${why}`);
  }
  const actions: Action[] = [act.takeOverLock(leader, leaderRevision, syncRevision), act.promote()];
  const slots = slotSync(f, { drop: false });
  if (slots !== null) actions.push(slots);
  return decision(
    'sync_takeover',
    `taking over from (${leader}) before its lease expires: I am its synchronous standby, its heartbeat stopped, I no longer stream from it, and neither its PostgreSQL, its REST API nor any member says it is alive`,
    actions,
  );
}
