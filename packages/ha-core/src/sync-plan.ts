import { parseStandbyNames, standbyNamesFor } from './sync.ts';

/**
 * Priority mode (synchronous_mode: on): the next change of synchronous_standby_names or /sync on the
 * way to the leader's pick. The executor applies one step, looks again (PostgreSQL and the DCS), and
 * asks for the next, until `done` or until it has waited long enough.
 *
 * The rule: /sync names a standby only while PostgreSQL has it in synchronous_standby_names, reports
 * it synchronous and it has caught up with everything acknowledged before it became synchronous
 * (`ready`). So a standby enters synchronous_standby_names first and /sync after it is ready, and
 * leaves /sync first and synchronous_standby_names after. A standby that is swapped out while it
 * still streams (maximum_lag_on_syncnode, a better sync_priority, a smaller synchronous_node_count)
 * stays in both until its replacements are in /sync, so /sync never runs empty during a swap.
 */

export interface PriorityState {
  /** /sync's standbys when it names me as its leader; else empty. */
  listed: readonly string[];
  /** /sync names me as its leader. */
  owned: boolean;
  /** current_setting('synchronous_standby_names'). */
  standbyNames: string | null;
  /** The leader's pick (pickSyncStandbys). */
  picked: readonly string[];
  /** Members streaming from me now (pg_stat_replication). */
  streaming: readonly string[];
  /** Members reported synchronous and caught up since synchronous_standby_names last changed. */
  ready: readonly string[];
  strict: boolean;
}

export type PriorityStep =
  | { kind: 'writeSync'; names: string[]; why: string }
  | { kind: 'setStandbyNames'; value: string; names: string[]; why: string }
  | { kind: 'wait'; names: string[] }
  | { kind: 'done' };

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

export function nextPriorityStep(s: PriorityState): PriorityStep {
  const listed = sorted(s.listed);
  if (!s.owned) return { kind: 'writeSync', names: [], why: '/sync does not name me as its leader' };
  const parsed = parseStandbyNames(s.standbyNames);
  // Coming from quorum mode (ANY k): a listed voter need not have every acknowledged commit. Empty
  // /sync (only the leader may promote meanwhile); the pick then enters as any new standby does.
  if (parsed?.kind === 'quorum' && listed.length > 0) return { kind: 'writeSync', names: [], why: 'leaving quorum commit: voters are not synchronous standbys' };
  const inSsn = new Set(parsed?.names ?? []);
  const streaming = new Set(s.streaming);
  const picked = sorted(s.picked);
  // A listed standby that no longer streams, or that PostgreSQL does not wait for: out of /sync first.
  const gone = listed.filter((n) => !streaming.has(n) || !inSsn.has(n));
  if (gone.length > 0) {
    return { kind: 'writeSync', names: listed.filter((n) => !gone.includes(n)), why: `(${gone.join(', ')}) no longer synchronous` };
  }
  const leaving = listed.filter((n) => !picked.includes(n));
  const joining = picked.filter((n) => !listed.includes(n));
  if (joining.length > 0) {
    // Replacements first: PostgreSQL waits for both the leaving and the joining standbys meanwhile.
    const during = sorted([...picked, ...leaving]);
    const value = standbyNamesFor(during, s.strict);
    if (s.standbyNames !== value) return { kind: 'setStandbyNames', value, names: during, why: `adding (${joining.join(', ')})` };
    const ready = joining.filter((n) => s.ready.includes(n));
    if (ready.length === 0) return { kind: 'wait', names: joining };
    return { kind: 'writeSync', names: sorted([...listed, ...ready]), why: `(${ready.join(', ')}) synchronous` };
  }
  if (leaving.length > 0) return { kind: 'writeSync', names: picked, why: `removing (${leaving.join(', ')})` };
  const value = standbyNamesFor(picked, s.strict);
  if (s.standbyNames !== value) return { kind: 'setStandbyNames', value, names: picked, why: 'the pick is in /sync' };
  return { kind: 'done' };
}
