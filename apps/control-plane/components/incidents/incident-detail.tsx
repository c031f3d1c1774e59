'use client';
/**
 * One incident: what happened (the generated summary), the replay, the timeline (agent events and
 * the control plane's own entries, each with the decision or operation behind it), notes, and the
 * on-call actions (acknowledge, note, resolve: operators; export the postmortem draft: everyone).
 * Live: every change to the incident refetches it (use-dashboard.ts).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { AppShell } from '../app-shell.tsx';
import { useLiveDashboard } from '../use-dashboard.ts';
import { SEVERITY_TONE, STATUS_TONE, utcDateTime, utcTime } from './format.ts';
import { Replay, type TReplayMark } from './replay.tsx';

const MARKED = new Set(['leader_key_gone', 'lock_lost', 'fenced', 'promoted', 'failover', 'postgres_down', 'postgres_up', 'rewind_done', 'reclone', 'dcs_unreachable', 'dcs_back']);

function download(filename: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/markdown' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function IncidentDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const { connected } = useLiveDashboard();
  const q = useQuery(trpc.incidents.get.queryOptions({ id }));
  const [note, setNote] = useState('');
  const [at, setAt] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const done = {
    onSuccess: () => {
      setError(null);
      void qc.invalidateQueries({ queryKey: trpc.incidents.pathKey() });
    },
    onError: (e: { message: string }) => setError(e.message),
  };
  const ack = useMutation(trpc.incidents.acknowledge.mutationOptions(done));
  const resolve = useMutation(trpc.incidents.resolve.mutationOptions(done));
  const annotate = useMutation(trpc.incidents.annotate.mutationOptions({ ...done, onSuccess: () => (setNote(''), done.onSuccess()) }));
  const exportDraft = async () => {
    try {
      const r = await qc.fetchQuery(trpc.incidents.postmortem.queryOptions({ id }, { staleTime: 0 }));
      download(r.filename, r.markdown);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const d = q.data;
  if (q.error || !d) {
    return (
      <AppShell live={connected} current="incidents">
        {q.error ? (
          <p className="form-error" role="alert">
            {q.error.message}
          </p>
        ) : (
          <p className="muted">Loading…</p>
        )}
        <p>
          <Link href="/incidents">All incidents</Link>
        </p>
      </AppShell>
    );
  }
  const marks: TReplayMark[] = d.timeline.filter((e) => e.source === 'agent' && MARKED.has(e.type)).map((e) => ({ at: Date.parse(e.at), label: `${utcTime(e.at)} ${e.who} ${e.type.replace(/_/g, ' ')}` }));
  const ongoing = d.endedAt === null && d.status !== 'resolved';
  return (
    <AppShell live={connected} current="incidents">
      <p className="muted small">
        <Link href="/incidents">Incidents</Link> · <Link href={`/clusters/${d.cluster}`}>{d.cluster}</Link>
      </p>
      <div className="page-head">
        <h1>{d.title}</h1>
        <span className="badges">
          <span className={`badge ${SEVERITY_TONE[d.severity] ?? ''}`}>{d.severity}</span>
          <span className={`badge ${STATUS_TONE[d.status] ?? ''}`} aria-label={`Status ${d.status}`}>
            {d.status}
          </span>
          {ongoing ? <span className="badge bad">ongoing</span> : null}
        </span>
      </div>
      <section className="card" aria-labelledby="what-title">
        <h2 id="what-title">What happened</h2>
        <p className="incident-summary" aria-label="Summary">
          {d.summary}
        </p>
        <p className="muted small">
          {utcDateTime(d.startedAt)} – {d.endedAt ? utcDateTime(d.endedAt) : 'ongoing'} · members {d.members.join(', ')} · {d.eventCount} events
          {d.acknowledgedBy ? ` · acknowledged by ${d.acknowledgedBy}` : ''}
          {d.resolvedBy ? ` · resolved by ${d.resolvedBy}` : ''}
        </p>
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="incident-actions">
          {d.canManage && d.status === 'open' ? (
            <button type="button" className="primary" disabled={ack.isPending} onClick={() => ack.mutate({ id })}>
              Acknowledge
            </button>
          ) : null}
          {d.canManage && d.status !== 'resolved' ? (
            <button type="button" className="secondary" disabled={resolve.isPending} onClick={() => resolve.mutate({ id })}>
              Resolve
            </button>
          ) : null}
          <button type="button" className="secondary" onClick={() => void exportDraft()}>
            Export postmortem draft
          </button>
        </div>
      </section>

      <section className="card" aria-labelledby="replay-title">
        <h2 id="replay-title">Replay</h2>
        <Replay data={d.replay} marks={marks} at={at} onAt={setAt} />
      </section>

      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline</h2>
        <p className="muted small">Agent events at the agent&apos;s time, control-plane entries at the server&apos;s (UTC); see the architecture notes for the order.</p>
        <ol className="timeline incident-timeline" aria-label="Incident timeline">
          {d.timeline.map((e) => (
            <li key={e.id} data-kind={e.type === 'decision_changed' ? 'minor' : 'major'} data-type={e.type}>
              <time dateTime={e.at} title={`received ${utcDateTime(e.receivedAt)}`}>
                <button type="button" className="link-button" onClick={() => setAt(Date.parse(e.at))} aria-label={`Replay at ${utcTime(e.at)}`}>
                  {utcTime(e.at)}
                </button>
              </time>
              <span className="what">
                <span className={`badge ${e.source === 'agent' ? '' : 'info'}`}>{e.type.replace(/_/g, ' ')}</span>
                <span>{e.summary}</span>
                {e.decision && e.type !== 'decision_changed' ? <span className="muted small">why: {e.decision}</span> : null}
                {e.operationId ? (
                  <Link className="small" href={`/operations/${e.operationId}`}>
                    operation
                  </Link>
                ) : null}
              </span>
            </li>
          ))}
        </ol>
      </section>

      <section className="card" aria-labelledby="notes-title">
        <h2 id="notes-title">Notes</h2>
        {d.notes.length === 0 ? <p className="empty">No notes yet.</p> : null}
        <ul className="incident-notes" aria-label="Notes">
          {d.notes.map((n) => (
            <li key={n.id}>
              <span className="muted small">
                {utcDateTime(n.at)} · {n.author}
              </span>
              <p>{n.text}</p>
            </li>
          ))}
        </ul>
        {d.canManage ? (
          <form
            className="incident-note-form"
            onSubmit={(ev) => {
              ev.preventDefault();
              annotate.mutate({ id, text: note });
            }}
          >
            <label>
              <span>Add a note</span>
              <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={3} maxLength={4000} />
            </label>
            <button type="submit" className="secondary" disabled={annotate.isPending || note.trim() === ''}>
              Add note
            </button>
          </form>
        ) : null}
      </section>
    </AppShell>
  );
}
