import { act, decision } from '../decision.ts';
import { failsafeOnDcsError } from '../failsafe.ts';
import type { Decision, Observation } from '../types.ts';

/**
 * A. The DCS cannot be reached (the agent already retried for retry_timeout). A primary stops taking
 * writes now, before its lease can expire and another member promote: it is demoted to a read-only
 * standby with no upstream (Patroni's demote('offline')), which keeps serving reads; nothing else can
 * be decided. This holds even with an action in flight and even when paused (Patroni skips the
 * demote in pause; Keel does not: it cannot tell whether a resume was written meanwhile).
 * In failsafe_mode the primary keeps running while every member in /failsafe accepts it (failsafe.ts).
 */
export function dcsUnreachable(obs: Observation, error: string): Decision {
  if (obs.pg.running && obs.pg.role === 'primary') {
    const failsafe = failsafeOnDcsError(obs, error);
    if (failsafe !== null) return failsafe;
    return decision('dcs_unreachable_demote', `demoting self because DCS is not accessible and I was a leader (${error})`, [
      act.demote('offline'),
    ]);
  }
  return decision('dcs_unreachable', `no action. DCS is not accessible (${error})`);
}
