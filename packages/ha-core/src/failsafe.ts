import { compareCodeUnits } from '@keel/protocol';
import { act, decision } from './decision.ts';
import type { Facts } from './facts.ts';
import type { Action, ClusterView, Decision, Observation } from './types.ts';

/**
 * DCS failsafe mode (Patroni's failsafe_mode), the pure half; the agent's half (POST /failsafe, both
 * ways) is apps/agent/src/failsafe.ts.
 *
 * - While the DCS works, the leader keeps /failsafe = every member with an api_url, itself included.
 * - When the DCS cannot be reached, a running primary asks every other member listed in the last
 *   /failsafe it read (POST /failsafe) and keeps running only if ALL of them accept; a member accepts
 *   only when it is not a running primary itself, and then remembers for ttl that this primary is alive.
 *   Otherwise it demotes as without failsafe mode.
 * - A member that accepted a POST /failsafe less than ttl ago does not race for the lock, and a member
 *   not listed in a non-empty /failsafe never does (Patroni's _is_healthiest_node).
 */

/** The /failsafe value the leader keeps: every member's api_url, mine too. */
export function failsafeTopology(f: Facts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of [...f.cluster.members].sort((a, b) => compareCodeUnits(a.name, b.name))) if (m.apiUrl) out[m.name] = m.apiUrl;
  const mine = f.obs.me.apiUrl;
  if (out[f.me] === undefined && mine) out[f.me] = mine;
  return out;
}

/**
 * The leader's chore: write /failsafe when failsafe_mode is on and it differs from the members, delete
 * it when failsafe_mode is off (a stale list must not decide anything once the mode is turned on again).
 */
export function failsafeChore(f: Facts): Action | null {
  const current = f.cluster.failsafe ?? null;
  if (!f.settings.failsafeMode) return current === null ? null : act.setFailsafe(null);
  const wanted = failsafeTopology(f);
  return current !== null && sameEntries(current, wanted) ? null : act.setFailsafe(wanted);
}

function sameEntries(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/**
 * A running primary that cannot reach the DCS, in failsafe_mode: keep running when every member listed
 * in /failsafe accepted this tick's POST /failsafe, else demote offline (the reason says who did not
 * accept). null: failsafe_mode is off (the caller demotes as always).
 */
export function failsafeOnDcsError(obs: Observation, error: string): Decision | null {
  if (!obs.settings.failsafeMode) return null;
  const check = obs.failsafe ?? null;
  const demote = (why: string): Decision =>
    decision('dcs_unreachable_demote', `demoting self because DCS is not accessible and I was a leader (${error}); failsafe mode: ${why}`, [
      act.demote('offline'),
    ]);
  if (check === null) return demote('the members in /failsafe were not asked');
  if (check.problem !== null) return demote(check.problem);
  if (check.refused.length > 0) {
    return demote(`not all members accepted: ${check.refused.map((r) => `(${r.name}) ${r.reason}`).join('; ')}`);
  }
  const who = check.accepted.length > 0 ? ` (${check.accepted.join(', ')})` : ' (I am the only member)';
  return decision(
    'failsafe_active',
    `continue to run as a leader because failsafe mode is enabled and all members are accessible${who}; DCS is not accessible (${error})`,
    [act.holdFailsafe(check.startedAt)],
  );
}

/**
 * Why failsafe mode keeps me out of the leader race, or null: the primary called my POST /failsafe less
 * than ttl ago (it is alive and its members keep it primary), or /failsafe lists members and not me.
 */
export function failsafeRaceBlocker(f: Facts): string | null {
  if (!f.settings.failsafeMode) return null;
  const alive = f.obs.failsafeLeader ?? null;
  if (alive !== null && alive !== f.me) return `primary (${alive}) is still alive: it called POST /failsafe less than ttl ago`;
  if (!listedInFailsafe(f.cluster, f.me)) return 'I am not listed in /failsafe';
  return null;
}

/** An absent or empty /failsafe lists nobody and so excludes nobody (Patroni discards it). */
function listedInFailsafe(cluster: ClusterView, name: string): boolean {
  const fs = cluster.failsafe ?? null;
  return fs === null || Object.keys(fs).length === 0 || Object.hasOwn(fs, name);
}
