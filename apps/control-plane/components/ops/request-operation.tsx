'use client';
/**
 * The request form on a cluster page (operators): type, parameters, reason (required), ticket; the
 * preview (computed by the server like the agents would) is shown before submitting, with why each
 * member is or is not eligible, the patch diff and restart order, the timing effect, and the refusal.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useId, useState, type FormEvent } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { OPERATION_TYPES, type TOperationRequestInput, type TOperationType } from '../../server/lib/operation-types.ts';

const LABELS: Record<TOperationType, string> = {
  switchover: 'Switchover', failover: 'Failover', restart: 'Restart', rolling_restart: 'Rolling restart', reinitialize: 'Reinitialize',
  reload: 'Reload', pause: 'Pause', resume: 'Resume', config_patch: 'Config patch',
};

function paramsOf(type: TOperationType, f: { candidate: string; member: string; members: string; pendingOnly: boolean; scheduledAt: string; patch: string }): TOperationRequestInput['params'] | Error {
  const list = f.members.split(',').map((s) => s.trim()).filter(Boolean);
  switch (type) {
    case 'switchover':
      return { ...(f.candidate ? { candidate: f.candidate } : {}), ...(f.scheduledAt ? { scheduledAt: f.scheduledAt } : {}) };
    case 'failover':
      return { candidate: f.candidate };
    case 'restart':
      return { ...(list.length ? { members: list } : {}), ...(f.pendingOnly ? { pendingOnly: true } : {}), ...(f.scheduledAt ? { scheduledAt: f.scheduledAt } : {}) };
    case 'rolling_restart':
      return f.pendingOnly ? { pendingOnly: true } : {};
    case 'reinitialize':
      return { member: f.member };
    case 'reload':
      return list.length ? { members: list } : {};
    case 'pause':
    case 'resume':
      return {};
    case 'config_patch':
      try {
        return { patch: JSON.parse(f.patch || '{}') as Record<string, unknown> };
      } catch (e) {
        return new Error(`The patch is not JSON: ${(e as Error).message}`);
      }
  }
}

export function RequestOperation({ scope, members }: { scope: string; members: string[] }) {
  const trpc = useTRPC();
  const router = useRouter();
  const id = useId();
  const [type, setType] = useState<TOperationType>('switchover');
  const [f, setF] = useState({ candidate: '', member: '', members: '', pendingOnly: false, scheduledAt: '', patch: '{"postgresql": {"parameters": {"work_mem": "8MB"}}}' });
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const params = paramsOf(type, f);
  const input = params instanceof Error ? null : ({ cluster: scope, type, params, reason: reason.trim() || 'preview', ...(ticket.trim() ? { ticket: ticket.trim() } : {}) } as TOperationRequestInput);
  const preview = useQuery({ ...trpc.operations.preview.queryOptions(input as never), enabled: input !== null, retry: false });
  const request = useMutation(trpc.operations.request.mutationOptions({ onSuccess: (op) => router.push(`/operations/${op.id}`) }));

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!input) return;
    request.mutate({ ...input, reason: reason.trim() } as never);
  }
  const set = (k: keyof typeof f) => (e: { target: { value: string; checked?: boolean } }) => setF({ ...f, [k]: k === 'pendingOnly' ? Boolean(e.target.checked) : e.target.value });
  const p = preview.data;

  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <form className="admin-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>Request an operation</h2>
        <div className="admin-fields">
          <div className="field">
            <label htmlFor={`${id}-type`}>Operation</label>
            <select id={`${id}-type`} value={type} onChange={(e) => setType(e.target.value as TOperationType)}>
              {OPERATION_TYPES.map((t) => (
                <option key={t} value={t}>{LABELS[t]}</option>
              ))}
            </select>
          </div>
          {type === 'switchover' || type === 'failover' ? (
            <div className="field">
              <label htmlFor={`${id}-candidate`}>Candidate{type === 'switchover' ? ' (optional)' : ''}</label>
              <select id={`${id}-candidate`} value={f.candidate} onChange={set('candidate')}>
                <option value="">{type === 'switchover' ? 'the best one' : 'choose'}</option>
                {members.map((m) => <option key={m} value={m}>{m}</option>)}
              </select>
            </div>
          ) : null}
          {type === 'reinitialize' ? (
            <div className="field">
              <label htmlFor={`${id}-member`}>Member</label>
              <select id={`${id}-member`} value={f.member} onChange={set('member')}>
                <option value="">choose</option>
                {members.map((m) => <option key={m} value={m}>{m}</option>)}
              </select>
            </div>
          ) : null}
          {type === 'restart' || type === 'reload' ? (
            <div className="field">
              <label htmlFor={`${id}-members`}>Members (comma-separated; empty: all)</label>
              <input id={`${id}-members`} value={f.members} onChange={set('members')} />
            </div>
          ) : null}
          {type === 'restart' || type === 'rolling_restart' ? (
            <label className="field-inline"><input type="checkbox" checked={f.pendingOnly} onChange={set('pendingOnly')} /> only members with a pending restart</label>
          ) : null}
          {type === 'switchover' || type === 'restart' ? (
            <div className="field">
              <label htmlFor={`${id}-when`}>Scheduled at (optional, ISO 8601 with timezone)</label>
              <input id={`${id}-when`} value={f.scheduledAt} onChange={set('scheduledAt')} placeholder="2026-12-03T23:00:00Z" />
            </div>
          ) : null}
          {type === 'config_patch' ? (
            <div className="field">
              <label htmlFor={`${id}-patch`}>Patch of /config (JSON merge patch)</label>
              <textarea id={`${id}-patch`} rows={4} value={f.patch} onChange={set('patch')} />
            </div>
          ) : null}
          <div className="field">
            <label htmlFor={`${id}-reason`}>Reason (required)</label>
            <input id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value)} required minLength={3} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-ticket`}>Ticket (optional)</label>
            <input id={`${id}-ticket`} value={ticket} onChange={(e) => setTicket(e.target.value)} placeholder="CHG-1234" />
          </div>
        </div>

        <div role="region" aria-label="Preview" className="preview">
          <h3>Preview</h3>
          {params instanceof Error ? <p className="form-error">{params.message}</p> : null}
          {preview.error ? <p className="form-error">{preview.error.message}</p> : null}
          {p ? (
            <>
              {p.refusal ? <p className="form-error" role="alert">Refused: {p.refusal}</p> : <p className="ok">Would run: {p.steps.map((s) => s.label).join(' → ') || 'nothing'}</p>}
              <p className="muted small">{p.requiredApprovals === 0 ? 'No approval needed: it runs when you submit.' : `Needs ${p.requiredApprovals} approval${p.requiredApprovals > 1 ? 's' : ''} by someone else.`}</p>
              {p.candidates ? (
                <table aria-label="Candidates">
                  <thead><tr><th>Member</th><th>Eligible</th><th>Why not</th></tr></thead>
                  <tbody>
                    {p.candidates.map((c) => (
                      <tr key={c.name}><td>{c.name}</td><td>{c.eligible ? 'yes' : 'no'}</td><td>{c.reasons.join(', ')}</td></tr>
                    ))}
                  </tbody>
                </table>
              ) : null}
              {p.patch ? (
                <ul className="small">
                  {p.patch.changes.map((c) => <li key={c.key}><code>{c.key}</code> → <code>{JSON.stringify(c.value)}</code></li>)}
                  {p.patch.restartParameters.length ? <li>Needs a restart ({p.patch.restartParameters.join(', ')}), in this order: {p.patch.restartOrder.join(', ')}</li> : <li>No restart needed.</li>}
                  {p.patch.timing ? <li>Failover timing: ttl {p.patch.timing.ttl}, loop_wait {p.patch.timing.loopWait}, retry_timeout {p.patch.timing.retryTimeout}; worst case about {p.patch.timing.worstCaseFailoverSeconds} s</li> : null}
                </ul>
              ) : null}
            </>
          ) : null}
        </div>
        {request.error ? <p className="form-error" role="alert">{request.error.message}</p> : null}
        <div>
          <button type="submit" className="primary" disabled={request.isPending || !input || Boolean(p?.refusal) || reason.trim().length < 3}>
            Request {LABELS[type].toLowerCase()}
          </button>
        </div>
      </form>
    </section>
  );
}
