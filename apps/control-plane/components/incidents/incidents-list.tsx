'use client';
/** Incidents, newest first, a page at a time (keyset on id), live: a new or changed incident refetches. */
import { useInfiniteQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '../../lib/trpc.ts';
import { AppShell } from '../app-shell.tsx';
import { useLiveDashboard } from '../use-dashboard.ts';
import { SEVERITY_TONE, STATUS_TONE, utcDateTime } from './format.ts';

export function IncidentsList() {
  const trpc = useTRPC();
  const { connected } = useLiveDashboard();
  const q = useInfiniteQuery(
    trpc.incidents.list.infiniteQueryOptions({ limit: 25 }, { getNextPageParam: (last) => last.next }),
  );
  const items = q.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <AppShell live={connected} current="incidents">
      <div className="page-head">
        <h1>Incidents</h1>
      </div>
      <section className="card" aria-label="Incident list">
        {q.error ? (
          <p className="form-error" role="alert">
            {q.error.message}
          </p>
        ) : !q.data ? (
          <p className="muted">Loading…</p>
        ) : items.length === 0 ? (
          <p className="empty">No incidents recorded.</p>
        ) : (
          <ol className="incident-list" aria-label="Incidents">
            {items.map((i) => (
              <li key={i.id} aria-label={`Incident ${i.id}: ${i.title}`}>
                <div className="incident-head">
                  <Link href={`/incidents/${i.id}`}>{i.title}</Link>
                  <span className="badges">
                    <span className={`badge ${SEVERITY_TONE[i.severity] ?? ''}`}>{i.severity}</span>
                    <span className={`badge ${STATUS_TONE[i.status] ?? ''}`}>{i.status}</span>
                    {i.endedAt === null && i.status !== 'resolved' ? <span className="badge bad">ongoing</span> : null}
                  </span>
                </div>
                <p className="muted small">
                  {i.cluster} · {utcDateTime(i.startedAt)} · {i.members.join(', ')} · {i.eventCount} events
                </p>
                <p className="incident-summary">{i.summary}</p>
              </li>
            ))}
          </ol>
        )}
        {q.hasNextPage ? (
          <button type="button" className="secondary" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
            {q.isFetchingNextPage ? 'Loading…' : 'Older incidents'}
          </button>
        ) : null}
      </section>
    </AppShell>
  );
}
