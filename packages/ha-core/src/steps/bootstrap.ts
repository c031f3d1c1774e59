import { cloneBackoff } from '../backoff.ts';
import { act, decision } from '../decision.ts';
import type { Facts } from '../facts.ts';
import { describeStandbySource } from '../standby.ts';
import type { ClusterView, Decision } from '../types.ts';

/**
 * C. No /initialize and no leader: nobody has claimed the cluster. An empty data directory races to
 * bootstrap; existing data is adopted (its system identifier becomes the cluster's). Members whose
 * tags forbid promotion never claim. (With a leader but no /initialize, the leader re-seeds it.)
 */
export function uninitialized(f: Facts): Decision | null {
  if (f.cluster.initialize !== null || f.cluster.leader !== null) return null;
  if (f.blocker !== null) {
    return decision('waiting_for_bootstrap', `waiting for another member to bootstrap the cluster because I am ${f.blocker}`);
  }
  if (f.dataEmpty) {
    if (f.paused) return decision('paused', 'PAUSE: no action. The cluster is not initialized and I will not bootstrap it');
    const what = f.standby === null ? 'a new cluster' : `a standby cluster from ${describeStandbySource(f.standby)}`;
    return decision('bootstrap_race', `trying to bootstrap ${what}`, [act.claimInitialize(''), act.bootstrap()]);
  }
  const sysid = f.pg.sysid;
  if (sysid === null) {
    return decision('waiting_for_bootstrap', 'waiting for another member to bootstrap the cluster because my system identifier is unknown');
  }
  return decision('adopt_existing_data', `initializing the cluster from my existing data directory (system identifier ${sysid})`, [
    act.claimInitialize(sysid),
  ]);
}

/** D. My data belongs to another cluster: stop the agent, touch nothing (it is not our database). */
export function sysidMismatch(f: Facts): Decision | null {
  const want = f.cluster.initialize;
  const have = f.pg.sysid;
  if (!want || f.dataEmpty || have === null || have === want) return null;
  const message = `system identifier mismatch: the cluster was initialized with ${want} but my data directory has ${have}`;
  return decision('sysid_mismatch', message, [act.fatal(message)]);
}

/** E. Another member won the bootstrap race and has not taken the lock yet. */
export function bootstrapping(f: Facts): Decision | null {
  if (f.cluster.initialize !== '' || f.cluster.leader !== null) return null;
  return decision('waiting_for_bootstrap', 'waiting for another member to finish bootstrapping the cluster');
}

/** F. An initialized cluster and no data here: clone from a clonefrom member or the leader. */
export function emptyDataDir(f: Facts): Decision | null {
  if (!f.dataEmpty) return null;
  if (f.iAmLeader) {
    return decision('release_lock_empty_data_dir', 'releasing the leader lock because my data directory is empty', [act.releaseLock()]);
  }
  const leader = f.otherLeader;
  if (leader === null && f.obs.me.cloneWithoutLeader !== true) return decision('waiting_for_leader', 'waiting for a leader to clone from');
  if (f.paused) return decision('paused', 'PAUSE: no action. My data directory is empty');
  const backoff = cloneBackoff(f.memory, f.obs.now);
  if (backoff !== null) {
    const n = backoff.attempts;
    return decision(
      'clone_backoff',
      `waiting ${Math.ceil(backoff.waitMs / 1000)} s before cloning again: ${n} attempt${n === 1 ? '' : 's'} in a row failed`,
      [],
      backoff.waitMs,
    );
  }
  const source = cloneSource(f.cluster, f.me);
  if (leader === null && source === null) {
    return decision('clone', 'no leader to clone from: creating a replica with the no_leader replica creation methods', [act.clone(null)]);
  }
  const reason =
    source === null ? `trying to bootstrap from leader (${leader})` : `trying to bootstrap from replica (${source}), tagged clonefrom`;
  return decision('clone', reason, [act.clone(source ?? leader!)]);
}

/**
 * Where a member without data clones from: a running replica tagged clonefrom (not me), first by name;
 * null: use the leader. The one rule for the loop's clone and for POST /reinitialize.
 */
export function cloneSource(cluster: Pick<ClusterView, 'members' | 'leader'>, me: string): string | null {
  const names = cluster.members
    .filter((m) => m.name !== me && m.name !== cluster.leader && m.tags.clonefrom === true && m.state === 'running')
    .map((m) => m.name)
    .sort();
  return names[0] ?? null;
}
