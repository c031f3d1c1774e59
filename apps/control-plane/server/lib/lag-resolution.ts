/**
 * Which table and bucket size a lag chart reads, from the range asked for: raw samples while the
 * range fits in the raw retention and is short enough (default: up to 6 hours), else the one-minute
 * table; the bucket is the smallest "nice" step that keeps the chart at or under maxPoints.
 */
export const RAW_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600] as const;
export const MINUTE_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400] as const;

export interface TLagResolution {
  source: 'raw' | 'minute';
  stepSeconds: number;
}

export function pickLagResolution(opts: {
  from: Date;
  to: Date;
  now: Date;
  rawRetentionHours: number;
  /** Ranges up to this long read raw samples (when still retained). */
  rawMaxRangeSeconds?: number;
  maxPoints?: number;
}): TLagResolution {
  const maxPoints = opts.maxPoints ?? 720;
  const rangeSeconds = Math.max(1, (opts.to.getTime() - opts.from.getTime()) / 1000);
  const rawMax = opts.rawMaxRangeSeconds ?? 6 * 3600;
  const rawStillKept = opts.now.getTime() - opts.from.getTime() <= opts.rawRetentionHours * 3600 * 1000;
  const source = rangeSeconds <= rawMax && rawStillKept ? 'raw' : 'minute';
  const steps: readonly number[] = source === 'raw' ? RAW_STEPS : MINUTE_STEPS;
  // 1% of slack: "the last hour" computed from two clocks is a hair over 3600 s
  const wanted = rangeSeconds / maxPoints / 1.01;
  const stepSeconds = steps.find((s) => s >= wanted) ?? steps[steps.length - 1] ?? 60;
  return { source, stepSeconds };
}

/** The start of the bucket of `at` (buckets aligned on the epoch, like date_bin with origin 1970-01-01). */
export function bucketStart(at: Date, stepSeconds: number): Date {
  const ms = stepSeconds * 1000;
  return new Date(Math.floor(at.getTime() / ms) * ms);
}

/** Average of a bucket from its sum and count of non-null values (null when there were none). */
export function bucketAverage(sum: number, n: number): number | null {
  return n > 0 ? sum / n : null;
}

/** Fold one sample value into running (sum, n, max) aggregates, as the one-minute table does. */
export function foldSample(agg: { sum: number; n: number; max: number | null }, value: number | null): { sum: number; n: number; max: number | null } {
  if (value === null) return agg;
  return { sum: agg.sum + value, n: agg.n + 1, max: agg.max === null ? value : Math.max(agg.max, value) };
}
