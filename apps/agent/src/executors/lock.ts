import type { LeaderRecord } from '@keel/dcs';
import type { Observation } from '@keel/ha-core';
import type { Runtime } from '../runtime.ts';
import type { Executor } from './index.ts';
import { ActionFailed } from './index.ts';
import { recordFailoverOutcome } from '../failover-outcomes.ts';
import { reportLockAcquired, reportLockLost } from './report.ts';

/**
 * Record a successful acquisition or renewal. The time is when the call STARTED: the lease was
 * refreshed at some point after it, so every fencing deadline computed from it is on the safe side.
 */
function lockOk(rt: Runtime, startedAt: number): void {
  rt.lastLockOkAt = startedAt;
  rt.events.leaseRenewedAt = startedAt;
}

const acquireLock: Executor<'acquireLock'> = async (rt) => {
  const started = Date.now();
  await rt.dcs.ensureLease(rt.settings.ttl);
  if (!(await rt.dcs.acquireLeader(rt.config.name))) throw new ActionFailed('another member acquired the leader lock first');
  lockOk(rt, started);
  reportLockAcquired(rt);
};

/** Synchronous mode's early takeover: one transaction (Dcs.takeOverLeader); decide() judged the rest. */
const takeOverLock: Executor<'takeOverLock'> = async (rt, a) => {
  const started = Date.now();
  await rt.dcs.ensureLease(rt.settings.ttl);
  const ok = await rt.dcs.takeOverLeader({
    name: rt.config.name,
    oldLeader: a.oldLeader,
    leaderModRevision: a.leaderRevision,
    syncModRevision: a.syncRevision,
  });
  if (!ok) throw new ActionFailed(`the leader key or /sync changed: not taking over from (${a.oldLeader})`);
  lockOk(rt, started);
  rt.log.warn({ from: a.oldLeader }, 'took the leader key over before its lease expired (synchronous mode)');
};

/**
 * /leader as this tick's cluster read showed it, when no other member can take it over before the
 * renewal: /sync names no standby (takeOverLeader needs one, and only the leader writes /sync). Then
 * renewLeader needs only the keepalive (Dcs.renewLeader; ARCHITECTURE.md, "Renewing the leader key").
 */
export function leaderAsSeen(obs: Observation): LeaderRecord | undefined {
  if (!obs.dcs.ok) return undefined;
  const c = obs.dcs.cluster;
  if (c.leader === null || c.leaderLease == null || c.leaderRevision == null) return undefined;
  if ((c.sync?.syncStandby.length ?? 0) > 0) return undefined;
  return { name: c.leader, lease: c.leaderLease, modRevision: c.leaderRevision };
}

const renewLock: Executor<'renewLock'> = async (rt, _a, obs) => {
  const started = Date.now();
  try {
    await rt.dcs.ensureLease(rt.settings.ttl);
    if (!(await rt.dcs.renewLeader(rt.config.name, leaderAsSeen(obs)))) {
      rt.lastLockOkAt = null;
      throw new ActionFailed('the leader lock is no longer mine');
    }
  } catch (e) {
    reportLockLost(rt, (e as Error).message);
    throw e;
  }
  lockOk(rt, started);
  reportLockAcquired(rt); // the first renewal of a lock taken by bootstrap, or by an earlier run of this agent
};

const releaseLock: Executor<'releaseLock'> = async (rt) => {
  await rt.dcs.releaseLeader(rt.config.name);
  rt.lastLockOkAt = null;
  reportLockLost(rt, 'released');
};

const claimInitialize: Executor<'claimInitialize'> = async (rt, a) => {
  if (!(await rt.dcs.claimInitialize(a.value))) throw new ActionFailed('another member is initializing the cluster');
};

const seedConfig: Executor<'seedConfig'> = async (rt) => {
  await rt.dcs.setConfig(rt.config.bootstrap?.dcs ?? {}, 0);
};

/**
 * Delete the request decide() judged, only if it is still that revision (CAS): a request written since
 * then is left alone. A refusal is then published under that revision (state.failoverOutcomes, shown in
 * GET /patroni), where the switchover service that wrote the request reads it.
 */
const clearFailover: Executor<'clearFailover'> = async (rt, a) => {
  const deleted = await rt.dcs.deleteFailover(a.revision ?? undefined);
  // false: it changed or is gone already; either way not ours to delete, nor ours to report on.
  if (deleted && a.outcome !== null && a.revision !== null) recordFailoverOutcome(rt, a.revision, a.outcome);
};

export const lockExecutors = { acquireLock, takeOverLock, renewLock, releaseLock, claimInitialize, seedConfig, clearFailover };
