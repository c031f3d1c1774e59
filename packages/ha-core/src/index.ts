export { decide } from './decide.ts';
export { rankCandidates, compareCandidates, isAhead, clusterTimeline } from './rank.ts';
export type { RankInput, RankedCandidate } from './rank.ts';
export { resolveSettings, checkTiming, PATRONI_DEFAULTS, KEEL_MINIMUMS } from './settings.ts';
export type { Timing } from './settings.ts';
export { promotionBlocker, failoverPriority } from './tags.ts';
export { formatBytes } from './format.ts';
export * from './types.ts';
