import { describe, expect, it } from 'vitest';
import { clusterTimeline, isAhead, rankCandidates } from '../src/rank.ts';
import type { RankInput } from '../src/rank.ts';
import type { PeerView } from '../src/types.ts';
import { LSN, aPeer } from './builders.ts';

const MB = 1024 * 1024;

function rank(candidates: PeerView[], overrides: Partial<Omit<RankInput, 'candidates'>> = {}) {
  return rankCandidates({
    candidates,
    cluster: { optime: null, history: [], ...overrides.cluster },
    settings: { maximumLagOnFailover: MB, checkTimeline: false, ...overrides.settings },
  });
}

describe('rankCandidates', () => {
  it('orders eligible members by WAL position, then failover_priority, then name', () => {
    const ranked = rank([
      aPeer('d', { lsn: LSN }),
      aPeer('c', { lsn: LSN, tags: { failover_priority: 3 } }),
      aPeer('b', { lsn: LSN + 1 }),
      aPeer('a', { lsn: LSN }),
    ]);
    expect(ranked.map((c) => c.name)).toEqual(['b', 'c', 'a', 'd']);
    expect(ranked.every((c) => c.eligible && c.reasons.length === 0)).toBe(true);
  });

  it('puts ineligible members last, whatever their WAL position', () => {
    const ranked = rank([aPeer('a', { lsn: LSN + 100, tags: { nofailover: true } }), aPeer('b')]);
    expect(ranked.map((c) => [c.name, c.eligible])).toEqual([
      ['b', true],
      ['a', false],
    ]);
  });

  it('says why a member may not lead, in human phrases', () => {
    const ranked = rank(
      [
        aPeer('lagging', { lsn: LSN - Math.round(3.2 * MB) }),
        aPeer('nofailover', { tags: { nofailover: true } }),
        aPeer('priority0', { tags: { failover_priority: 0 } }),
        aPeer('crashed', { state: 'crashed', lsn: null }),
        aPeer('gone', { reachable: false }),
        aPeer('old', { timeline: 2 }),
        aPeer('blind', { lsn: null }),
      ],
      { cluster: { optime: LSN, history: [[1, 100, 'x'], [2, 200, 'y']] }, settings: { maximumLagOnFailover: MB, checkTimeline: true } },
    );
    const why = Object.fromEntries(ranked.map((c) => [c.name, c.reasons]));
    expect(why).toEqual({
      lagging: ['lag 3.2 MB exceeds maximum_lag_on_failover 1 MB', 'timeline 1 is behind cluster timeline 3'],
      nofailover: ['tagged nofailover', 'timeline 1 is behind cluster timeline 3'],
      priority0: ['tagged failover_priority 0', 'timeline 1 is behind cluster timeline 3'],
      crashed: ['not running (state: crashed)', 'timeline 1 is behind cluster timeline 3'],
      gone: ['unreachable'],
      old: ['timeline 2 is behind cluster timeline 3'],
      blind: ['WAL position unknown', 'timeline 1 is behind cluster timeline 3'],
    });
  });

  it('an unreachable member is judged only on what the DCS says (its tags)', () => {
    expect(rank([aPeer('a', { reachable: false, tags: { nofailover: true }, state: 'crashed' })])[0]?.reasons).toEqual([
      'unreachable',
      'tagged nofailover',
    ]);
  });

  it('checks timelines only when check_timeline is on and the cluster has a history', () => {
    const history: [number, number, string][] = [[4, 100, 'x']];
    expect(rank([aPeer('a')], { cluster: { optime: null, history } })[0]?.eligible).toBe(true);
    expect(rank([aPeer('a')], { settings: { maximumLagOnFailover: MB, checkTimeline: true } })[0]?.eligible).toBe(true);
    const unknown = rank([aPeer('a', { timeline: null })], {
      cluster: { optime: null, history },
      settings: { maximumLagOnFailover: MB, checkTimeline: true },
    });
    expect(unknown[0]?.reasons).toEqual(['timeline unknown']);
  });

  it('a lag of exactly maximum_lag_on_failover is still eligible; no optime means no lag check', () => {
    expect(rank([aPeer('a', { lsn: LSN - MB })], { cluster: { optime: LSN, history: [] } })[0]?.eligible).toBe(true);
    expect(rank([aPeer('a', { lsn: LSN - MB - 1 })], { cluster: { optime: LSN, history: [] } })[0]?.eligible).toBe(false);
    expect(rank([aPeer('a', { lsn: 0 })])[0]?.eligible).toBe(true);
  });

  it('reports Patroni effective priorities: 1 by default, 0 under nofailover', () => {
    const ranked = rank([
      aPeer('a'),
      aPeer('b', { tags: { nofailover: true, failover_priority: 5 } }),
      aPeer('c', { tags: { failover_priority: 7 } }),
    ]);
    expect(Object.fromEntries(ranked.map((c) => [c.name, c.priority]))).toEqual({ a: 1, b: 0, c: 7 });
  });

  it('an explicit nofailover: false makes failover_priority 0 eligible (nofailover wins, as in Patroni)', () => {
    expect(rank([aPeer('a', { tags: { nofailover: false, failover_priority: 0 } })])[0]?.eligible).toBe(true);
  });

  it('does not mutate its input', () => {
    const candidates = Object.freeze([aPeer('b'), aPeer('a')]);
    const settings = { maximumLagOnFailover: MB, checkTimeline: false };
    expect(() => rankCandidates({ candidates, cluster: { optime: null, history: [] }, settings })).not.toThrow();
    expect(candidates.map((c) => c.name)).toEqual(['b', 'a']);
  });
});

describe('isAhead', () => {
  const [a, b] = rank([aPeer('a', { lsn: LSN + 1 }), aPeer('b', { lsn: LSN, tags: { failover_priority: 9 } })]);
  it('a higher WAL position wins over a higher priority; equal members are never ahead of each other', () => {
    expect(a && b && isAhead(a, b)).toBe(true);
    expect(a && b && isAhead(b, a)).toBe(false);
    expect(a && isAhead(a, a)).toBe(false);
  });
});

describe('clusterTimeline', () => {
  it('is one past the highest timeline /history lists, or null without history', () => {
    expect(clusterTimeline([])).toBeNull();
    expect(clusterTimeline([[1, 100, 'no recovery target specified']])).toBe(2);
    expect(clusterTimeline([[1, 100, 'a'], [3, 300, 'b', '2024-01-01T00:00:00Z', 'n2'], [2, 200, 'c']])).toBe(4);
  });
});
