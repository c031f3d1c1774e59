import type { THistory } from '@keel/protocol';
import { formatBytes } from './format.ts';
import { failoverPriority, promotionBlocker } from './tags.ts';
import type { ClusterView, HaSettings, PeerView } from './types.ts';

/**
 * Who could lead, best first, and why not. One implementation for decide()'s "am I the healthiest"
 * check, the switchover API's 412 answer and the control plane's what-if view.
 */
export interface RankInput {
  /** Every member to consider, including the asking member itself (as a reachable PeerView). */
  candidates: readonly PeerView[];
  cluster: Pick<ClusterView, 'optime' | 'history'>;
  settings: Pick<HaSettings, 'maximumLagOnFailover' | 'checkTimeline'>;
}

export interface RankedCandidate {
  name: string;
  eligible: boolean;
  /** Human phrases, empty when eligible: "unreachable", "tagged nofailover", "lag 3.2 MB exceeds ...". */
  reasons: string[];
  lsn: number | null;
  /** Patroni's effective failover_priority (0 under nofailover, default 1). */
  priority: number;
}

/**
 * The timeline the cluster is on: /history lists the timelines that ended ([timeline, switch lsn, ...]),
 * so the current one is the highest listed plus one (Patroni's Cluster.timeline). null: no history yet.
 */
export function clusterTimeline(history: THistory): number | null {
  if (history.length === 0) return null;
  return Math.max(...history.map((entry) => entry[0])) + 1;
}

export function rankCandidates(input: RankInput): RankedCandidate[] {
  const timeline = clusterTimeline(input.cluster.history);
  return input.candidates.map((c) => assess(c, input, timeline)).sort(compareCandidates);
}

/** Eligible first; then higher WAL position; then higher failover_priority; then name, for determinism. */
export function compareCandidates(a: RankedCandidate, b: RankedCandidate): number {
  if (a.eligible !== b.eligible) return a.eligible ? -1 : 1;
  const byLsn = (b.lsn ?? -1) - (a.lsn ?? -1);
  if (byLsn !== 0) return byLsn;
  if (a.priority !== b.priority) return b.priority - a.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * `a` should lead before `b`: a higher WAL position, or the same one and a strictly higher priority
 * (Patroni: priority only breaks ties between equal positions). A name never makes a member "ahead":
 * equals both race and the DCS create-if-absent decides.
 */
export function isAhead(a: RankedCandidate, b: RankedCandidate): boolean {
  const la = a.lsn ?? -1;
  const lb = b.lsn ?? -1;
  return la > lb || (la === lb && a.priority > b.priority);
}

function assess(c: PeerView, input: RankInput, timeline: number | null): RankedCandidate {
  const reasons: string[] = [];
  if (!c.reachable) reasons.push('unreachable');
  const blocker = promotionBlocker(c.tags);
  if (blocker !== null) reasons.push(blocker);
  // An unreachable member's state, position and timeline are stale: judge only what the DCS says.
  if (c.reachable) reasons.push(...liveReasons(c, input, timeline));
  return { name: c.name, eligible: reasons.length === 0, reasons, lsn: c.lsn, priority: failoverPriority(c.tags) };
}

function liveReasons(c: PeerView, input: RankInput, timeline: number | null): string[] {
  const reasons: string[] = [];
  if (c.state !== 'running') reasons.push(`not running (state: ${c.state ?? 'unknown'})`);
  const lag = c.lsn === null && c.state !== 'running' ? null : lagReason(c.lsn, input);
  if (lag !== null) reasons.push(lag);
  const tl = timelineReason(c.timeline, timeline, input.settings.checkTimeline);
  if (tl !== null) reasons.push(tl);
  return reasons;
}

function lagReason(lsn: number | null, input: RankInput): string | null {
  if (lsn === null) return 'WAL position unknown';
  const { optime } = input.cluster;
  const max = input.settings.maximumLagOnFailover;
  if (optime === null || optime - lsn <= max) return null;
  return `lag ${formatBytes(optime - lsn)} exceeds maximum_lag_on_failover ${formatBytes(max)}`;
}

function timelineReason(mine: number | null, cluster: number | null, check: boolean): string | null {
  if (!check || cluster === null) return null;
  if (mine === null) return 'timeline unknown';
  return mine < cluster ? `timeline ${mine} is behind cluster timeline ${cluster}` : null;
}
