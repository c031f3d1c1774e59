'use client';
/**
 * One operation: the request (reason, ticket, who, how), its approvals (and why one no longer
 * counts), live progress and outcome; approve / reject / cancel / review for those who may (the
 * requester never sees "Approve").
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { AppShell } from '../app-shell.tsx';
import { formatTime } from '../format.ts';
import { useLiveDashboard } from '../use-dashboard.ts';
import { can, type TMe } from './roles.ts';

export function OperationDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  // live messages refetch it when it changes; the poll shows an approval turning void when the cluster moves
  const op = useQuery({ ...trpc.operations.get.queryOptions({ id }), refetchInterval: (q) => (q.state.data && ['awaiting_approval', 'running'].includes(q.state.data.status) ? 2000 : false) });
  const { connected } = useLiveDashboard(op.data?.cluster);
  const me = useQuery(trpc.auth.me.queryOptions()).data as TMe | null | undefined;
  const [note, setNote] = useState('');
  const after = { onSuccess: () => void op.refetch() };
  const approve = useMutation(trpc.operations.approve.mutationOptions(after));
  const reject = useMutation(trpc.operations.reject.mutationOptions(after));
  const cancel = useMutation(trpc.operations.cancel.mutationOptions(after));
  const review = useMutation(trpc.operations.review.mutationOptions(after));
  const o = op.data;
  const err = approve.error ?? reject.error ?? cancel.error ?? review.error;
  const mine = o && me && o.requestedById === me.id;
  const waiting = o?.status === 'awaiting_approval';

  return (
    <AppShell live={connected} current="operations">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/operations">Operations</Link> / {id.slice(0, 8)}
      </nav>
      {op.error ? <p className="form-error" role="alert">{op.error.message}</p> : null}
      {o ? (
        <>
          <div className="page-head">
            <h1>
              {o.type.replace('_', ' ')} on <Link href={`/clusters/${encodeURIComponent(o.cluster)}`}>{o.cluster}</Link>
            </h1>
            <span className="badge" role="status" aria-label="Status" data-status={o.status}>{o.status.replace('_', ' ')}</span>
          </div>
          <section className="card" aria-label="Request">
            <p><strong>Reason:</strong> {o.reason}{o.ticket ? <> · <strong>Ticket:</strong> {o.ticket}</> : null}</p>
            <p className="muted small">
              Requested by {o.requestedBy} ({o.channel === 'api_token' ? 'API token' : 'session'}) {formatTime(o.createdAt)} · parameters <code>{JSON.stringify(o.params)}</code>
              {o.breakGlass ? <strong className="bad"> · break-glass{o.review ? `, reviewed by ${o.review.by}` : ', awaiting review'}</strong> : null}
            </p>
            {o.stateChangedSinceRequest ? <p className="warn small">The cluster changed since the request: {o.stateChangedSinceRequest}.</p> : null}
            {o.closed ? <p>{o.status === 'rejected' ? 'Rejected' : 'Cancelled'} by {o.closed.by}: {o.closed.reason}</p> : null}
            {o.error ? <p className="form-error" role="alert">Failed: {o.error}</p> : null}
            {o.status === 'succeeded' ? <p className="ok">Succeeded: {String((o.result as { message?: string } | null)?.message ?? '')}</p> : null}
          </section>
          <section className="card" aria-labelledby="approvals-title">
            <h2 id="approvals-title">Approvals ({o.validApprovals}/{o.requiredApprovals})</h2>
            {o.approvals.length === 0 ? <p className="muted">None yet.</p> : null}
            <ul aria-label="Approvals">
              {o.approvals.map((a) => (
                <li key={a.approver}>
                  {a.approver} · {formatTime(a.at)} · {a.valid ? 'counts' : <span className="warn">does not count: {a.invalidReason}</span>}
                </li>
              ))}
            </ul>
            {waiting && me && !mine && can(me, o.cluster, 'approver') ? (
              <div className="actions">
                <button type="button" className="primary" disabled={approve.isPending} onClick={() => approve.mutate({ id, expectedState: o.stateNow })}>Approve</button>
                <input aria-label="Why reject" placeholder="why reject" value={note} onChange={(e) => setNote(e.target.value)} />
                <button type="button" className="danger" disabled={note.trim().length < 3} onClick={() => reject.mutate({ id, reason: note })}>Reject</button>
              </div>
            ) : null}
            {waiting && mine ? <p className="muted small">You requested it: someone else must approve it.</p> : null}
            {waiting && (mine || can(me, o.cluster, 'admin')) ? (
              <div className="actions">
                <input aria-label="Why cancel" placeholder="why cancel" value={note} onChange={(e) => setNote(e.target.value)} />
                <button type="button" className="secondary" disabled={note.trim().length < 3} onClick={() => cancel.mutate({ id, reason: note })}>Cancel request</button>
              </div>
            ) : null}
            {o.breakGlass && !o.review && me && !mine && can(me, o.cluster, 'approver') ? (
              <div className="actions">
                <input aria-label="Review note" placeholder="what the review found" value={note} onChange={(e) => setNote(e.target.value)} />
                <button type="button" className="secondary" disabled={note.trim().length < 3} onClick={() => review.mutate({ id, note })}>Record review</button>
              </div>
            ) : null}
            {err ? <p className="form-error" role="alert">{err.message}</p> : null}
          </section>
          <section className="card" aria-labelledby="progress-title">
            <h2 id="progress-title">Progress</h2>
            {o.progress.length === 0 ? <p className="muted">Not started.</p> : null}
            <ol aria-label="Progress">
              {o.progress.map((p, i) => (
                <li key={i}><span className="muted small">{formatTime(p.at)} · {p.member}</span> {p.message}</li>
              ))}
            </ol>
          </section>
        </>
      ) : null}
    </AppShell>
  );
}
