import { failoverRequest, isPending } from './failover.ts';
import type { FailoverRequest } from './failover.ts';
import { promotionBlocker } from './tags.ts';
import type { AgentMemory, ClusterView, HaSettings, Observation, PgView, StandbyClusterView } from './types.ts';

/**
 * What every step needs, derived once from a reachable-DCS observation. Steps read facts, never
 * re-derive them, so two steps cannot disagree about (say) who holds the lock.
 */
export interface Facts {
  readonly obs: Observation;
  readonly me: string;
  readonly cluster: ClusterView;
  readonly settings: HaSettings;
  readonly pg: PgView;
  readonly memory: AgentMemory;
  readonly paused: boolean;
  /** standby_cluster: where the standby leader replicates from; null: not a standby cluster. */
  readonly standby: StandbyClusterView | null;
  /** cluster.leader === me */
  readonly iAmLeader: boolean;
  /** The lock holder when it is another member, else null. */
  readonly otherLeader: string | null;
  /**
   * No data to run: the probe says the data directory is empty and PostgreSQL is not running.
   * A running postmaster has a data directory by definition; an "empty" probe next to it is a glitch
   * and is ignored, so a running primary always reaches the lock checks.
   */
  readonly dataEmpty: boolean;
  readonly runningPrimary: boolean;
  /**
   * Why I may not take the lock ("tagged nofailover", "without a usable watchdog (...)"), or null:
   * my tags forbid promotion, or watchdog.mode is required and the watchdog device cannot be used.
   */
  readonly blocker: string | null;
  /** The `failover` key as a request, or null (absent, or `{}` as Patroni leaves it). */
  readonly request: FailoverRequest | null;
  /** `request` unless it is scheduled for later: only the leader waits for a scheduled one. */
  readonly activeRequest: FailoverRequest | null;
  /** The `failover` key's mod revision (null: unknown): every clearFailover is conditional on it. */
  readonly requestRevision: number | null;
}

export function factsOf(obs: Observation, cluster: ClusterView): Facts {
  const me = obs.me.name;
  const { pg } = obs;
  const request = failoverRequest(cluster.failover);
  return {
    obs,
    me,
    cluster,
    settings: obs.settings,
    pg,
    memory: obs.memory,
    paused: obs.settings.pause,
    standby: obs.settings.standbyCluster ?? null,
    iAmLeader: cluster.leader === me,
    otherLeader: cluster.leader !== null && cluster.leader !== me ? cluster.leader : null,
    dataEmpty: pg.dataDir === 'empty' && !pg.running,
    runningPrimary: pg.running && pg.role === 'primary',
    blocker: promotionBlocker(obs.me.tags) ?? watchdogBlocker(obs),
    request,
    activeRequest: request !== null && !isPending(request, obs.now) ? request : null,
    requestRevision: cluster.failoverRevision ?? null,
  };
}

/** watchdog.mode required without a usable device: Patroni's "Watchdog device is not usable". */
export function watchdogBlocker(obs: Observation): string | null {
  const problem = obs.me.watchdogProblem;
  return problem ? `without a usable watchdog (${problem})` : null;
}

/** A role string as another member writes it: Patroni < 3 says 'master'. */
export function isPrimaryRole(role: string | null): boolean {
  return role === 'primary' || role === 'master';
}

/** The lock holder kept PostgreSQL down for primary_start_timeout or longer. */
export function startTimedOut(f: Facts): boolean {
  const since = f.memory.pgDownSince;
  return since !== null && f.obs.now - since >= f.settings.primaryStartTimeout * 1000;
}

export function startTimeoutReason(f: Facts): string {
  return `releasing the leader lock because PostgreSQL did not start within primary_start_timeout (${f.settings.primaryStartTimeout} s)`;
}


/**
 * Where a replica streams from: the member named by my `replicatefrom` tag when it runs (cascading
 * replication), otherwise the leader. Returns the upstream and, when it is not the leader, why.
 */
export function upstreamOf(f: Facts, leader: string): { name: string; cascading: boolean } {
  const wanted = f.obs.me.tags.replicatefrom;
  if (typeof wanted !== 'string' || wanted === f.me || wanted === leader) return { name: leader, cascading: false };
  const m = f.cluster.members.find((x) => x.name === wanted);
  if (!m || m.state !== 'running') return { name: leader, cascading: false };
  return { name: wanted, cascading: true };
}
