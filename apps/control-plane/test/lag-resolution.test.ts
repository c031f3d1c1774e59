import { describe, expect, it } from 'vitest';
import { bucketAverage, bucketStart, foldSample, pickLagResolution } from '../server/lib/lag-resolution.ts';

const now = new Date('2026-11-26T12:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000);

describe('lag chart resolution', () => {
  it('reads raw samples for the last hour, in 5-second buckets for 720 points', () => {
    expect(pickLagResolution({ from: ago(3600), to: now, now, rawRetentionHours: 24 })).toEqual({ source: 'raw', stepSeconds: 5 });
  });

  it('tolerates a range a hair longer than asked (two clocks)', () => {
    expect(pickLagResolution({ from: ago(3600.05), to: now, now, rawRetentionHours: 24 })).toEqual({ source: 'raw', stepSeconds: 5 });
  });

  it('reads raw samples at full resolution for short ranges', () => {
    expect(pickLagResolution({ from: ago(300), to: now, now, rawRetentionHours: 24 })).toEqual({ source: 'raw', stepSeconds: 1 });
  });

  it('reads the one-minute table for the last week, in 15-minute buckets', () => {
    expect(pickLagResolution({ from: ago(7 * 86400), to: now, now, rawRetentionHours: 24 })).toEqual({ source: 'minute', stepSeconds: 900 });
  });

  it('reads the one-minute table for a short range that raw retention no longer covers', () => {
    const from = ago(30 * 3600);
    expect(pickLagResolution({ from, to: new Date(from.getTime() + 3600_000), now, rawRetentionHours: 24 })).toEqual({ source: 'minute', stepSeconds: 60 });
  });

  it('never returns a step below the table resolution, and caps huge ranges', () => {
    expect(pickLagResolution({ from: ago(24 * 3600), to: now, now, rawRetentionHours: 24, maxPoints: 100000 }).stepSeconds).toBe(60);
    expect(pickLagResolution({ from: ago(3650 * 86400), to: now, now, rawRetentionHours: 24 }).stepSeconds).toBe(86400);
  });
});

describe('bucket math', () => {
  it('aligns buckets on the epoch', () => {
    expect(bucketStart(new Date('2026-11-26T12:03:41.500Z'), 60).toISOString()).toBe('2026-11-26T12:03:00.000Z');
    expect(bucketStart(new Date('2026-11-26T12:07:41Z'), 300).toISOString()).toBe('2026-11-26T12:05:00.000Z');
  });

  it('averages only reported values, and keeps the maximum', () => {
    let agg = { sum: 0, n: 0, max: null as number | null };
    for (const v of [100, null, 300, 200]) agg = foldSample(agg, v);
    expect(agg).toEqual({ sum: 600, n: 3, max: 300 });
    expect(bucketAverage(agg.sum, agg.n)).toBe(200);
    expect(bucketAverage(0, 0)).toBeNull();
  });

  it('combining minute buckets gives the same average as the raw samples', () => {
    const minuteA = [10, 20, 30].reduce((a, v) => foldSample(a, v), { sum: 0, n: 0, max: null as number | null });
    const minuteB = [40, null].reduce((a, v) => foldSample(a, v), { sum: 0, n: 0, max: null as number | null });
    expect(bucketAverage(minuteA.sum + minuteB.sum, minuteA.n + minuteB.n)).toBe(25);
    expect(Math.max(minuteA.max ?? 0, minuteB.max ?? 0)).toBe(40);
  });
});
