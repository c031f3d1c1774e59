import { describe, expect, it } from 'vitest';
import { checkConvergence, checkLostWrites, checkSplitBrain, findSplitBrain, prng, unavailableMs, type AckedWrite, type ClusterShape } from '../src/faults/checkers.ts';

let id = 0;
const w = (node: string, timeline: number, sentAt: number, ackedAt = sentAt + 2): AckedWrite => ({ id: ++id, node, timeline, sentAt, ackedAt });

describe('split-brain checker', () => {
  it('passes a clean failover: the old primary stops before the new one acknowledges', () => {
    const h = [w('node1', 1, 0), w('node1', 1, 10), w('node1', 1, 20), w('node2', 2, 5000), w('node2', 2, 5010)];
    expect(checkSplitBrain(h).ok).toBe(true);
  });

  it('catches the old primary acknowledging after the new timeline was acknowledged', () => {
    const h = [w('node1', 1, 0), w('node2', 2, 5000), w('node2', 2, 5010), w('node1', 1, 5020), w('node1', 1, 5030)];
    const v = findSplitBrain(h);
    expect(v.map((x) => [x.older.node, x.older.sentAt, x.newer.node, x.newer.timeline])).toEqual([
      ['node1', 5020, 'node2', 2],
      ['node1', 5030, 'node2', 2],
    ]);
    const out = checkSplitBrain(h);
    expect(out.ok).toBe(false);
    expect(out.detail).toMatch(/^2 writes acknowledged after another node.*by node1 \(timeline 1\).*by node2 \(timeline 2\)/);
  });

  it('does not count requests that overlap the first acknowledgement on the newer timeline', () => {
    // node1's write was sent before node2's first acknowledgement and acknowledged after it: its
    // commit may have come first, so it is not a certain violation.
    const h = [w('node2', 2, 5000, 5002), w('node1', 1, 4999, 5100)];
    expect(checkSplitBrain(h).ok).toBe(true);
  });

  it('catches a violation across several timelines (newer than the write, not only the next one)', () => {
    const h = [w('node1', 1, 0), w('node2', 2, 100), w('node3', 3, 200), w('node2', 2, 300)];
    const v = findSplitBrain(h);
    expect(v).toHaveLength(1);
    expect([v[0]!.older.node, v[0]!.newer.node]).toEqual(['node2', 'node3']);
  });
});

describe('lost-write checker', () => {
  const h = [w('node1', 1, 0), w('node1', 1, 10), w('node2', 2, 20)];
  it('fails in synchronous mode when an acknowledged write is missing, naming it', () => {
    const out = checkLostWrites(h, [h[0]!.id, h[2]!.id], 'sync');
    expect(out.lost).toEqual([h[1]!.id]);
    expect(out.outcome.ok).toBe(false);
    expect(out.outcome.detail).toBe(`1 of 3 acknowledged writes missing on the final primary: ${h[1]!.id}`);
  });
  it('passes in synchronous mode when all are there', () => {
    expect(checkLostWrites(h, h.map((x) => x.id), 'sync').outcome.ok).toBe(true);
  });
  it('counts and reports, without failing, in asynchronous mode', () => {
    const out = checkLostWrites(h, [h[2]!.id], 'async');
    expect(out.lost).toHaveLength(2);
    expect(out.outcome).toEqual({ ok: true, detail: '2 of 3 acknowledged writes missing on the final primary (asynchronous mode: counted, not an error)' });
  });
});

describe('convergence checker', () => {
  const members = ['node1', 'node2', 'node3'];
  const s = (at: number, primaries: string[], streaming: string[]): ClusterShape => ({ at, members, primaries, streaming });
  it('passes when one leader and all others stream within the bound', () => {
    const out = checkConvergence([s(0, [], []), s(1000, ['node2'], ['node3']), s(3000, ['node2'], ['node1', 'node3'])], 500, 10_000);
    expect(out.ok).toBe(true);
    expect(out.seconds).toBe(2.5);
  });
  it('fails when a member never streams again within the bound', () => {
    const out = checkConvergence([s(1000, ['node2'], ['node3']), s(20_000, ['node2'], ['node3'])], 0, 10_000);
    expect(out.ok).toBe(false);
    expect(out.detail).toMatch(/not converged within 10 s/);
  });
  it('fails on converging too late', () => {
    expect(checkConvergence([s(15_000, ['node2'], ['node1', 'node3'])], 0, 10_000).ok).toBe(false);
  });
  it('fails when two members answered /primary at once, even if it converged later', () => {
    const out = checkConvergence([s(100, ['node1', 'node2'], ['node3']), s(2000, ['node2'], ['node1', 'node3'])], 0, 10_000);
    expect(out.ok).toBe(false);
    expect(out.detail).toBe('two members answered /primary at once: node1, node2');
  });
});

describe('unavailability and the seeded PRNG', () => {
  it('measures the longest gap without acknowledgements in the window, including open ends', () => {
    const h = [w('a', 1, 0, 100), w('a', 1, 0, 200), w('b', 2, 0, 3200), w('b', 2, 0, 3300)];
    expect(unavailableMs(h, 150, 4000)).toBe(3000);
    expect(unavailableMs(h, 150, 10_000)).toBe(6700);
  });
  it('repeats its sequence for a seed and differs across seeds', () => {
    const a = prng(42);
    const b = prng(42);
    const c = prng(43);
    const xs = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(xs);
    expect(c()).not.toBe(xs[0]);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
