'use client';
/**
 * Agent tokens: create one for a member of a cluster (or an explicit list of members; shown once,
 * with the agent's YAML), list them all (prefix, cluster, members, label, who made it when, last
 * use, revoked) and revoke one after a confirmation. A token speaks only for the members it names.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useId, useMemo, useState, type FormEvent } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { formatAgo, formatTime } from '../format.ts';
import { useNow } from '../use-dashboard.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { errorText, formErrors } from './errors.ts';
import { NewToken } from './new-token.tsx';
import { tokenPrefixLabel, type TAgentToken, type TCreatedToken } from './types.ts';

function CreateTokenForm({ knownScopes, onCreated }: { knownScopes: string[]; onCreated: (t: TCreatedToken) => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const ids = { title: useId(), scope: useId(), scopeHint: useId(), scopeError: useId(), scopes: useId(), members: useId(), membersHint: useId(), membersError: useId(), label: useId(), labelError: useId() };
  const [scope, setScope] = useState('');
  const [members, setMembers] = useState('');
  const [label, setLabel] = useState('');
  const [emptyScope, setEmptyScope] = useState(false);
  const [emptyMembers, setEmptyMembers] = useState(false);
  const create = useMutation(
    trpc.tokens.create.mutationOptions({
      onSuccess: (t) => {
        setScope('');
        setMembers('');
        setLabel('');
        onCreated(t);
        void qc.invalidateQueries(trpc.tokens.list.queryFilter());
        // a new scope is a new cluster
        void qc.invalidateQueries(trpc.clusters.list.queryFilter());
      },
    }),
  );
  const errors = formErrors(create.error, ['scope', 'members', 'label'] as const);
  const scopeError = emptyScope ? "Enter the cluster's scope (its name in the agents' YAML)." : errors.fields.scope;
  const labelError = errors.fields.label;
  const membersError = emptyMembers ? "Enter the member's name (the agent's `name`); several, separated by commas." : errors.fields.members;

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const s = scope.trim();
    const m = members
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    setEmptyScope(!s);
    setEmptyMembers(m.length === 0);
    if (!s || m.length === 0) {
      create.reset();
      return;
    }
    create.mutate({ scope: s, members: m, label: label.trim() });
  }

  return (
    <section className="card">
      <form className="admin-form" onSubmit={submit} noValidate aria-labelledby={ids.title}>
        <h2 id={ids.title}>Create a token</h2>
        <div className="admin-fields">
          <div className="field">
            <label htmlFor={ids.scope}>Cluster scope</label>
            <input
              id={ids.scope}
              name="scope"
              value={scope}
              onChange={(e) => setScope(e.target.value)}
              list={ids.scopes}
              autoComplete="off"
              spellCheck={false}
              aria-invalid={scopeError ? true : undefined}
              aria-describedby={scopeError ? `${ids.scopeError} ${ids.scopeHint}` : ids.scopeHint}
            />
            <datalist id={ids.scopes}>
              {knownScopes.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
            {scopeError ? (
              <p id={ids.scopeError} className="field-error" role="alert">
                {scopeError}
              </p>
            ) : null}
            <p id={ids.scopeHint} className="hint">
              The <code>scope</code> in the agents&apos; YAML. A new scope adds the cluster.
            </p>
          </div>
          <div className="field">
            <label htmlFor={ids.members}>Member</label>
            <input
              id={ids.members}
              name="members"
              value={members}
              onChange={(e) => setMembers(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              aria-invalid={membersError ? true : undefined}
              aria-describedby={membersError ? `${ids.membersError} ${ids.membersHint}` : ids.membersHint}
              placeholder="e.g. node1"
            />
            {membersError ? (
              <p id={ids.membersError} className="field-error" role="alert">
                {membersError}
              </p>
            ) : null}
            <p id={ids.membersHint} className="hint">
              The <code>name</code> in that agent&apos;s YAML: the token speaks only for it. One token per member is best; a list
              (comma-separated) makes one token for all of them.
            </p>
          </div>
          <div className="field">
            <label htmlFor={ids.label}>
              Label <span className="muted">(optional)</span>
            </label>
            <input
              id={ids.label}
              name="label"
              value={label}
              maxLength={200}
              onChange={(e) => setLabel(e.target.value)}
              autoComplete="off"
              aria-invalid={labelError ? true : undefined}
              aria-describedby={labelError ? ids.labelError : undefined}
              placeholder="e.g. db-prod hosts"
            />
            {labelError ? (
              <p id={ids.labelError} className="field-error" role="alert">
                {labelError}
              </p>
            ) : null}
          </div>
        </div>
        {errors.form ? (
          <p className="form-error" role="alert">
            {errors.form}
          </p>
        ) : null}
        <div className="admin-actions start">
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
    </section>
  );
}

function TokensTable({ tokens, nowMs, onRevoke }: { tokens: TAgentToken[]; nowMs: number; onRevoke: (t: TAgentToken) => void }) {
  return (
    <div className="table-wrap">
      <table className="stack" aria-label="Agent tokens">
        <thead>
          <tr>
            <th scope="col">Token</th>
            <th scope="col">Cluster</th>
            <th scope="col">Members</th>
            <th scope="col">Label</th>
            <th scope="col">Created</th>
            <th scope="col" title="When an agent last connected with it">
              Last used
            </th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id} data-revoked={t.revokedAt ? 'true' : undefined}>
              <th scope="row" data-label="Token">
                <span className="mono">{tokenPrefixLabel(t.prefix)}</span>
              </th>
              <td data-label="Cluster">
                <Link href={`/clusters/${encodeURIComponent(t.scope)}`}>{t.scope}</Link>
              </td>
              <td data-label="Members">
                {t.members.length ? <span className="mono">{t.members.join(', ')}</span> : <span className="muted">none (issued before member binding)</span>}
              </td>
              <td data-label="Label">{t.label || <span className="muted">–</span>}</td>
              <td data-label="Created">
                <time dateTime={t.createdAt} title={t.createdAt}>
                  {formatTime(t.createdAt)}
                </time>
                <span className="sub">by {t.createdBy}</span>
              </td>
              <td data-label="Last used">
                {t.lastUsedAt ? (
                  <time dateTime={t.lastUsedAt} title={t.lastUsedAt}>
                    {formatAgo(t.lastUsedAt, nowMs)}
                  </time>
                ) : (
                  <span className="muted">never</span>
                )}
              </td>
              <td data-label="Status">
                {t.revokedAt ? (
                  <>
                    <span className="badge bad">Revoked</span>
                    <span className="sub">
                      <time dateTime={t.revokedAt} title={t.revokedAt}>
                        {formatTime(t.revokedAt)}
                      </time>
                    </span>
                  </>
                ) : t.members.length === 0 ? (
                  <span className="badge bad" title="Issued before tokens were bound to members: agents using it are refused. Issue one per member and revoke this one.">
                    Refused: re-issue
                  </span>
                ) : (
                  <span className="badge ok">Active</span>
                )}
              </td>
              <td data-label="">
                {t.revokedAt ? null : (
                  <button type="button" className="danger small-button" aria-label={`Revoke token ${t.prefix}`} onClick={() => onRevoke(t)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function TokensAdmin() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const nowMs = useNow(10_000);
  const filterId = useId();
  const tokens = useQuery({ ...trpc.tokens.list.queryOptions(), refetchInterval: 30_000 });
  const clusters = useQuery(trpc.clusters.list.queryOptions());
  const [created, setCreated] = useState<TCreatedToken | null>(null);
  const [revoking, setRevoking] = useState<TAgentToken | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [scopeFilter, setScopeFilter] = useState('');

  const revoke = useMutation(
    trpc.tokens.revoke.mutationOptions({
      onSuccess: () => {
        if (revoking) setNotice(`Revoked ${tokenPrefixLabel(revoking.prefix)} (cluster ${revoking.scope}).`);
        setRevoking(null);
        void qc.invalidateQueries(trpc.tokens.list.queryFilter());
      },
    }),
  );

  const scopes = useMemo(() => {
    const s = new Set<string>();
    for (const c of clusters.data ?? []) s.add(c.scope);
    for (const t of tokens.data ?? []) s.add(t.scope);
    return [...s].sort();
  }, [clusters.data, tokens.data]);
  const shown = useMemo(() => (tokens.data ?? []).filter((t) => !scopeFilter || t.scope === scopeFilter), [tokens.data, scopeFilter]);
  const active = tokens.data?.filter((t) => !t.revokedAt).length ?? 0;

  return (
    <>
      <div className="page-head">
        <h1>Agent tokens</h1>
        {tokens.data ? (
          <span className="muted">
            {tokens.data.length} {tokens.data.length === 1 ? 'token' : 'tokens'} · {active} active
          </span>
        ) : null}
      </div>
      <p className="summary-line">
        Each cluster&apos;s agents report here with a token made for that cluster. Only a hash of each token is stored; the token itself is
        shown once, when it is created.
      </p>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}

      {created ? (
        <NewToken
          created={created}
          origin={window.location.origin}
          onDone={() => {
            setCreated(null);
            setNotice(null);
          }}
        />
      ) : (
        <CreateTokenForm
          knownScopes={scopes}
          onCreated={(t) => {
            setNotice(null);
            setCreated(t);
          }}
        />
      )}

      <section className="card" aria-labelledby="tokens-title">
        <div className="card-head">
          <h2 id="tokens-title">Tokens</h2>
          {scopes.length > 1 ? (
            <span className="inline-field">
              <label htmlFor={filterId}>Cluster</label>
              <select id={filterId} value={scopeFilter} onChange={(e) => setScopeFilter(e.target.value)}>
                <option value="">All clusters</option>
                {scopes.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </span>
          ) : null}
        </div>
        {tokens.error && !tokens.data ? (
          <p className="form-error" role="alert">
            {errorText(tokens.error)}
          </p>
        ) : null}
        {tokens.isPending ? <p className="empty">Loading…</p> : null}
        {tokens.data && tokens.data.length === 0 ? <p className="empty">No agent tokens yet. Create one for each cluster whose agents should report here.</p> : null}
        {tokens.data && tokens.data.length > 0 && shown.length === 0 ? <p className="empty">No tokens for {scopeFilter}.</p> : null}
        {shown.length > 0 ? <TokensTable tokens={shown} nowMs={nowMs} onRevoke={(t) => setRevoking(t)} /> : null}
      </section>

      <ConfirmDialog
        open={revoking !== null}
        title={revoking ? `Revoke ${tokenPrefixLabel(revoking.prefix)}?` : 'Revoke the token?'}
        confirmLabel="Revoke token"
        busy={revoke.isPending}
        error={revoke.error ? errorText(revoke.error) : null}
        onConfirm={() => {
          if (revoking) revoke.mutate({ id: revoking.id });
        }}
        onCancel={() => {
          setRevoking(null);
          revoke.reset();
        }}
      >
        {revoking ? (
          <>
            <p>
              Agents of cluster <strong>{revoking.scope}</strong> that use this token{revoking.label ? ` (${revoking.label})` : ''} are refused
              the next time they connect. This cannot be undone.
            </p>
            <p className="muted small">
              {revoking.lastUsedAt ? `Last used ${formatAgo(revoking.lastUsedAt, nowMs)}. ` : 'Never used. '}
              An agent connected right now keeps its connection until it reconnects.
            </p>
          </>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
