'use client';
/**
 * Replication lag over time (recharts): one line per member, the worst value of each bucket, over
 * the last hour, day or week (the lag router picks raw samples or one-minute buckets). Refreshes
 * on its own, faster for the short range.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useId, useMemo, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useTRPC } from '../lib/trpc.ts';
import { formatBytes, formatSeconds, formatTime } from './format.ts';
import { useNow } from './use-dashboard.ts';
import { chartRows, type TLagMetric } from './view-model.ts';

export const RANGES = {
  '1h': { label: '1 h', ms: 3600_000, refreshMs: 5_000, long: 'the last hour' },
  '24h': { label: '24 h', ms: 24 * 3600_000, refreshMs: 60_000, long: 'the last 24 hours' },
  '7d': { label: '7 d', ms: 7 * 24 * 3600_000, refreshMs: 300_000, long: 'the last 7 days' },
} as const;
export type TRange = keyof typeof RANGES;

const COLORS = ['var(--chart-1)', 'var(--chart-2)', 'var(--chart-3)', 'var(--chart-4)', 'var(--chart-5)', 'var(--chart-6)'];

/** Axis ticks as precise as the shown span needs. */
function tickTime(spanMs: number) {
  return (t: number) => {
    const d = new Date(t);
    if (spanMs > 2 * 24 * 3600_000) return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
    if (spanMs < 15 * 60_000) return d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
    return d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false });
  };
}

function Segmented<T extends string>({ label, value, options, onChange }: { label: string; value: T; options: Array<{ value: T; label: string }>; onChange: (v: T) => void }) {
  return (
    <div className="segmented" role="radiogroup" aria-label={label}>
      {options.map((o) => (
        <button key={o.value} type="button" role="radio" aria-checked={value === o.value} onClick={() => onChange(o.value)}>
          {o.label}
        </button>
      ))}
    </div>
  );
}

export function LagChart({ scope, leader }: { scope: string; leader: string | null }) {
  const trpc = useTRPC();
  const titleId = useId();
  const [range, setRange] = useState<TRange>('1h');
  const [metric, setMetric] = useState<TLagMetric>('bytes');
  const r = RANGES[range];
  const now = useNow(r.refreshMs);
  // `from` moves in steps of refreshMs so the query key (and the fetch) changes once per step
  const from = new Date(Math.floor(now / r.refreshMs) * r.refreshMs - r.ms).toISOString();
  const q = useQuery({
    ...trpc.lag.series.queryOptions({ scope, from, maxPoints: 360 }),
    placeholderData: keepPreviousData,
    refetchInterval: r.refreshMs,
  });
  const data = useMemo(() => (q.data ? chartRows(q.data.series, metric, leader) : null), [q.data, metric, leader]);
  const fmt = metric === 'bytes' ? formatBytes : formatSeconds;
  const rangeFromMs = q.data ? Date.parse(q.data.from) : Date.parse(from);
  const toMs = q.data ? Date.parse(q.data.to) : now;
  // a young cluster has minutes of history in a week-long range: start where the data starts
  const firstMs = data?.rows[0]?.t ?? null;
  const trimmed = firstMs !== null && firstMs > rangeFromMs;
  const fromMs = trimmed ? firstMs : rangeFromMs;
  const described = data
    ? `Replay lag in ${metric} over ${r.long}: ${data.members.length ? data.members.map((m) => {
        const last = [...data.rows].reverse().find((row) => row[m] !== null && row[m] !== undefined)?.[m];
        return `${m} ${fmt(last ?? null)}`;
      }).join(', ') : 'no data'}`
    : 'Loading lag history';

  return (
    <figure aria-labelledby={titleId}>
      <div className="card-head">
        <h2 id={titleId}>Replication lag</h2>
        <div className="controls">
          <Segmented
            label="Lag measure"
            value={metric}
            onChange={setMetric}
            options={[
              { value: 'bytes', label: 'Bytes' },
              { value: 'seconds', label: 'Seconds' },
            ]}
          />
          <Segmented label="Time range" value={range} onChange={setRange} options={(Object.keys(RANGES) as TRange[]).map((k) => ({ value: k, label: RANGES[k].label }))} />
        </div>
      </div>
      {q.error && !q.data ? (
        <p className="form-error" role="alert">
          {q.error.message}
        </p>
      ) : null}
      <div className="chart" role="img" aria-label={described} data-points={data?.points ?? 0}>
        {data && data.members.length > 0 ? (
          <ResponsiveContainer width="100%" height="100%">
            <LineChart data={data.rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="t" type="number" scale="time" domain={[fromMs, toMs]} tickFormatter={tickTime(toMs - fromMs)} minTickGap={40} tickLine={false} axisLine={false} fontSize={12} />
              <YAxis
                tickFormatter={(v: number) => fmt(v)}
                width={64}
                tickLine={false}
                axisLine={false}
                fontSize={12}
                allowDecimals={metric === 'seconds'}
                // no lag at all still gets a readable scale (0 to 1 kB, 0 to 1 s)
                domain={[0, (max: number) => Math.max(max, metric === 'bytes' ? 1024 : 1)]}
              />
              <Tooltip
                labelFormatter={(t) => new Date(Number(t)).toLocaleString('en-GB', { hour12: false })}
                formatter={(v) => fmt(typeof v === 'number' ? v : null)}
                contentStyle={{ fontSize: 13 }}
              />
              <Legend iconType="plainline" wrapperStyle={{ fontSize: 13 }} />
              {data.members.map((m, i) => (
                <Line
                  key={m}
                  type="linear"
                  dataKey={m}
                  name={m}
                  stroke={COLORS[i % COLORS.length]}
                  strokeWidth={2}
                  dot={data.rows.length < 3}
                  connectNulls
                  isAnimationActive={false}
                />
              ))}
            </LineChart>
          </ResponsiveContainer>
        ) : (
          <p className="empty">{q.isPending ? 'Loading…' : 'No lag samples in this range yet.'}</p>
        )}
      </div>
      {q.data ? (
        <figcaption className="chart-foot">
          Worst replay lag per {q.data.stepSeconds >= 60 ? `${q.data.stepSeconds / 60} min` : `${q.data.stepSeconds} s`} bucket ({q.data.source === 'raw' ? 'raw samples' : 'one-minute history'})
          {trimmed ? `; samples since ${formatTime(new Date(fromMs).toISOString())}` : ''}.
        </figcaption>
      ) : null}
    </figure>
  );
}
