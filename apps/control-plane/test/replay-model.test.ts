import { describe, expect, it } from 'vitest';
import { replayAt, sampleAt } from '../components/replay-model.ts';

const T = Date.UTC(2026, 11, 4, 3, 12, 0);
const s = (sec: number, role: string, timeline = 1, lagBytes: number | null = 0) => ({ at: T + sec * 1000, role, timeline, lsn: 1000 + sec, lagBytes });

// node1 leads until it is killed at ~10 s (its last snapshot at 8 s); node2 promotes at 20 s
const data = {
  staleAfterMs: 6000,
  members: [
    { name: 'node1', samples: [s(0, 'primary'), s(2, 'primary'), s(4, 'primary'), s(6, 'primary'), s(8, 'primary')] },
    { name: 'node2', samples: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18].map((x) => s(x, 'replica', 1, 16)).concat([s(20, 'primary', 2), s(22, 'primary', 2)]) },
    { name: 'node3', samples: [s(1, 'replica'), s(21, 'replica', 2)] },
  ],
};

describe('replay', () => {
  it('finds the last sample at or before a moment', () => {
    const xs = data.members[0]!.samples;
    expect(sampleAt(xs, T - 1)).toBeNull();
    expect(sampleAt(xs, T)?.at).toBe(T);
    expect(sampleAt(xs, T + 5000)?.at).toBe(T + 4000);
    expect(sampleAt(xs, T + 99_000)?.at).toBe(T + 8000);
  });

  it('shows the old primary leading before the failover, nobody while it is silent, the new one after', () => {
    const before = replayAt(data, T + 5000);
    expect(before.leader).toBe('node1');
    expect(before.members.map((m) => [m.name, m.role, m.stale])).toEqual([
      ['node1', 'primary', false],
      ['node2', 'replica', false],
      ['node3', 'replica', false],
    ]);
    expect(before.members[1]!.sample?.lagBytes).toBe(16);
    const gap = replayAt(data, T + 16_000);
    expect(gap.leader).toBeNull();
    expect(gap.members[0]!.stale).toBe(true);
    expect(gap.members[2]!.stale).toBe(true); // node3 said nothing for 15 s
    const after = replayAt(data, T + 22_000);
    expect(after.leader).toBe('node2');
    expect(after.members[0]).toMatchObject({ name: 'node1', stale: true, role: 'primary' });
  });

  it('with two members saying primary, the newer timeline leads', () => {
    const split = { staleAfterMs: 6000, members: [{ name: 'a', samples: [s(0, 'primary', 3)] }, { name: 'b', samples: [s(0, 'primary', 4)] }] };
    expect(replayAt(split, T + 1000).leader).toBe('b');
  });
});
