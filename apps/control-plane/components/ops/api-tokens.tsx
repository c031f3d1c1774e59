'use client';
/** The signed-in user's API tokens: create (shown once), list with last use, revoke. */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { ROLES, type TRole } from '../../server/lib/roles.ts';
import { AppShell } from '../app-shell.tsx';
import { formatTime } from '../format.ts';

export function ApiTokens() {
  const trpc = useTRPC();
  const list = useQuery(trpc.apiTokens.list.queryOptions());
  const [label, setLabel] = useState('');
  const [role, setRole] = useState<TRole>('viewer');
  const [days, setDays] = useState(30);
  const [shown, setShown] = useState<string | null>(null);
  const create = useMutation(trpc.apiTokens.create.mutationOptions({ onSuccess: (t) => (setShown(t.token), setLabel(''), void list.refetch()) }));
  const revoke = useMutation(trpc.apiTokens.revoke.mutationOptions({ onSuccess: () => void list.refetch() }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ label, role, expiresInDays: days });
  };
  return (
    <AppShell live={false} current="api-tokens">
      <div className="page-head"><h1>API tokens</h1></div>
      <section className="card">
        <form className="admin-form" onSubmit={submit} aria-label="Create an API token">
          <h2>Create a token</h2>
          <div className="admin-fields">
            <div className="field"><label htmlFor="t-label">Label</label><input id="t-label" value={label} onChange={(e) => setLabel(e.target.value)} required /></div>
            <div className="field">
              <label htmlFor="t-role">Role (at most yours)</label>
              <select id="t-role" value={role} onChange={(e) => setRole(e.target.value as TRole)}>{ROLES.map((r) => <option key={r} value={r}>{r}</option>)}</select>
            </div>
            <div className="field"><label htmlFor="t-days">Expires in (days)</label><input id="t-days" type="number" min={1} max={366} value={days} onChange={(e) => setDays(Number(e.target.value))} /></div>
          </div>
          <div><button type="submit" className="primary" disabled={create.isPending}>Create token</button></div>
          {create.error ? <p className="form-error" role="alert">{create.error.message}</p> : null}
          {shown ? <p role="status">Your token (shown once; only its hash is kept): <code>{shown}</code></p> : null}
        </form>
      </section>
      <section className="card">
        <div className="table-wrap">
          <table aria-label="API tokens">
            <thead><tr><th>Label</th><th>Prefix</th><th>Role</th><th>Created</th><th>Expires</th><th>Last used</th><th /></tr></thead>
            <tbody>
              {(list.data ?? []).map((t) => (
                <tr key={t.id}>
                  <td>{t.label}</td>
                  <td><code>keel_api_{t.prefix}…</code></td>
                  <td>{t.role}</td>
                  <td>{formatTime(t.createdAt)}</td>
                  <td>{formatTime(t.expiresAt)}</td>
                  <td>{t.lastUsedAt ? `${formatTime(t.lastUsedAt)}${t.lastUsedFrom ? ` from ${t.lastUsedFrom}` : ''}` : 'never'}</td>
                  <td>{t.revokedAt ? `revoked ${formatTime(t.revokedAt)}` : <button type="button" className="danger small-button" onClick={() => revoke.mutate({ id: t.id })}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </AppShell>
  );
}
