import type { TTags } from '@keel/protocol';
import { act } from './decision.ts';
import { quorumTarget } from './quorum.ts';
import { promotionBlocker } from './tags.ts';
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

/** Quorum mode: 'ANY k (a,b)' for k of the names, '' (asynchronous) or, strict, '*' when there are none. */
export function quorumStandbyNamesFor(num: number, names: readonly string[], strict: boolean): string {
  if (names.length === 0 || num <= 0) return strict ? STRICT_PLACEHOLDER : '';
  return `ANY ${num} (${[...names].sort().map(quoteIdent).join(',')})`;
}

/** synchronous_standby_names taken apart: FIRST/ANY, how many, which names ('*' sets `star`). */
export interface ParsedStandbyNames {
  kind: 'off' | 'priority' | 'quorum';
  num: number;
  names: string[];
  star: boolean;
}

/**
 * Parses synchronous_standby_names as PostgreSQL reads it: '', 'a, b' (FIRST 1), 'N (..)',
 * 'FIRST N (..)', 'ANY N (..)'; names are identifiers (folded to lower case) or double-quoted. null when
 * the text is not in that grammar.
 */
export function parseStandbyNames(value: string | null): ParsedStandbyNames | null {
  const text = (value ?? '').trim();
  if (text === '') return { kind: 'off', num: 0, names: [], star: false };
  const m = /^(?:(first|any)\s+)?(\d+)\s*\((.*)\)$/is.exec(text);
  const kind = m?.[1]?.toLowerCase() === 'any' ? 'quorum' : 'priority';
  const num = m ? Number(m[2]) : 1;
  const list = m ? (m[3] ?? '') : text;
  const names: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)|(\*))\s*(,|$)/y;
  let at = 0;
  let comma = false;
  while (at < list.length) {
    re.lastIndex = at;
    const t = re.exec(list);
    if (t === null || t[0].length === 0) return null;
    names.push(t[1] !== undefined ? t[1].replace(/""/g, '"') : t[2] !== undefined ? t[2].toLowerCase() : '*');
    at = re.lastIndex;
    comma = t[4] === ',';
    if (!comma && at < list.length) return null;
  }
  if (names.length === 0 || comma) return null;
  return { kind, num, names: names.filter((n) => n !== '*'), star: names.includes('*') };
}

/**
 * The WAL position synchronous_commit makes a commit wait for on a standby (Patroni's _ReplicaList
 * sort column): replay for remote_apply, write for remote_write, flush otherwise.
 */
export function ackLsn(r: ReplicationView, synchronousCommit: string | null | undefined): number | null {
  if (synchronousCommit === 'remote_apply') return r.replayLsn ?? null;
  if (synchronousCommit === 'remote_write') return r.writeLsn ?? null;
  return r.flushLsn;
}

/**
 * The replicas that may be synchronous standbys, best first: streaming from me, known members not
 * tagged nosync (sync_priority > 0), and, with maximum_lag_on_syncnode > 0, no further behind than that
 * from the most advanced of them (from my own position when only one streams), as Patroni measures it.
 * Order: current synchronous standbys first (stability), then higher sync_priority, then the higher
 * position, then the name.
 */
export function syncCandidates(f: Facts): ReplicationView[] {
  const current = new Set(f.cluster.sync?.leader === f.me ? f.cluster.sync.syncStandby : []);
  const byName = new Map(f.cluster.members.map((m) => [m.name, m]));
  const rows = new Map<string, ReplicationView>();
  const lsn = (r: ReplicationView): number => ackLsn(r, f.pg.synchronousCommit) ?? -1;
  for (const r of f.pg.replication) {
    if (r.state !== 'streaming' || r.name === f.me) continue;
    const m = byName.get(r.name);
    if (m === undefined || !syncEligibleTags(m.tags)) continue;
    const seen = rows.get(r.name);
    if (seen === undefined || lsn(r) > lsn(seen)) rows.set(r.name, r);
  }
  let candidates = [...rows.values()];
  const maxLag = f.settings.maximumLagOnSyncnode;
  if (maxLag > 0 && candidates.length > 0) {
    const top = candidates.length > 1 ? Math.max(...candidates.map(lsn)) : (f.pg.lsn ?? lsn(candidates[0]!));
    candidates = candidates.filter((r) => lsn(r) >= 0 && top - lsn(r) <= maxLag);
  }
  return candidates.sort((a, b) => {
    const ca = current.has(a.name) ? 1 : 0;
    const cb = current.has(b.name) ? 1 : 0;
    if (ca !== cb) return cb - ca;
    const pa = syncPriority(byName.get(a.name)?.tags ?? {});
    const pb = syncPriority(byName.get(b.name)?.tags ?? {});
    if (pa !== pb) return pb - pa;
    const byLsn = lsn(b) - lsn(a);
    if (byLsn !== 0) return byLsn;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

/** Priority mode: the synchronous standbys the leader wants, up to synchronous_node_count (sorted by name). */
export function pickSyncStandbys(f: Facts): string[] {
  return syncCandidates(f).slice(0, f.settings.synchronousNodeCount).map((r) => r.name).sort();
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
  if (f.settings.quorumCommit) return quorumChore(f);
  const picked = pickSyncStandbys(f);
  const names = standbyNamesFor(picked, f.settings.synchronousModeStrict);
  const inDcs = sync?.leader === f.me ? sync.syncStandby : null;
  const ok = f.pg.syncStandbyNames === names && inDcs !== null && sameSet(inDcs, confirmed(f, picked));
  return ok ? null : act.syncStandbys(picked, names);
}

/**
 * Quorum mode: the standbys that vote and acknowledge: every candidate (syncCandidates), except that
 * members tagged nofailover are taken only while fewer than synchronous_node_count are (Patroni: they
 * cannot promote, so they would only raise the quorum).
 */
export function quorumActive(f: Facts): string[] {
  const byName = new Map(f.cluster.members.map((m) => [m.name, m]));
  const rows = syncCandidates(f);
  const noFailover = (n: string): boolean => promotionBlocker(byName.get(n)?.tags ?? {}) !== null;
  const active: string[] = [];
  for (const r of [...rows.filter((x) => !noFailover(x.name)), ...rows.filter((x) => noFailover(x.name))]) {
    if (!noFailover(r.name) || active.length < f.settings.synchronousNodeCount) active.push(r.name);
  }
  return active.sort();
}

function quorumChore(f: Facts): Action | null {
  const active = quorumActive(f);
  const strict = f.settings.synchronousModeStrict;
  const wanted = f.settings.synchronousNodeCount;
  const sync = f.cluster.sync;
  const owned = sync !== null && sync.leader === f.me;
  let ok: boolean;
  if (!owned) ok = false;
  else if (active.length === 0) ok = strict ? (f.pg.syncStandbyNames ?? '') !== '' : sync.syncStandby.length === 0 && (f.pg.syncStandbyNames ?? '') === '';
  else {
    const t = quorumTarget({ active, wanted, strict });
    ok =
      f.pg.syncStandbyNames === quorumStandbyNamesFor(t.numsync, t.sync, strict) &&
      sameSet(sync.syncStandby, t.voters) &&
      (sync.quorum ?? 0) === t.quorum;
  }
  return ok ? null : act.quorumSync(active, wanted, strict);
}

/** Patroni's refusal when a switchover names a member that is not a synchronous standby. */
export const SYNC_MISMATCH = 'candidate name does not match with sync_standby';

/**
 * Who may take over from a running leader: in synchronous_mode (with /sync) its synchronous standbys
 * only (`restricted`), else everyone given.
 */
export function syncPool<T extends { name: string }>(
  settings: Pick<HaSettings, 'synchronousMode'> & Partial<Pick<HaSettings, 'quorumCommit'>>,
  cluster: Pick<ClusterView, 'sync'>,
  members: readonly T[],
): { restricted: boolean; members: T[] } {
  // Quorum mode restricts nobody here (Patroni): the candidate waits for the leader's shutdown checkpoint.
  if (!syncActive(settings, cluster) || settings.quorumCommit === true) return { restricted: false, members: [...members] };
  const listed = cluster.sync?.syncStandby ?? [];
  return { restricted: true, members: members.filter((m) => listed.includes(m.name)) };
}
