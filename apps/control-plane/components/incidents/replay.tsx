'use client';
/**
 * The replay scrubber: the cluster's topology, roles and lag at any moment of the incident, from the
 * members' stored snapshots (replay-model.ts). Starts before the first event, i.e. as it was.
 */
import { useMemo } from 'react';
import type { TReplayData } from '../../server/services/get-incident.ts';
import { formatBytes } from '../format.ts';
import { replayAt } from '../replay-model.ts';
import { utcTime } from './format.ts';

export interface TReplayMark {
  at: number;
  label: string;
}

export function Replay({ data, marks, at, onAt }: { data: TReplayData; marks: TReplayMark[]; at: number | null; onAt: (t: number) => void }) {
  const from = Date.parse(data.from);
  const to = Date.parse(data.to);
  const t = at === null ? from : Math.min(Math.max(at, from), to);
  const frame = useMemo(() => replayAt(data, t), [data, t]);
  const replicas = frame.members.filter((m) => m.name !== frame.leader);
  return (
    <div className="replay">
      <label className="replay-scrub">
        <span>
          Replay at <time dateTime={new Date(t).toISOString()}>{utcTime(t)} UTC</time>
        </span>
        <input type="range" aria-label="Replay time" min={from} max={to} step={250} value={t} onChange={(e) => onAt(Number(e.target.value))} />
      </label>
      <div className="replay-marks" role="group" aria-label="Jump to">
        <button type="button" className="link-button" onClick={() => onAt(from)}>
          before
        </button>
        {marks.map((m) => (
          <button key={`${m.at}-${m.label}`} type="button" className="link-button" onClick={() => onAt(m.at)} title={utcTime(m.at)}>
            {m.label}
          </button>
        ))}
      </div>
      <div role="group" aria-label="Replayed cluster">
        <p className="replay-leader" role="group" aria-label="Replayed leader">
          Leader {frame.leader ?? 'none'}
        </p>
        <ul className="replay-members" aria-label="Replayed members">
          {frame.members.map((m) => {
            const role = m.sample === null ? 'no report yet' : m.stale ? `no report (last said ${m.role})` : m.name === frame.leader ? 'leader' : m.role;
            return (
              <li key={m.name} aria-label={`${m.name}: ${role}`} data-leader={m.name === frame.leader} data-stale={m.stale}>
                <strong>{m.name}</strong> <span className={`badge ${m.name === frame.leader ? 'leader' : m.stale ? 'bad' : ''}`}>{role}</span>
                {m.sample && !m.stale ? (
                  <span className="muted small">
                    {' '}
                    TL {m.sample.timeline ?? '?'}
                    {m.name !== frame.leader ? ` · replay lag ${formatBytes(m.sample.lagBytes)}` : ''}
                  </span>
                ) : null}
              </li>
            );
          })}
        </ul>
        {frame.leader && replicas.length ? <p className="muted small">{replicas.filter((r) => !r.stale).length} replica(s) reporting</p> : null}
      </div>
      {data.truncated ? <p className="muted small">The replay is cut short: too many snapshots in this window.</p> : null}
    </div>
  );
}
