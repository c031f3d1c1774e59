import { factsOf } from './facts.ts';
import { uninitialized, sysidMismatch, bootstrapping, emptyDataDir } from './steps/bootstrap.ts';
import { dcsUnreachable } from './steps/dcs.ts';
import { followingLeader } from './steps/follower.ts';
import { actionInFlight } from './steps/in-flight.ts';
import { holdingLock } from './steps/leader.ts';
import { leaderless } from './steps/leaderless.ts';
import { notRunning } from './steps/stopped.ts';
import { syncTakeover } from './takeover.ts';
import type { Decision, Observation } from './types.ts';

/**
 * One HA decision from one frozen observation: pure, synchronous, deterministic. Each step answers
 * or passes (null); the chain below is the priority order, and the last step always answers.
 */
export function decide(obs: Observation): Decision {
  if (!obs.dcs.ok) return dcsUnreachable(obs, obs.dcs.error); // A
  const f = factsOf(obs, obs.dcs.cluster);
  return (
    actionInFlight(f) ?? // B
    uninitialized(f) ?? // C
    sysidMismatch(f) ?? // D
    bootstrapping(f) ?? // E
    emptyDataDir(f) ?? // F
    notRunning(f) ?? // G
    holdingLock(f) ?? // H
    syncTakeover(f, () => followingLeader(f)) ?? // H'' (synchronous mode, before the lease expires)
    followingLeader(f) ?? // I
    leaderless(f) // J
  );
}
