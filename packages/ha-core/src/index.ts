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
  isQuorumMode,
  PATRONI_DEFAULTS,
  KEEL_MINIMUMS,
  MAX_TIMER_SECONDS,
  DYNAMIC_NUMBER_LIMITS,
} from './settings.ts';
export type { DynamicNumberKey } from './settings.ts';
export {
  ackLsn,
  isSyncStandby,
  mayRaceInSyncMode,
  parseStandbyNames,
  pickSyncStandbys,
  quorumStandbyNamesFor,
  standbyNamesFor,
  syncActive,
  SYNC_MISMATCH,
  STRICT_PLACEHOLDER,
} from './sync.ts';
export type { ParsedStandbyNames } from './sync.ts';
export { nextPriorityStep } from './sync-plan.ts';
export type { PriorityState, PriorityStep } from './sync-plan.ts';
export { nextQuorumStep, quorumTarget, quorumVoteProblem, guaranteed, syncWriteSafe, standbyNamesChangeSafe } from './quorum.ts';
export type { QuorumState, QuorumStep, QuorumTarget } from './quorum.ts';
export type { Timing } from './settings.ts';
export { HEARTBEAT_INTERVAL_MS, HEARTBEAT_STALL_SECONDS, heartbeatStopped, watchesHeartbeat } from './takeover.ts';
export { factsOf } from './facts.ts';
export { promotionBlocker, failoverPriority } from './tags.ts';
export { formatBytes } from './format.ts';
export { REMOTE_UPSTREAM, describeStandbySource } from './standby.ts';
export { standbyClusterOf } from './settings.ts';
export * from './types.ts';
export { rewindNeeded } from './rewind-needed.ts';
export type { Known, RejoinLeader, RejoinLocal, RewindVerdict, TimelineFork } from './rewind-needed.ts';
export { desiredSlots } from './slots.ts';
export {
  SLOT_NAME_RE,
  permanentSlotsOf,
  ignoreMatchersOf,
  isIgnored,
  sameSlot,
  planSlots,
  statusSlots,
  wantedPermanentSlots,
} from './permanent-slots.ts';
export type { SlotSpec, IgnoreMatcher, LocalSlot, SlotPlan, SlotPlanInput } from './permanent-slots.ts';
