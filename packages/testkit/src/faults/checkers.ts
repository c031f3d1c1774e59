// The fault suite's invariant checkers: pure functions over a recorded history, so they can be
// unit-tested on synthetic histories that contain the very faults they must catch.

/** One acknowledged write: which node acknowledged it, on which timeline, and when (client clock, ms). */
export interface AckedWrite {
  id: number;
  node: string;
  timeline: number;
  /** When the INSERT was sent: the commit happened after this. */
  sentAt: number;
  /** When the acknowledgement arrived: the commit happened before this. */
  ackedAt: number;
}

export interface CheckOutcome {
  ok: boolean;
  /** One line a human can act on. */
  detail: string;
}

export interface SplitBrainViolation {
  /** The write on the newer timeline, acknowledged first. */
  newer: AckedWrite;
  /** The write on an older timeline, committed after `newer` was acknowledged, by another node. */
  older: AckedWrite;
}

/**
 * Split brain: a node acknowledged a write after another node had acknowledged a write on a newer
 * timeline. "After" is certain only when the older write was *sent* after the newer one was
 * acknowledged (its commit lies in [sentAt, ackedAt]), so overlapping requests are never counted.
 */
export function findSplitBrain(history: readonly AckedWrite[]): SplitBrainViolation[] {
  // For each timeline, the earliest acknowledgement and by whom.
  const firstAck = new Map<number, AckedWrite>();
  for (const w of history) {
    const f = firstAck.get(w.timeline);
    if (!f || w.ackedAt < f.ackedAt) firstAck.set(w.timeline, w);
  }
  const tls = [...firstAck.keys()].sort((a, b) => a - b);
  const out: SplitBrainViolation[] = [];
  for (const w of history) {
    // The earliest acknowledgement on any timeline newer than w's, by another node.
    let newer: AckedWrite | null = null;
    for (const t of tls) {
      if (t <= w.timeline) continue;
      const f = firstAck.get(t)!;
      if (f.node !== w.node && (!newer || f.ackedAt < newer.ackedAt)) newer = f;
    }
    if (newer && w.sentAt > newer.ackedAt) out.push({ newer, older: w });
  }
  return out;
}

export function checkSplitBrain(history: readonly AckedWrite[]): CheckOutcome {
  const v = findSplitBrain(history);
  if (v.length === 0) return { ok: true, detail: `${history.length} acknowledged writes, none after a newer timeline's first` };
  const first = v[0]!;
  return {
    ok: false,
    detail:
      `${v.length} writes acknowledged after another node had acknowledged one on a newer timeline; first: ` +
      `id ${first.older.id} by ${first.older.node} (timeline ${first.older.timeline}) sent ${first.older.sentAt - first.newer.ackedAt} ms after ` +
      `id ${first.newer.id} was acknowledged by ${first.newer.node} (timeline ${first.newer.timeline})`,
  };
}

export interface LostWrites {
  outcome: CheckOutcome;
  /** Acknowledged ids missing on the final primary. */
  lost: number[];
}

/**
 * Lost writes: every acknowledged id must be on the final primary in synchronous mode; in
 * asynchronous mode losing some is allowed (up to `maximum_lag_on_failover`) and only counted.
 */
export function checkLostWrites(history: readonly AckedWrite[], present: Iterable<number>, mode: 'sync' | 'async'): LostWrites {
  const have = new Set(present);
  const lost = history.filter((w) => !have.has(w.id)).map((w) => w.id);
  const counted = `${lost.length} of ${history.length} acknowledged writes missing on the final primary`;
  if (mode === 'async') return { outcome: { ok: true, detail: `${counted} (asynchronous mode: counted, not an error)` }, lost };
  return { outcome: { ok: lost.length === 0, detail: lost.length === 0 ? counted : `${counted}: ${lost.slice(0, 10).join(', ')}${lost.length > 10 ? ', ...' : ''}` }, lost };
}

/** One poll of the cluster's shape: who answers /primary, who streams. */
export interface ClusterShape {
  at: number;
  primaries: string[];
  streaming: string[];
  members: string[];
}

/** Converged: exactly one primary and every other member a streaming replica. */
export function isConverged(s: ClusterShape): boolean {
  return s.primaries.length === 1 && s.members.every((m) => m === s.primaries[0] || s.streaming.includes(m));
}

/**
 * Convergence: the first converged poll at most `boundMs` after the fault ended. A poll with two
 * primaries at any time is reported too (the split-brain checker judges writes, this the roles).
 */
export function checkConvergence(polls: readonly ClusterShape[], faultEndedAt: number, boundMs: number): CheckOutcome & { seconds: number | null } {
  const twoPrimaries = polls.find((p) => p.primaries.length > 1);
  const done = polls.find((p) => p.at >= faultEndedAt && isConverged(p));
  const seconds = done ? +((done.at - faultEndedAt) / 1000).toFixed(3) : null;
  if (twoPrimaries) return { ok: false, seconds, detail: `two members answered /primary at once: ${twoPrimaries.primaries.join(', ')}` };
  if (!done || done.at - faultEndedAt > boundMs) {
    const last = polls.at(-1);
    return { ok: false, seconds, detail: `not converged within ${boundMs / 1000} s after the fault ended (last: primaries [${last?.primaries.join(', ') ?? ''}], streaming [${last?.streaming.join(', ') ?? ''}])` };
  }
  return { ok: true, seconds, detail: `one leader (${done.primaries[0]}) and all others streaming ${seconds} s after the fault ended (bound ${boundMs / 1000} s)` };
}

/** Longest stretch without any acknowledged write (any node) that overlaps [from, to], in ms. */
export function unavailableMs(history: readonly AckedWrite[], from: number, to: number): number {
  const ts = history.map((w) => w.ackedAt).sort((a, b) => a - b);
  let gap = 0;
  let prev = from;
  for (const t of ts) {
    if (t <= from) continue;
    if (prev > to) break;
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  if (prev <= to) gap = Math.max(gap, to - prev);
  return gap;
}

/** A small seeded PRNG (mulberry32): the suite's choices (timing jitter, targets) follow the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
