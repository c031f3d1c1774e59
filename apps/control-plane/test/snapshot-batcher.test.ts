import { describe, expect, it } from 'vitest';
import type { TSnapshot } from '@keel/protocol';
import { SnapshotBatcher, type TBatchEntry } from '../server/agents/snapshot-batcher.ts';

const snap = (seq: number, atMs: number): TSnapshot => ({ type: 'snapshot', seq, at: new Date(atMs).toISOString() }) as unknown as TSnapshot;

function setup(store?: (e: TBatchEntry[]) => Promise<Set<string>>) {
  const calls: TBatchEntry[][] = [];
  const published: TBatchEntry[][] = [];
  const b = new SnapshotBatcher({
    intervalMs: 5,
    maxBatch: 1000,
    now: () => 10_000_000,
    store: store ?? (async (entries) => (calls.push(entries), new Set(entries.map((e) => e.memberId)))),
    stored: (entries) => published.push(entries),
  });
  return { b, calls, published };
}

describe('SnapshotBatcher', () => {
  it('writes many members in one statement and publishes each once', async () => {
    const { b, calls, published } = setup();
    const done = Promise.all(Array.from({ length: 300 }, (_, i) => b.submit(`m${i}`, snap(1000 + i, 1_000_000))));
    expect(await done).toEqual(Array.from({ length: 300 }, () => true));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(300);
    expect(published.flat()).toHaveLength(300);
  });

  it('keeps one snapshot per member and second: a newer one of the same second replaces it, a replay of other seconds is kept whole', async () => {
    const { b, calls, published } = setup();
    const same = [b.submit('a', snap(1, 5_000_100)), b.submit('a', snap(2, 5_000_900))];
    const replay = [b.submit('b', snap(1, 1_000)), b.submit('b', snap(2, 2_000)), b.submit('b', snap(3, 3_000))];
    await Promise.all([...same, ...replay]);
    const rows = calls.flat();
    expect(rows.filter((r) => r.memberId === 'a').map((r) => r.snapshot.seq)).toEqual([2]);
    expect(rows.filter((r) => r.memberId === 'b').map((r) => r.snapshot.seq)).toEqual([1, 2, 3]);
    // browsers get the newest of each member
    expect(published.flat().map((e) => `${e.memberId}:${e.snapshot.seq}`).sort()).toEqual(['a:2', 'b:3']);
    expect(b.stats.superseded).toBe(1);
  });

  it('while the database is behind, live snapshots of other seconds supersede each other too (one queued per member)', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const rows: TBatchEntry[][] = [];
    const { b } = setup(async (entries) => {
      rows.push(entries);
      await gate;
      return new Set(entries.map((e) => e.memberId));
    });
    const first = b.submit('a', snap(1, 9_999_000));
    await new Promise((r) => setTimeout(r, 20)); // the first flush is under way, and slow
    const later = [b.submit('a', snap(2, 9_997_000)), b.submit('a', snap(3, 9_998_000)), b.submit('a', snap(4, 9_999_500))];
    expect(b.size).toBe(1);
    release();
    await Promise.all([first, ...later]);
    expect(rows.map((r) => r.map((e) => e.snapshot.seq))).toEqual([[1], [4]]);
  });

  it('answers a snapshot not above the queued one as a duplicate, and one the database refused as not stored', async () => {
    const { b } = setup(async () => new Set());
    const first = b.submit('a', snap(5, 1_000));
    expect(await b.submit('a', snap(4, 2_000))).toBe(false);
    expect(await first).toBe(false);
  });

  it('rejects every waiter of a failed flush, and settled() waits for the member queued snapshots', async () => {
    let fail = true;
    const { b } = setup(async (entries) => {
      await new Promise((r) => setTimeout(r, 20));
      if (fail) throw new Error('database away');
      return new Set(entries.map((e) => e.memberId));
    });
    await expect(b.submit('a', snap(1, 1_000))).rejects.toThrow('database away');
    fail = false;
    let stored = false;
    void b.submit('a', snap(2, 2_000)).then(() => (stored = true));
    await b.settled('a');
    expect(stored).toBe(true);
    expect(b.size).toBe(0);
  });
});
