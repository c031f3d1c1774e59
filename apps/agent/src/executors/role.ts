import type { THistory, THistoryEntry } from '@keel/protocol';
import { writePgConfig } from '../pgconfig.ts';
import type { Runtime } from '../runtime.ts';
import type { Executor } from './index.ts';
import { applyPrimarySyncConfig, claimSyncForPromotion } from '../sync-state.ts';
import type { Observation } from '@keel/ha-core';
import { reportDemoted, reportFenced, reportLockLost, reportPromoted } from './report.ts';

/** A fatal condition: the agent stops (without touching PostgreSQL). */
export class FatalError extends Error {}

/** Patroni's /history from the new timeline's history file, keeping known entries as they were. */
export async function recordHistory(rt: Runtime, previous: THistory): Promise<void> {
  const probe = await rt.pg.probe();
  if (!probe.running || !probe.timeline || probe.timeline < 2) return;
  const lines = await rt.pg.readTimelineHistory(probe.timeline);
  const known = new Map(previous.map((e) => [e[0], e]));
  const now = new Date().toISOString().replace('Z', '+00:00');
  const history: THistoryEntry[] = lines.map((l) => known.get(l.parentTli) ?? [l.parentTli, l.switchpoint, l.reason, now, rt.config.name]);
  await rt.dcs.setHistory(history);
}

const promote: Executor<'promote'> = async (rt, _a, obs) => {
  // The watchdog is armed before PostgreSQL accepts writes; watchdog.mode required without it: no promotion.
  const watchdog = rt.watchdog?.activate(rt.settings) ?? null;
  if (watchdog !== null) throw new Error(`not promoting: the watchdog could not be activated (${watchdog})`);
  const pre = await rt.callbacks.prePromote(rt.settings.ttl * 500);
  if (!pre.ok) {
    await rt.dcs.releaseLeader(rt.config.name).catch(() => undefined);
    rt.lastLockOkAt = null;
    throw new Error(`not promoting: ${pre.message}; released the leader lock`);
  }
  // synchronous_mode: /sync names me (and no standby yet) before I accept writes.
  const sync = obs.settings.synchronousMode;
  if (sync) await claimSyncForPromotion(rt, obs.settings.synchronousModeStrict);
  // promote() checkpoints at once, so a rewinding former primary sees the new timeline in our pg_control.
  await rt.pg.promote({ timeoutSec: 60 });
  reportPromoted(rt, obs, await rt.pg.probe().then((p) => p.timeline, () => null));
  if (sync) await applyPrimarySyncConfig(rt).catch((e: Error) => rt.log.warn({ err: e.message }, 'could not apply synchronous_standby_names after promotion'));
  rt.memory.following = null;
  rt.memory.formerPrimary = true;
  rt.log.info('promoted PostgreSQL to primary');
  rt.callbacks.fire('on_role_change', 'primary');
  await recordHistory(rt, obs.dcs.ok ? obs.dcs.cluster.history : []).catch((e: Error) =>
    rt.log.warn({ err: e.message }, 'could not record the timeline history'),
  );
};

/**
 * Switchover (decide() emits it only once the candidate streams from us: ha-core's awaitStreaming):
 * checkpoint first (so the shutdown checkpoint is quick), fast stop (walsenders send
 * everything up to the shutdown checkpoint to the replicas), publish that checkpoint's location as
 * /status optime, then release the lock: the candidate promotes once it has received that far.
 */
async function demoteGraceful(rt: Runtime, candidate: string | null, obs: Observation): Promise<void> {
  const started = Date.now();
  await rt.pg.query('CHECKPOINT').catch((e: Error) => rt.log.warn({ err: e.message }, 'checkpoint before switchover failed'));
  await rt.pg.stop('fast', 60);
  rt.syncStandbyNames = null;
  const cd = await rt.pg.controlData();
  // Publish the shutdown checkpoint before releasing the lock: candidates promote only past it.
  if (cd?.state === 'shut down') await rt.dcs.setStatus({ optime: cd.checkpointLsn });
  else rt.log.warn({ state: cd?.state }, 'switchover: no clean shutdown checkpoint to publish');
  rt.lastStatusJson = null;
  await rt.dcs.releaseLeader(rt.config.name);
  rt.lastLockOkAt = null;
  // a standby leader (standby cluster) ran in recovery: it follows its successor without a rewind
  rt.memory.formerPrimary = obs.pg.role === 'primary';
  rt.memory.following = null;
  reportLockLost(rt, 'released for a switchover');
  reportDemoted(rt, 'graceful', cd?.checkpointLsn ?? null);
  rt.log.info({ candidate, shutdownCheckpoint: cd?.checkpointLsn, ms: Date.now() - started }, 'switchover: stopped and released the leader lock');
  rt.callbacks.fire('on_role_change', 'replica');
}

/**
 * The DCS is unreachable (Patroni's demote('offline')): stop taking writes now, then run on as a
 * read-only standby with no upstream, so reads go on. The stop is fast (sessions end, a shutdown
 * checkpoint is written) but bounded by what is left of the lease minus the guard's margin, after
 * which pg.stop turns it into an immediate one; the guard and keel-fence stay armed meanwhile. The
 * start runs in the background (the loop goes on); the lock is left alone (it cannot be reached).
 */
async function demoteOffline(rt: Runtime, obs: Observation): Promise<void> {
  const lostAt = Date.now();
  const margin = Math.max(1000, Math.min((rt.settings.retryTimeout * 1000) / 2, (rt.settings.ttl * 1000) / 4));
  const leftMs = rt.lastLockOkAt === null ? 0 : rt.lastLockOkAt + rt.settings.ttl * 1000 - margin - Date.now();
  await rt.pg.stop(leftMs >= 2000 ? 'fast' : 'immediate', Math.max(1, Math.floor(leftMs / 1000)));
  rt.syncStandbyNames = null;
  rt.memory.formerPrimary = true;
  rt.memory.following = null;
  rt.lastLockOkAt = null; // no longer a primary: nothing left to fence
  rt.fence?.update();
  if (obs.pg.running && obs.pg.role === 'primary') reportFenced(rt, 'dcs_unreachable', lostAt, obs.pg.lsn);
  reportDemoted(rt, 'offline', obs.pg.lsn);
  rt.log.warn('demoted: the DCS is not accessible; starting again as a read-only standby');
  rt.callbacks.fire('on_role_change', 'replica');
  rt.runLong('startReplica', async () => {
    await writePgConfig(rt, { upstream: null });
    await rt.pg.start({ timeoutSec: Math.max(60, rt.settings.primaryStartTimeout), wait: true });
  });
}

/**
 * standby_cluster was added while I run as the primary holding the lock (keelctl demote-cluster): a
 * fast stop, keeping the lock; the next loop starts PostgreSQL as the standby leader following the
 * other site (ha-core standby.ts).
 */
async function demoteToStandbyLeader(rt: Runtime, obs: Observation): Promise<void> {
  await rt.pg.stop('fast', 60);
  rt.syncStandbyNames = null;
  rt.memory.formerPrimary = true;
  rt.memory.following = null;
  reportDemoted(rt, 'standby', obs.pg.lsn);
  rt.log.warn('demoted: the cluster is now a standby cluster; starting again as the standby leader');
  rt.callbacks.fire('on_role_change', 'standby_leader');
}

const demote: Executor<'demote'> = async (rt, a, obs) => {
  if (a.mode === 'graceful') return demoteGraceful(rt, a.candidate, obs);
  if (a.mode === 'standby') return demoteToStandbyLeader(rt, obs);
  if (a.mode === 'offline') return demoteOffline(rt, obs);
  const mode = 'immediate';
  const lostAt = Date.now();
  const wasPrimary = obs.pg.running && obs.pg.role === 'primary';
  await rt.pg.stop(mode, 60);
  rt.syncStandbyNames = null;
  rt.memory.formerPrimary = true;
  rt.memory.following = null;
  if (a.mode === 'immediate') {
    await rt.dcs.releaseLeader(rt.config.name).catch(() => undefined);
    rt.lastLockOkAt = null;
  }
  if (wasPrimary && a.mode === 'immediate-nolock') reportFenced(rt, 'lock_lost', lostAt, obs.pg.lsn);
  reportDemoted(rt, a.mode, obs.pg.lsn);
  rt.log.warn({ mode: a.mode }, 'demoted: PostgreSQL stopped');
  rt.callbacks.fire('on_role_change', 'replica');
};

const follow: Executor<'follow'> = async (rt, a) => {
  await writePgConfig(rt, { upstream: a.leader });
  await rt.pg.reload();
  rt.memory.following = a.leader;
};

const syncSlots: Executor<'syncSlots'> = async (rt, a) => {
  await rt.pg.syncSlots({ create: [...a.create], drop: [...a.drop] });
};

const fatal: Executor<'fatal'> = async (_rt, a) => {
  throw new FatalError(a.message);
};

export const roleExecutors = { promote, demote, follow, syncSlots, fatal };
