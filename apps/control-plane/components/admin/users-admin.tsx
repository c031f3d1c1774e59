'use client';
/**
 * Users: create one (e-mail, password, role; the server refuses weak passwords and says why), list
 * them with their roles, change a role, grant a role on one cluster. The server refuses to demote the last admin; demoting
 * yourself asks first.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { formatTime } from '../format.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { errorText, formErrors } from './errors.ts';
import { ClusterRoles } from './cluster-roles.tsx';
import { ROLES, ROLE_HELP, RoleSelect } from './role-select.tsx';
import type { TRole, TUser } from './types.ts';

function CreateUserForm({ onCreated }: { onCreated: (u: TUser) => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const ids = {
    title: useId(),
    email: useId(),
    emailError: useId(),
    name: useId(),
    nameError: useId(),
    password: useId(),
    passwordHint: useId(),
    passwordError: useId(),
    role: useId(),
    roleHint: useId(),
  };
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<TRole>('viewer');
  const [missing, setMissing] = useState<{ email?: string; password?: string }>({});
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: (u) => {
        setEmail('');
        setName('');
        setPassword('');
        setRole('viewer');
        onCreated(u);
        void qc.invalidateQueries(trpc.users.list.queryFilter());
      },
    }),
  );
  const errors = formErrors(create.error, ['email', 'name', 'password', 'role'] as const);
  const emailError = missing.email ?? errors.fields.email;
  const passwordError = missing.password ?? errors.fields.password;
  const form = errors.form ?? errors.fields.role ?? null;

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const m: typeof missing = {};
    if (!email.trim()) m.email = 'Enter an e-mail address.';
    if (!password) m.password = 'Enter a password.';
    setMissing(m);
    if (m.email || m.password) {
      create.reset();
      return;
    }
    create.mutate({ email: email.trim(), name: name.trim() || undefined, password, role });
  }

  return (
    <section className="card">
      <form className="admin-form" onSubmit={submit} noValidate aria-labelledby={ids.title}>
        <h2 id={ids.title}>Create a user</h2>
        <div className="admin-fields">
          <div className="field">
            <label htmlFor={ids.email}>E-mail</label>
            <input
              id={ids.email}
              type="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              aria-invalid={emailError ? true : undefined}
              aria-describedby={emailError ? ids.emailError : undefined}
            />
            {emailError ? (
              <p id={ids.emailError} className="field-error" role="alert">
                {emailError}
              </p>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor={ids.name}>
              Name <span className="muted">(optional)</span>
            </label>
            <input
              id={ids.name}
              value={name}
              maxLength={200}
              onChange={(e) => setName(e.target.value)}
              autoComplete="off"
              aria-invalid={errors.fields.name ? true : undefined}
              aria-describedby={errors.fields.name ? ids.nameError : undefined}
            />
            {errors.fields.name ? (
              <p id={ids.nameError} className="field-error" role="alert">
                {errors.fields.name}
              </p>
            ) : null}
          </div>
          <div className="field">
            <label htmlFor={ids.password}>Password</label>
            <input
              id={ids.password}
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="new-password"
              aria-invalid={passwordError ? true : undefined}
              aria-describedby={passwordError ? `${ids.passwordError} ${ids.passwordHint}` : ids.passwordHint}
            />
            {passwordError ? (
              <p id={ids.passwordError} className="field-error" role="alert">
                {passwordError}
              </p>
            ) : null}
            <p id={ids.passwordHint} className="hint">
              12+ characters with 3 of lower case, upper case, digits, symbols (or 16+ characters); not a common password, not the e-mail
              name.
            </p>
          </div>
          <div className="field">
            <label htmlFor={ids.role}>Role</label>
            <RoleSelect id={ids.role} value={role} onChange={setRole} />
            <p id={ids.roleHint} className="hint">
              {role}: {ROLE_HELP[role]}.
            </p>
          </div>
        </div>
        {form ? (
          <p className="form-error" role="alert">
            {form}
          </p>
        ) : null}
        <div className="admin-actions start">
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? 'Creating…' : 'Create user'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** A user's role: pick another, then "Change role". Keyed by the user's current role, so it resets when that changes. */
function RoleEditor({ user, isMe, onChanged }: { user: TUser; isMe: boolean; onChanged: (u: TUser) => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [role, setRole] = useState<TRole>(user.role);
  const [confirmSelf, setConfirmSelf] = useState(false);
  const setUserRole = useMutation(
    trpc.users.setRole.mutationOptions({
      onSuccess: (u) => {
        setConfirmSelf(false);
        onChanged(u);
        void qc.invalidateQueries(trpc.users.list.queryFilter());
        if (isMe) void qc.invalidateQueries(trpc.auth.me.queryFilter());
      },
    }),
  );
  const error = setUserRole.error ? errorText(setUserRole.error) : null;
  const apply = () => setUserRole.mutate({ userId: user.id, role });

  return (
    <div className="role-editor">
      <RoleSelect
        label={`Role of ${user.email}`}
        value={role}
        onChange={(r) => {
          setRole(r);
          setUserRole.reset();
        }}
      />
      <button
        type="button"
        className="secondary small-button"
        aria-label={`Change role of ${user.email}`}
        disabled={role === user.role || setUserRole.isPending}
        onClick={() => (isMe && user.role === 'admin' && role !== 'admin' ? setConfirmSelf(true) : apply())}
      >
        {setUserRole.isPending ? 'Changing…' : 'Change role'}
      </button>
      {error && !confirmSelf ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
      <ConfirmDialog
        open={confirmSelf}
        title="Give up your admin role?"
        confirmLabel={`Become ${role}`}
        busy={setUserRole.isPending}
        error={error}
        onConfirm={apply}
        onCancel={() => {
          setConfirmSelf(false);
          setUserRole.reset();
        }}
      >
        <p>
          You will be <strong>{role}</strong> from your next request on, and will no longer be able to open these admin pages. Another admin
          can give the role back.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function UsersTable({ users, meId, onChanged }: { users: TUser[]; meId: string | null; onChanged: (u: TUser) => void }) {
  return (
    <div className="table-wrap">
      <table className="stack" aria-label="Users">
        <thead>
          <tr>
            <th scope="col">E-mail</th>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <th scope="row" data-label="E-mail">
                {u.email}
                {u.id === meId ? <span className="badge info you">you</span> : null}
              </th>
              <td data-label="Name">{u.name}</td>
              <td data-label="Role">
                <RoleEditor key={u.role} user={u} isMe={u.id === meId} onChanged={onChanged} />
              </td>
              <td data-label="Created">
                <time dateTime={u.createdAt} title={u.createdAt}>
                  {formatTime(u.createdAt)}
                </time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function UsersAdmin() {
  const trpc = useTRPC();
  const users = useQuery(trpc.users.list.queryOptions());
  const me = useQuery(trpc.auth.me.queryOptions());
  const [notice, setNotice] = useState<string | null>(null);
  const admins = users.data?.filter((u) => u.role === 'admin').length ?? 0;

  return (
    <>
      <div className="page-head">
        <h1>Users</h1>
        {users.data ? (
          <span className="muted">
            {users.data.length} {users.data.length === 1 ? 'user' : 'users'} · {admins} {admins === 1 ? 'admin' : 'admins'}
          </span>
        ) : null}
      </div>
      <p className="summary-line">Roles, from least to most: {ROLES.join(' < ')}. Each role may do everything the ones before it may.</p>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}

      <CreateUserForm onCreated={(u) => setNotice(`Created ${u.email} (${u.role}). They can sign in now.`)} />

      <section className="card" aria-labelledby="users-title">
        <div className="card-head">
          <h2 id="users-title">Users</h2>
        </div>
        {users.error && !users.data ? (
          <p className="form-error" role="alert">
            {errorText(users.error)}
          </p>
        ) : null}
        {users.isPending ? <p className="empty">Loading…</p> : null}
        {users.data ? <UsersTable users={users.data} meId={me.data?.id ?? null} onChanged={(u) => setNotice(`${u.email} is now ${u.role}.`)} /> : null}
      </section>

      {users.data ? <ClusterRoles users={users.data} /> : null}
    </>
  );
}
