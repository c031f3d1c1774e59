import type { TTags } from '@keel/protocol';
import { act } from './decision.ts';
import type { Facts } from './facts.ts';
import type { Action, ClusterView, HaSettings, ReplicationView } from './types.ts';

/**
 * synchronous_mode (priority mode, Patroni's SyncHandler). The leader picks its synchronous standbys
 * from the replicas that stream from it; /sync records the last leader and the standbys that were
 * confirmed synchronous, and only those members may race for the lock when the leader is gone.
 */

/** Patroni's placeholder for "no synchronous standby, block writes" in strict mode; Keel writes '*'. */
export const STRICT_PLACEHOLDER = '*';

/** The /sync key is authoritative: synchronous_mode is on and /sync names a leader. */
export function syncActive(settings: Pick<HaSettings, 'synchronousMode'>, cluster: Pick<ClusterView, 'sync'>): boolean {
  return settings.synchronousMode && cluster.sync !== null && cluster.sync.leader !== null;
}

/** `name` is listed as a synchronous standby in /sync (synchronous_mode on). */
export function isSyncStandby(settings: Pick<HaSettings, 'synchronousMode'>, cluster: Pick<ClusterView, 'sync'>, name: string): boolean {
  return syncActive(settings, cluster) && (cluster.sync?.syncStandby.includes(name) ?? false);
}

/** Patroni's SyncState.matches(name, check_leader=True): the last leader or a listed sync standby. */
export function mayRaceInSyncMode(cluster: Pick<ClusterView, 'sync'>, name: string): boolean {
  const s = cluster.sync;
  return s !== null && (s.leader === name || s.syncStandby.includes(name));
}

/** sync_priority (Patroni 4): <= 0 behaves like nosync; default 1. */
function syncPriority(tags: TTags): number {
  const p = tags['sync_priority'];
  return typeof p === 'number' ? p : 1;
}

/** May this member be picked as a synchronous standby (tags permitting)? */
export function syncEligibleTags(tags: TTags): boolean {
  return tags.nosync !== true && syncPriority(tags) > 0;
}

/** A name as an identifier in synchronous_standby_names (quote_ident). */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** synchronous_standby_names for the picked standbys: 'b', '2 (b,c)', or '' / '*' when none. */
export function standbyNamesFor(names: readonly string[], strict: boolean): string {
  if (names.length === 0) return strict ? STRICT_PLACEHOLDER : '';
  const list = [...names].sort().map(quoteIdent).join(',');
  return names.length === 1 ? list : `${names.length} (${list})`;
}

/**
 * The standbys the leader wants: streaming members not tagged nosync (sync_priority > 0), up to
 * synchronous_node_count; the current ones first (stability), then higher sync_priority, then the
 * higher flush position, then the name.
 */
export function pickSyncStandbys(f: Facts): string[] {
  const current = new Set(f.cluster.sync?.leader === f.me ? f.cluster.sync.syncStandby : []);
  const byName = new Map(f.cluster.members.map((m) => [m.name, m]));
  const rows = new Map<string, ReplicationView>();
  for (const r of f.pg.replication) {
    if (r.state !== 'streaming' || r.name === f.me) continue;
    const m = byName.get(r.name);
    if (m === undefined || !syncEligibleTags(m.tags)) continue;
    const seen = rows.get(r.name);
    if (seen === undefined || (r.flushLsn ?? -1) > (seen.flushLsn ?? -1)) rows.set(r.name, r);
  }
  const candidates = [...rows.values()].sort((a, b) => {
    const ca = current.has(a.name) ? 1 : 0;
    const cb = current.has(b.name) ? 1 : 0;
    if (ca !== cb) return cb - ca;
    const pa = syncPriority(byName.get(a.name)?.tags ?? {});
    const pb = syncPriority(byName.get(b.name)?.tags ?? {});
    if (pa !== pb) return pb - pa;
    const byLsn = (b.flushLsn ?? -1) - (a.flushLsn ?? -1);
    if (byLsn !== 0) return byLsn;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return candidates.slice(0, f.settings.synchronousNodeCount).map((r) => r.name).sort();
}

/** The picked standbys that PostgreSQL reports as synchronous now (may be written to /sync). */
function confirmed(f: Facts, picked: readonly string[]): string[] {
  return picked.filter((n) => f.pg.replication.some((r) => r.name === n && r.syncState === 'sync')).sort();
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
}

/**
 * The leader's synchronous replication chore (Patroni's process_sync_replication), or null when
 * synchronous_standby_names and /sync already say the right thing. synchronous_mode off: clean up a
 * /sync this leader still owns.
 */
export function syncChore(f: Facts): Action | null {
  if (!f.runningPrimary) return null;
  const sync = f.cluster.sync;
  if (!f.settings.synchronousMode) {
    return sync !== null && sync.leader !== null ? act.syncStandbys([], null) : null;
  }
  const picked = pickSyncStandbys(f);
  const names = standbyNamesFor(picked, f.settings.synchronousModeStrict);
  const inDcs = sync?.leader === f.me ? sync.syncStandby : null;
  const ok = f.pg.syncStandbyNames === names && inDcs !== null && sameSet(inDcs, confirmed(f, picked));
  return ok ? null : act.syncStandbys(picked, names);
}

/** Patroni's refusal when a switchover names a member that is not a synchronous standby. */
export const SYNC_MISMATCH = 'candidate name does not match with sync_standby';

/**
 * Who may take over from a running leader: in synchronous_mode (with /sync) its synchronous standbys
 * only (`restricted`), else everyone given.
 */
export function syncPool<T extends { name: string }>(
  settings: Pick<HaSettings, 'synchronousMode'>,
  cluster: Pick<ClusterView, 'sync'>,
  members: readonly T[],
): { restricted: boolean; members: T[] } {
  if (!syncActive(settings, cluster)) return { restricted: false, members: [...members] };
  const listed = cluster.sync?.syncStandby ?? [];
  return { restricted: true, members: members.filter((m) => listed.includes(m.name)) };
}
