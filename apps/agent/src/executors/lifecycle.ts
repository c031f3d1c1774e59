import { REMOTE_UPSTREAM, type Observation } from '@keel/ha-core';
import { connOf, writePgConfig } from '../pgconfig.ts';
import { createReplica } from '../create-replica.ts';
import { customBootstrap } from '../custom-bootstrap.ts';
import type { Runtime } from '../runtime.ts';
import type { Executor } from './index.ts';
import { checkRewindNeeded } from './rejoin-check.ts';
import { reported } from './report.ts';
import { remoteAddress, remoteSource, standbyClusterConfig } from '../standby-cluster.ts';

function leaderOf(obs: Observation): string | null {
  return obs.dcs.ok ? obs.dcs.cluster.leader : null;
}

function startTimeout(rt: Runtime): number {
  return Math.max(60, rt.settings.primaryStartTimeout);
}

/**
 * A standby cluster's first member (Patroni's bootstrap_standby_leader): the data comes from the other
 * site (standby_cluster.create_replica_methods, basebackup by default, from host:port), PostgreSQL
 * starts in recovery following it, then the member takes the lock as the standby leader. No roles are
 * created: they come with the other site's data.
 */
async function bootstrapStandbyLeader(rt: Runtime): Promise<string> {
  const sc = standbyClusterConfig(rt)!;
  const src = remoteSource(sc);
  const wanted = sc.create_replica_methods ?? ['basebackup'];
  const local = rt.config.postgresql.create_replica_methods;
  const unknown = wanted.filter((n) => !local.some((m) => m.name === n) && n !== 'basebackup');
  if (unknown.length > 0) throw new Error(`standby_cluster.create_replica_methods names ${unknown.join(', ')}, not configured in postgresql.create_replica_methods`);
  const methods = wanted.map((n) => local.find((m) => m.name === n) ?? ({ kind: 'basebackup', name: 'basebackup' } as const));
  rt.log.info({ source: remoteAddress(sc) ?? 'archive', methods: wanted }, 'bootstrapping a standby cluster from the other site');
  await createReplica(rt, src === null ? null : { ...src, name: remoteAddress(sc)! }, undefined, methods);
  await writePgConfig(rt, { upstream: REMOTE_UPSTREAM });
  await rt.pg.start({ timeoutSec: startTimeout(rt), wait: true });
  rt.memory.following = REMOTE_UPSTREAM;
  const cd = await rt.pg.controlData();
  if (!cd) throw new Error('pg_controldata gave nothing after creating the standby leader');
  return cd.sysid;
}

/** A failed bootstrap leaves nothing half-done, so another member may bootstrap instead. */
async function undoBootstrap(rt: Runtime): Promise<void> {
  await rt.pg.stop('immediate', 30).catch(() => undefined);
  await rt.pg.removeDataDir().catch(() => undefined);
  await rt.dcs.releaseLeader(rt.config.name).catch(() => undefined);
  await rt.dcs.deleteInitialize().catch(() => undefined);
}

/** Take the lock, seed /config and publish the sysid after a bootstrap. */
async function claimBootstrapped(rt: Runtime, sysid: string, what: string): Promise<void> {
  await rt.dcs.ensureLease(rt.settings.ttl);
  if (!(await rt.dcs.acquireLeader(rt.config.name))) throw new Error(`could not take the leader lock after ${what}`);
  rt.lastLockOkAt = Date.now();
  await rt.dcs.setConfig(rt.config.bootstrap?.dcs ?? {}, 0);
  await rt.dcs.setInitialize(sysid);
}

/** initdb, configure, start, create roles, take the lock, seed /config, publish the sysid. */
const bootstrap: Executor<'bootstrap'> = async (rt) => {
  rt.runLong('bootstrap', async () => {
    const { pg, config } = rt;
    if (standbyClusterConfig(rt) !== null) {
      try {
        const sysid = await bootstrapStandbyLeader(rt);
        await claimBootstrapped(rt, sysid, 'creating the standby leader');
        rt.memory.formerPrimary = false;
        rt.log.info({ sysid }, 'initialized a standby cluster');
        rt.callbacks.fire('on_start', 'standby_leader');
      } catch (e) {
        await undoBootstrap(rt);
        throw e;
      }
      return;
    }
    try {
      const custom = config.bootstrap?.method;
      if (custom) {
        await customBootstrap(rt, custom, startTimeout(rt));
      } else {
        await pg.initdb(config.bootstrap?.initdb ?? []);
        await writePgConfig(rt, null);
        await pg.start({ timeoutSec: startTimeout(rt), wait: true });
      }
      await pg.createRoles();
      const cd = await pg.controlData();
      if (!cd) throw new Error(`pg_controldata gave nothing after ${custom ? custom.name : 'initdb'}`);
      await claimBootstrapped(rt, cd.sysid, 'initdb');
      rt.memory.formerPrimary = true;
      rt.log.info({ sysid: cd.sysid }, 'initialized a new cluster');
      rt.callbacks.fire('on_start', 'primary');
    } catch (e) {
      await undoBootstrap(rt);
      throw e;
    }
  });
};

async function cloneAndStart(rt: Runtime, from: string | null, obs: Observation, step?: (message: string) => void): Promise<void> {
  const src = from === null ? null : { ...connOf(obs, from), name: from };
  rt.log.info(src ? { from, host: src.host, port: src.port } : { from }, 'creating a replica');
  await createReplica(rt, src, step);
  const leader = leaderOf(obs) ?? from;
  await writePgConfig(rt, { upstream: leader });
  await rt.pg.start({ timeoutSec: startTimeout(rt), wait: true });
  rt.memory.following = leader;
  rt.memory.formerPrimary = false;
  rt.callbacks.fire('on_start', 'replica');
}

const clone: Executor<'clone'> = async (rt, a, obs) => {
  // with no source (no_leader methods), the events name where the data comes from instead of a member
  rt.runLong('clone', () => reported(rt, 'clone', a.from ?? 'a backup (no_leader replica method)', () => cloneAndStart(rt, a.from, obs)));
};

/**
 * The one reinitialize (the loop's, after a failed rewind, and POST /reinitialize's): stop, remove the
 * data directory, clone from `from` (ha-core's cloneSource rule picked it), start as a replica.
 */
export async function reinitializeFrom(rt: Runtime, from: string, obs: Observation, step: (message: string) => void = () => undefined): Promise<void> {
  if (await rt.pg.isRunning()) {
    step('stopping PostgreSQL (immediate)');
    await rt.pg.stop('immediate', 60);
    rt.callbacks.fire('on_stop', 'replica');
  }
  step('removing the data directory');
  await rt.pg.removeDataDir();
  await cloneAndStart(rt, from, obs, step);
}

const reinitialize: Executor<'reinitialize'> = async (rt, a, obs) => {
  rt.runLong('reinitialize', (w) => reported(w, 'reinitialize', a.from, () => reinitializeFrom(w, a.from, obs)));
};

/**
 * Rejoin a former primary: stopped, it is checked first (checkRewindNeeded); pg_rewind from the
 * leader (which runs crash recovery first if needed) only when its WAL went past the leader's switch
 * point or that cannot be told. Then it starts as a replica following the leader: PostgreSQL replays
 * its own WAL and follows the new timeline (recovery_target_timeline = latest).
 */
const rewind: Executor<'rewind'> = async (rt, a, obs) => {
  rt.runLong('rewind', async () => {
    if (await rt.pg.isRunning()) await rt.pg.stop('fast', 60);
    const src = connOf(obs, a.from);
    const r = await reported(rt, 'rewind', a.from, async () => {
      const published = obs.dcs.ok ? obs.dcs.cluster.members.find((m) => m.name === a.from)?.timeline : undefined;
      const check = await checkRewindNeeded(rt, a.from, src, published ?? undefined);
      if (!check.rewind) return { rewound: false, reason: check.reason };
      const done = await rt.pg.rewind(src);
      return { rewound: done.rewound, reason: done.rewound ? null : 'pg_rewind found nothing to rewind' };
    });
    rt.log.info({ from: a.from, rewound: r.rewound }, r.rewound ? 'rewound from the leader' : 'no rewind required');
    await writePgConfig(rt, { upstream: a.from });
    await rt.pg.start({ timeoutSec: startTimeout(rt), wait: true });
    rt.memory.following = a.from;
    rt.memory.formerPrimary = false;
    rt.callbacks.fire('on_start', 'replica');
  });
};

/** Restart a crashed primary in place (same timeline) while we still hold the lock. */
const startPrimary: Executor<'startPrimary'> = async (rt) => {
  rt.runLong('startPrimary', async () => {
    await writePgConfig(rt, null);
    await rt.pg.start({ timeoutSec: startTimeout(rt), wait: true });
    rt.callbacks.fire('on_start', 'primary');
  });
};

const startReplica: Executor<'startReplica'> = async (rt, a) => {
  rt.runLong('startReplica', async () => {
    await writePgConfig(rt, { upstream: a.leader });
    await rt.pg.start({ timeoutSec: startTimeout(rt), wait: true });
    rt.memory.following = a.leader;
    rt.callbacks.fire('on_start', 'replica');
  });
};

export const lifecycleExecutors = { bootstrap, clone, reinitialize, rewind, startPrimary, startReplica };
