import { writableRevision } from '@keel/dcs';
import type { TSyncValue } from '@keel/protocol';
import { writePgConfig } from './pgconfig.ts';
import type { Runtime } from './runtime.ts';

/** synchronous_mode: the /sync key and the promotion steps around it (shared by the executors). */

/** Someone else wrote /sync since this agent read it (CAS failed). */
export class SyncConflict extends Error {}

/** Patroni's /sync value: {"leader":"node3","sync_standby":"node2"} (names comma-joined, null when none). */
export function syncValue(leader: string | null, names: readonly string[]): TSyncValue {
  return { leader, sync_standby: names.length > 0 ? [...names].sort().join(',') : null };
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
  await writeSync(rt, syncValue(rt.config.name, []), rev);
  rt.syncStandbyNames = strict ? '*' : '';
  if (strict) {
    // Before the promotion, as Patroni does: the first commit as primary already waits for a standby.
    await writePgConfig(rt, { upstream: rt.memory.following }, { syncStandbyNames: '*' });
    await rt.pg.reload();
  }
}

/** After the promotion: write the primary configuration (synchronous_standby_names included) and reload. */
export async function applyPrimarySyncConfig(rt: Runtime): Promise<void> {
  await writePgConfig(rt, null);
  await rt.pg.reload();
}

