/**
 * Lag over time for a cluster (or one member): raw samples for short recent ranges, the one-minute
 * table beyond, both bucketed in SQL (date_bin) so a chart never gets more than ~maxPoints points.
 */
import { z } from 'zod';
import { Prisma, type TDb } from '../db.ts';
import { pickLagResolution, type TLagResolution } from '../lib/lag-resolution.ts';

export const ZLagSeriesInput = z
  .object({
    scope: z.string().min(1),
    member: z.string().min(1).optional(),
    from: z.iso.datetime({ offset: true }),
    to: z.iso.datetime({ offset: true }).optional(),
    maxPoints: z.number().int().min(10).max(5000).default(720),
  })
  .refine((v) => v.to === undefined || new Date(v.from) < new Date(v.to), { message: 'from must be before to', path: ['from'] });
export type TLagSeriesInput = z.input<typeof ZLagSeriesInput>;

export interface TLagPoint {
  /** Start of the bucket (ISO). */
  t: string;
  samples: number;
  /** Averages over the bucket (null: no value reported). */
  receiveBytes: number | null;
  replayBytes: number | null;
  receiveSeconds: number | null;
  replaySeconds: number | null;
  /** Maxima over the bucket. */
  replayBytesMax: number | null;
  replaySecondsMax: number | null;
}

export interface TLagSeries extends TLagResolution {
  from: string;
  to: string;
  series: Array<{ member: string; points: TLagPoint[] }>;
}

interface Row {
  member: string;
  t: Date;
  samples: number;
  receive_bytes: number | null;
  replay_bytes: number | null;
  receive_seconds: number | null;
  replay_seconds: number | null;
  replay_bytes_max: number | null;
  replay_seconds_max: number | null;
}

export async function getLagSeries(db: TDb, input: TLagSeriesInput, opts: { now: Date; rawRetentionHours: number }): Promise<TLagSeries | null> {
  const q = ZLagSeriesInput.parse(input);
  const from = new Date(q.from);
  const to = q.to ? new Date(q.to) : opts.now;
  const cluster = await db.cluster.findUnique({ where: { scope: q.scope }, select: { id: true } });
  if (!cluster) return null;
  const res = pickLagResolution({ from, to, now: opts.now, rawRetentionHours: opts.rawRetentionHours, maxPoints: q.maxPoints });
  const member = q.member ?? null;
  const step = Prisma.sql`make_interval(secs => ${res.stepSeconds}::int)`;
  const rows =
    res.source === 'raw'
      ? await db.$queryRaw<Row[]>`
          SELECT m.name AS member, date_bin(${step}, s.at, 'epoch'::timestamptz) AS t, count(*)::int AS samples,
                 avg(s.receive_lag_bytes)::float8 AS receive_bytes, avg(s.replay_lag_bytes)::float8 AS replay_bytes,
                 avg(s.receive_lag_seconds)::float8 AS receive_seconds, avg(s.replay_lag_seconds)::float8 AS replay_seconds,
                 max(s.replay_lag_bytes)::float8 AS replay_bytes_max, max(s.replay_lag_seconds)::float8 AS replay_seconds_max
            FROM state_samples s JOIN members m ON m.id = s.member_id
           WHERE m.cluster_id = ${cluster.id}::uuid AND (${member}::text IS NULL OR m.name = ${member}::text)
             AND s.at >= ${from} AND s.at < ${to}
           GROUP BY 1, 2 ORDER BY 1, 2`
      : await db.$queryRaw<Row[]>`
          SELECT m.name AS member, date_bin(${step}, x.bucket, 'epoch'::timestamptz) AS t, sum(x.samples)::int AS samples,
                 (sum(x.receive_lag_bytes_sum) / nullif(sum(x.receive_lag_bytes_n), 0))::float8 AS receive_bytes,
                 (sum(x.replay_lag_bytes_sum) / nullif(sum(x.replay_lag_bytes_n), 0))::float8 AS replay_bytes,
                 (sum(x.receive_lag_seconds_sum) / nullif(sum(x.receive_lag_seconds_n), 0))::float8 AS receive_seconds,
                 (sum(x.replay_lag_seconds_sum) / nullif(sum(x.replay_lag_seconds_n), 0))::float8 AS replay_seconds,
                 max(x.replay_lag_bytes_max)::float8 AS replay_bytes_max, max(x.replay_lag_seconds_max)::float8 AS replay_seconds_max
            FROM state_sample_minutes x JOIN members m ON m.id = x.member_id
           WHERE m.cluster_id = ${cluster.id}::uuid AND (${member}::text IS NULL OR m.name = ${member}::text)
             AND x.bucket >= date_bin('1 minute', ${from}::timestamptz, 'epoch'::timestamptz) AND x.bucket < ${to}
           GROUP BY 1, 2 ORDER BY 1, 2`;
  const byMember = new Map<string, TLagPoint[]>();
  for (const r of rows) {
    const list = byMember.get(r.member) ?? [];
    list.push({
      t: new Date(r.t).toISOString(),
      samples: Number(r.samples),
      receiveBytes: r.receive_bytes,
      replayBytes: r.replay_bytes,
      receiveSeconds: r.receive_seconds,
      replaySeconds: r.replay_seconds,
      replayBytesMax: r.replay_bytes_max,
      replaySecondsMax: r.replay_seconds_max,
    });
    byMember.set(r.member, list);
  }
  return {
    ...res,
    from: from.toISOString(),
    to: to.toISOString(),
    series: [...byMember.entries()].map(([m, points]) => ({ member: m, points })),
  };
}
