export { decide } from './decide.ts';
export { rankCandidates, compareCandidates, isAhead, clusterTimeline } from './rank.ts';
export type { RankInput, RankedCandidate } from './rank.ts';
export { checkSwitchoverRequest } from './switchover-check.ts';
export type { SwitchoverRequestInput, SwitchoverCheck, MemberEligibility } from './switchover-check.ts';
export { failoverRequest, parseScheduledAt } from './failover.ts';
export { cloneSource } from './steps/bootstrap.ts';
export type { FailoverRequest, ParsedSchedule } from './failover.ts';
export {
  resolveSettings,
  resolveSettingsExplained,
  adjustTiming,
  numberProblem,
  synchronousModeOn,
  PATRONI_DEFAULTS,
  KEEL_MINIMUMS,
  MAX_TIMER_SECONDS,
  DYNAMIC_NUMBER_LIMITS,
} from './settings.ts';
export type { DynamicNumberKey } from './settings.ts';
export { isSyncStandby, mayRaceInSyncMode, pickSyncStandbys, standbyNamesFor, syncActive, SYNC_MISMATCH, STRICT_PLACEHOLDER } from './sync.ts';
export type { Timing } from './settings.ts';
export { HEARTBEAT_INTERVAL_MS, HEARTBEAT_STALL_SECONDS, heartbeatStopped, watchesHeartbeat } from './takeover.ts';
export { factsOf } from './facts.ts';
export { promotionBlocker, failoverPriority } from './tags.ts';
export { formatBytes } from './format.ts';
export { REMOTE_UPSTREAM, describeStandbySource } from './standby.ts';
export { standbyClusterOf } from './settings.ts';
export * from './types.ts';
