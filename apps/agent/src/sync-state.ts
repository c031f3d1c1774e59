import { writableRevision } from '@keel/dcs';
import { quorumStandbyNamesFor } from '@keel/ha-core';
import { syncStandbyList, type TSyncValue } from '@keel/protocol';
import { writePgConfig } from './pgconfig.ts';
import type { Runtime } from './runtime.ts';

/** synchronous_mode: the /sync key and the promotion steps around it (shared by the executors). */

/** Someone else wrote /sync since this agent read it (CAS failed). */
export class SyncConflict extends Error {}

/**
 * Patroni's /sync value: {"leader":"node3","sync_standby":"node2"} (names comma-joined, null when none);
 * quorum mode adds the quorum: {"leader":"node1","quorum":1,"sync_standby":"node2,node3"}.
 */
export function syncValue(leader: string | null, names: readonly string[], quorum?: number): TSyncValue {
  const base = { leader, sync_standby: names.length > 0 ? [...names].sort().join(',') : null };
  return quorum === undefined ? base : { leader, quorum, sync_standby: base.sync_standby };
}

/**
 * /sync with CAS on the revision this agent last read (0: create it), and only while this agent holds
 * the leader key (same transaction): once a synchronous standby took the key over, the old leader can
 * no longer shrink /sync and then synchronous_standby_names. SyncConflict when either check fails.
 */
export async function writeSync(rt: Runtime, value: TSyncValue, rev: { current: number }): Promise<void> {
  const ok = await rt.dcs.setSync(value, rev.current, rt.config.name);
  if (!ok) throw new SyncConflict('the /sync key was updated by someone else, or this member no longer holds the leader key');
  // The next write of this action compares with what we just wrote.
  const snap = await rt.dcs.readCluster();
  rt.lastCluster = snap;
  rev.current = writableRevision(snap, 'sync');
}

/**
 * Before a promotion in synchronous_mode (Patroni's enforce_primary_role): claim /sync with no standby
 * (CAS: if someone else wrote it, do not promote this tick), and start as primary with '' (or, when
 * strict, '*' already in place before the promotion) so that the next leader tick picks the standbys.
 */
export async function claimSyncForPromotion(rt: Runtime, strict: boolean): Promise<void> {
  const rev = { current: writableRevision(rt.lastCluster, 'sync') };
  if (rt.settings.quorumCommit) return claimQuorumForPromotion(rt, strict, rev);
  await writeSync(rt, syncValue(rt.config.name, []), rev);
  rt.syncStandbyNames = strict ? '*' : '';
  if (strict) {
    // Before the promotion, as Patroni does: the first commit as primary already waits for a standby.
    await writePgConfig(rt, { upstream: upstreamBeforePromotion(rt) }, { syncStandbyNames: '*' });
    await rt.pg.reload();
  }
}

/** After the promotion: write the primary configuration (synchronous_standby_names included) and reload. */
export async function applyPrimarySyncConfig(rt: Runtime): Promise<void> {
  await writePgConfig(rt, null);
  await rt.pg.reload();
}


/**
 * Quorum mode before a promotion (Patroni's _process_quorum_prepromote, done in one /sync write): the
 * voting set stays the same members, with the old leader in my place among the voters and the same
 * quorum, and synchronous_standby_names = ANY (voters - quorum) of them before I accept writes. Any
 * quorum + 1 of that set still include a holder of every commit acknowledged before (I won with their
 * votes and have them all), and each new commit is on me and on all but `quorum` of the voters.
 * Without a /sync of another leader to take over: no voters (only I can promote), '' or '*'.
 */
async function claimQuorumForPromotion(rt: Runtime, strict: boolean, rev: { current: number }): Promise<void> {
  const me = rt.config.name;
  const v = rt.lastCluster?.sync?.value ?? null;
  const old = v?.leader ?? null;
  let voters: string[] = [];
  let quorum = 0;
  if (old !== null && old !== me) {
    voters = [...new Set([...syncStandbyList(v).filter((n) => n !== me), old])].sort();
    quorum = Math.min(v?.quorum ?? 0, voters.length - 1);
  }
  await writeSync(rt, syncValue(me, voters, quorum), rev);
  const value = quorumStandbyNamesFor(voters.length - quorum, voters, strict);
  rt.syncStandbyNames = value;
  await writePgConfig(rt, { upstream: upstreamBeforePromotion(rt) }, { syncStandbyNames: value });
  await rt.pg.reload();
}

/**
 * The upstream to keep in the configuration written just before a promotion: the member followed so
 * far while it is still registered; a dead leader's member key may be gone already (no upstream then,
 * which changes nothing: the promotion ends streaming anyway).
 */
function upstreamBeforePromotion(rt: Runtime): string | null {
  const f = rt.memory.following;
  return f !== null && (rt.lastObservation?.dcs.ok ? rt.lastObservation.dcs.cluster.members.some((m) => m.name === f) : false) ? f : null;
}
