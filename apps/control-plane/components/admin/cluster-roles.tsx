'use client';
/**
 * Per-cluster role grants (operator on `prod-eu`, viewer everywhere): list them, grant one (user,
 * cluster, role: a grant on the same user and cluster replaces the old one), revoke one. The server
 * checks the user and the cluster exist and audits every change (user.grant_cluster_role,
 * user.revoke_cluster_role); its refusals show next to the form or the row.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { errorText, formErrors } from './errors.ts';
import { ROLES, RoleSelect } from './role-select.tsx';
import type { TClusterGrant, TRole, TUser } from './types.ts';

function GrantForm({ users, clusters, onGranted }: { users: TUser[]; clusters: string[]; onGranted: (g: { email: string; cluster: string; role: TRole }) => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const ids = { title: useId(), user: useId(), userError: useId(), cluster: useId(), clusterError: useId(), role: useId() };
  const [userId, setUserId] = useState('');
  const [cluster, setCluster] = useState('');
  const [role, setRole] = useState<TRole>('operator');
  const [missing, setMissing] = useState<{ userId?: string; cluster?: string }>({});
  const grant = useMutation(
    trpc.users.grantClusterRole.mutationOptions({
      onSuccess: (g) => {
        onGranted({ email: users.find((u) => u.id === g.userId)?.email ?? g.userId, cluster: g.cluster, role: g.role as TRole });
        void qc.invalidateQueries(trpc.users.grants.queryFilter());
        void qc.invalidateQueries(trpc.auth.me.queryFilter());
      },
    }),
  );
  const errors = formErrors(grant.error, ['userId', 'cluster', 'role'] as const);
  const userError = missing.userId ?? errors.fields.userId;
  const clusterError = missing.cluster ?? errors.fields.cluster;
  const form = errors.form ?? errors.fields.role ?? null;

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const m: typeof missing = {};
    if (!userId) m.userId = 'Pick a user.';
    if (!cluster) m.cluster = 'Pick a cluster.';
    setMissing(m);
    if (m.userId || m.cluster) {
      grant.reset();
      return;
    }
    grant.mutate({ userId, cluster, role });
  }

  return (
    <form className="admin-form" onSubmit={submit} noValidate aria-labelledby={ids.title}>
      <h3 id={ids.title}>Grant a role on one cluster</h3>
      <div className="admin-fields">
        <div className="field">
          <label htmlFor={ids.user}>User</label>
          <select id={ids.user} value={userId} onChange={(e) => setUserId(e.target.value)} aria-invalid={userError ? true : undefined} aria-describedby={userError ? ids.userError : undefined}>
            <option value="">Choose…</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.email} ({u.role})
              </option>
            ))}
          </select>
          {userError ? (
            <p id={ids.userError} className="field-error" role="alert">
              {userError}
            </p>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor={ids.cluster}>Cluster</label>
          <select id={ids.cluster} value={cluster} onChange={(e) => setCluster(e.target.value)} aria-invalid={clusterError ? true : undefined} aria-describedby={clusterError ? ids.clusterError : undefined}>
            <option value="">Choose…</option>
            {clusters.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
          {clusterError ? (
            <p id={ids.clusterError} className="field-error" role="alert">
              {clusterError}
            </p>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor={ids.role}>Role on that cluster</label>
          <RoleSelect id={ids.role} value={role} onChange={setRole} />
          <p className="hint">Adds to the user&apos;s role everywhere; a lower role here changes nothing.</p>
        </div>
      </div>
      {form ? (
        <p className="form-error" role="alert">
          {form}
        </p>
      ) : null}
      <div className="admin-actions start">
        <button type="submit" className="primary" disabled={grant.isPending}>
          {grant.isPending ? 'Granting…' : 'Grant role'}
        </button>
      </div>
    </form>
  );
}

function RevokeButton({ grant, onRevoked }: { grant: TClusterGrant; onRevoked: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const revoke = useMutation(
    trpc.users.grantClusterRole.mutationOptions({
      onSuccess: () => {
        onRevoked();
        void qc.invalidateQueries(trpc.users.grants.queryFilter());
        void qc.invalidateQueries(trpc.auth.me.queryFilter());
      },
    }),
  );
  return (
    <>
      <button
        type="button"
        className="danger small-button"
        aria-label={`Revoke ${grant.role} on ${grant.cluster} from ${grant.email}`}
        disabled={revoke.isPending}
        onClick={() => revoke.mutate({ userId: grant.userId, cluster: grant.cluster, role: null })}
      >
        {revoke.isPending ? 'Revoking…' : 'Revoke'}
      </button>
      {revoke.error ? (
        <p className="field-error" role="alert">
          {errorText(revoke.error)}
        </p>
      ) : null}
    </>
  );
}

export function ClusterRoles({ users }: { users: TUser[] }) {
  const trpc = useTRPC();
  const grants = useQuery(trpc.users.grants.queryOptions());
  const clusters = useQuery(trpc.clusters.list.queryOptions());
  const [notice, setNotice] = useState<string | null>(null);

  return (
    <section className="card" aria-labelledby="cluster-roles-title">
      <div className="card-head">
        <h2 id="cluster-roles-title">Roles on one cluster</h2>
      </div>
      <p className="hint">A grant raises a user&apos;s role on one cluster only (say operator on prod-eu, viewer everywhere). Roles: {ROLES.join(' < ')}.</p>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      {grants.error && !grants.data ? (
        <p className="form-error" role="alert">
          {errorText(grants.error)}
        </p>
      ) : null}
      {grants.isPending ? <p className="empty">Loading…</p> : null}
      {grants.data && grants.data.length === 0 ? <p className="empty">No one has a role on a single cluster.</p> : null}
      {grants.data && grants.data.length > 0 ? (
        <div className="table-wrap">
          <table className="stack" aria-label="Cluster role grants">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Cluster</th>
                <th scope="col">Role there</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {grants.data.map((g) => (
                <tr key={`${g.userId}/${g.cluster}`}>
                  <th scope="row" data-label="User">
                    {g.email}
                  </th>
                  <td data-label="Cluster">{g.cluster}</td>
                  <td data-label="Role there">{g.role}</td>
                  <td data-label="">
                    <RevokeButton grant={g} onRevoked={() => setNotice(`${g.email} no longer has ${g.role} on ${g.cluster}.`)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {clusters.error && !clusters.data ? (
        <p className="form-error" role="alert">
          {errorText(clusters.error)}
        </p>
      ) : null}
      <GrantForm users={users} clusters={(clusters.data ?? []).map((c) => c.scope)} onGranted={(g) => setNotice(`${g.email} is now ${g.role} on ${g.cluster}.`)} />
    </section>
  );
}
