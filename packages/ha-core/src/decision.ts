import type { Action, Decision, DemoteMode, Verdict } from './types.ts';

/** A frozen Decision: the executor reads it, nobody edits it. `retryInMs` is left out unless given. */
export function decision(verdict: Verdict, reason: string, actions: readonly Action[] = [], retryInMs?: number): Decision {
  const d: Decision = { verdict, reason, actions: Object.freeze([...actions]) };
  return Object.freeze(retryInMs === undefined ? d : { ...d, retryInMs: Math.max(0, Math.ceil(retryInMs)) });
}

/** Action constructors, so the steps read as lists of intents. */
export const act = {
  claimInitialize: (value: string): Action => Object.freeze({ type: 'claimInitialize', value }),
  bootstrap: (): Action => Object.freeze({ type: 'bootstrap' }),
  clone: (from: string | null): Action => Object.freeze({ type: 'clone', from }),
  reinitialize: (from: string): Action => Object.freeze({ type: 'reinitialize', from }),
  rewind: (from: string): Action => Object.freeze({ type: 'rewind', from }),
  acquireLock: (): Action => Object.freeze({ type: 'acquireLock' }),
  takeOverLock: (oldLeader: string, leaderRevision: number, syncRevision: number): Action =>
    Object.freeze({ type: 'takeOverLock', oldLeader, leaderRevision, syncRevision }),
  renewLock: (): Action => Object.freeze({ type: 'renewLock' }),
  releaseLock: (): Action => Object.freeze({ type: 'releaseLock' }),
  promote: (): Action => Object.freeze({ type: 'promote' }),
  demote: (mode: Exclude<DemoteMode, 'graceful'>): Action => Object.freeze({ type: 'demote', mode }),
  gracefulDemote: (candidate: string | null): Action => Object.freeze({ type: 'demote', mode: 'graceful', candidate }),
  startPrimary: (): Action => Object.freeze({ type: 'startPrimary' }),
  startReplica: (leader: string | null): Action => Object.freeze({ type: 'startReplica', leader }),
  follow: (leader: string): Action => Object.freeze({ type: 'follow', leader }),
  syncSlots: (create: readonly string[], drop: readonly string[]): Action =>
    Object.freeze({ type: 'syncSlots', create: Object.freeze([...create]), drop: Object.freeze([...drop]) }),
  seedConfig: (): Action => Object.freeze({ type: 'seedConfig' }),
  clearFailover: (revision: number | null, outcome: string | null = null): Action =>
    Object.freeze({ type: 'clearFailover', revision, outcome }),
  syncStandbys: (names: readonly string[], standbyNames: string | null): Action =>
    Object.freeze({ type: 'syncStandbys', names: Object.freeze([...names]), standbyNames }),
  quorumSync: (active: readonly string[], wanted: number, strict: boolean): Action =>
    Object.freeze({ type: 'quorumSync', active: Object.freeze([...active]), wanted, strict }),
  setFailsafe: (value: Readonly<Record<string, string>> | null): Action =>
    Object.freeze({ type: 'setFailsafe', value: value === null ? null : Object.freeze({ ...value }) }),
  holdFailsafe: (since: number): Action => Object.freeze({ type: 'holdFailsafe', since }),
  fatal: (message: string): Action => Object.freeze({ type: 'fatal', message }),
} as const;
