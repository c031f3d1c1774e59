'use client';
/** Sign in with e-mail and password (better-auth, httpOnly session cookie); back to ?next= afterwards. */
import { useState, type FormEvent } from 'react';
import { safeNextPath } from '../../lib/safe-next.ts';

function safeNext(): string {
  return safeNextPath(new URLSearchParams(window.location.search).get('next'), window.location.origin);
}

export default function SignInPage() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const form = new FormData(e.currentTarget);
    try {
      const res = await fetch('/api/auth/sign-in/email', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
      });
      if (res.ok) {
        window.location.assign(safeNext());
        return;
      }
      const body = (await res.json().catch(() => ({}))) as { message?: string };
      setError(
        res.status === 401
          ? 'Wrong e-mail or password.'
          : res.status === 429
            ? (body.message ?? 'Too many attempts. Try again later.')
            : res.status === 503
              ? 'The control plane cannot reach its database right now, so it cannot check your password. Try again in a moment.'
              : (body.message ?? `Sign-in failed (${res.status}).`),
      );
    } catch {
      setError('The control plane did not answer.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="sign-in-wrap">
      <form className="sign-in" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">
          <span className="brand-mark" aria-hidden="true" /> Keel
        </h1>
        <p className="lead">Sign in to the control plane.</p>
        <div className="field">
          <label htmlFor="email">E-mail</label>
          <input id="email" name="email" type="email" autoComplete="username" required autoFocus />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input id="password" name="password" type="password" autoComplete="current-password" required />
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error ? (
          <p role="alert" className="form-error">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}
