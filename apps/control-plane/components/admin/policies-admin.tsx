'use client';
/**
 * Approval policies: pick a cluster, then for each operation type keep the default, or say whether
 * approval is required and by how many approvers. Saved through `policies.set`, which validates
 * (0 to 5 approvers), stores and audits (`policy.update`, with the rules before and after); its
 * refusals show next to the operation type they are about, or above the table.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { errorText, formErrors } from './errors.ts';
import type { TClusterPolicy } from './types.ts';

type TMode = 'default' | 'none' | 'required';
interface TRow {
  mode: TMode;
  approvers: string;
}

/** When a default applies only to the risky kind of an operation (server/lib/policy.ts decides it). */
const DEFAULT_WHEN: Record<string, string> = {
  restart: 'when it restarts the primary',
  config_patch: 'when it needs a restart or changes timings',
};

function label(type: string): string {
  return type.replace('_', ' ');
}

function defaultText(type: string, n: number): string {
  if (n === 0) return 'not required';
  const who = `${n} approver${n > 1 ? 's' : ''}`;
  return DEFAULT_WHEN[type] ? `${who} ${DEFAULT_WHEN[type]}, else none` : who;
}

function rowsOf(p: TClusterPolicy): Record<string, TRow> {
  const out: Record<string, TRow> = {};
  for (const t of Object.keys(p.defaultsWhenRisky)) {
    const v = p.rules?.approvals[t as keyof NonNullable<TClusterPolicy['rules']>['approvals']];
    out[t] = v === undefined ? { mode: 'default', approvers: String(Math.max(1, p.defaultsWhenRisky[t] ?? 1)) } : v === 0 ? { mode: 'none', approvers: '1' } : { mode: 'required', approvers: String(v) };
  }
  return out;
}

/** The editor of one cluster's policy; keyed by cluster and the stored rules, so it resets when they change. */
function PolicyForm({ policy, onSaved }: { policy: TClusterPolicy; onSaved: (cluster: string) => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const titleId = useId();
  const [rows, setRows] = useState<Record<string, TRow>>(() => rowsOf(policy));
  const types = Object.keys(policy.defaultsWhenRisky);
  const save = useMutation(
    trpc.policies.set.mutationOptions({
      onSuccess: (r) => {
        onSaved(r.cluster);
        void qc.invalidateQueries(trpc.policies.get.queryFilter({ cluster: r.cluster }));
      },
    }),
  );
  const fieldNames = types.map((t) => `rules.approvals.${t}`);
  const errors = formErrors(save.error, fieldNames);

  function set(t: string, patch: Partial<TRow>) {
    setRows((r) => ({ ...r, [t]: { ...r[t]!, ...patch } }));
    save.reset();
  }

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const approvals: Record<string, number> = {};
    for (const t of types) {
      const r = rows[t]!;
      if (r.mode === 'none') approvals[t] = 0;
      // the server says what is wrong with a count (a whole number from 0 to 5): send what was typed
      else if (r.mode === 'required') approvals[t] = r.approvers.trim() === '' ? Number.NaN : Number(r.approvers);
    }
    save.mutate({ cluster: policy.cluster, rules: { ...(policy.rules ?? {}), approvals } });
  }

  return (
    <form className="admin-form" onSubmit={submit} noValidate aria-labelledby={titleId}>
      <h2 id={titleId}>Policy of {policy.cluster}</h2>
      <p className="hint">
        {policy.rules ? 'This cluster has its own rules for the types not marked “default”.' : 'This cluster follows the defaults.'} The requester never
        counts as an approver.
      </p>
      <div className="table-wrap">
        <table className="stack" aria-label={`Approval policy of ${policy.cluster}`}>
          <thead>
            <tr>
              <th scope="col">Operation</th>
              <th scope="col">Default</th>
              <th scope="col">Approval</th>
              <th scope="col">Approvers</th>
            </tr>
          </thead>
          <tbody>
            {types.map((t) => {
              const r = rows[t]!;
              const err = errors.fields[`rules.approvals.${t}`];
              const errId = `policy-error-${t}`;
              return (
                <tr key={t} data-type={t}>
                  <th scope="row" data-label="Operation">
                    {label(t)}
                  </th>
                  <td data-label="Default">{defaultText(t, policy.defaultsWhenRisky[t] ?? 0)}</td>
                  <td data-label="Approval">
                    <select aria-label={`Approval for ${label(t)}`} value={r.mode} onChange={(e) => set(t, { mode: e.target.value as TMode })}>
                      <option value="default">default</option>
                      <option value="none">not required</option>
                      <option value="required">required</option>
                    </select>
                  </td>
                  <td data-label="Approvers">
                    {r.mode === 'required' ? (
                      <input
                        type="number"
                        inputMode="numeric"
                        className="narrow"
                        aria-label={`Approvers for ${label(t)}`}
                        value={r.approvers}
                        onChange={(e) => set(t, { approvers: e.target.value })}
                        aria-invalid={err ? true : undefined}
                        aria-describedby={err ? errId : undefined}
                      />
                    ) : (
                      <span className="muted">{r.mode === 'none' ? 'none' : 'as the default'}</span>
                    )}
                    {err ? (
                      <p id={errId} className="field-error" role="alert">
                        {err}
                      </p>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {errors.form ? (
        <p className="form-error" role="alert">
          {errors.form}
        </p>
      ) : null}
      <div className="admin-actions start">
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save policy'}
        </button>
      </div>
    </form>
  );
}

export function PoliciesAdmin() {
  const trpc = useTRPC();
  const selectId = useId();
  const clusters = useQuery(trpc.clusters.list.queryOptions());
  const [chosen, setChosen] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const scopes = (clusters.data ?? []).map((c) => c.scope);
  const cluster = chosen || scopes[0] || '';
  const policy = useQuery({ ...trpc.policies.get.queryOptions({ cluster }), enabled: cluster !== '' });

  return (
    <>
      <div className="page-head">
        <h1>Approval policies</h1>
      </div>
      <p className="summary-line">Which operations need approval on each cluster, and by how many approvers. Every change is recorded in the audit log.</p>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      {clusters.error && !clusters.data ? (
        <p className="form-error" role="alert">
          {errorText(clusters.error)}
        </p>
      ) : null}
      {clusters.isPending ? <p className="empty">Loading…</p> : null}
      {clusters.data && scopes.length === 0 ? <p className="empty">No clusters yet: create an agent token for one first.</p> : null}
      {scopes.length > 0 ? (
        <section className="card">
          <div className="inline-field">
            <label htmlFor={selectId}>Cluster</label>
            <select
              id={selectId}
              value={cluster}
              onChange={(e) => {
                setChosen(e.target.value);
                setNotice(null);
              }}
            >
              {scopes.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          {policy.error ? (
            <p className="form-error" role="alert">
              {errorText(policy.error)}
            </p>
          ) : null}
          {policy.isPending ? <p className="empty">Loading…</p> : null}
          {policy.data && policy.data.cluster === cluster ? (
            <PolicyForm key={`${cluster}:${JSON.stringify(policy.data.rules)}`} policy={policy.data} onSaved={(c) => setNotice(`Saved the approval policy of ${c}.`)} />
          ) : null}
        </section>
      ) : null}
    </>
  );
}
