'use client';
/**
 * The frame of the admin pages: the app shell (live dot, database banner) and the admin sections.
 * Who is not an admin sees "Admins only" and nothing is asked of the admin-only routers (which
 * would refuse anyway).
 */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { AppShell } from '../app-shell.tsx';
import { useLiveDashboard } from '../use-dashboard.ts';

export type TAdminSection = 'tokens' | 'users' | 'policies';

const SECTIONS: Array<{ id: TAdminSection; href: string; label: string }> = [
  { id: 'tokens', href: '/admin/tokens', label: 'Agent tokens' },
  { id: 'users', href: '/admin/users', label: 'Users' },
  { id: 'policies', href: '/admin/policies', label: 'Approval policies' },
];

/** Shown instead of an admin page to anyone else. */
export function AdminsOnly({ email, role }: { email: string; role: string }) {
  return (
    <section className="card admin-only" aria-labelledby="admins-only-title">
      <h1 id="admins-only-title">Admins only</h1>
      <p>
        This page is for admins only. You are signed in as <strong>{email}</strong> with the <strong>{role}</strong> role.
      </p>
      <p className="muted">An admin can change your role if you need to manage agent tokens, users or approval policies.</p>
      <p>
        <Link href="/clusters">Back to the clusters</Link>
      </p>
    </section>
  );
}

export function AdminFrame({ section, children }: { section: TAdminSection; children: ReactNode }) {
  const trpc = useTRPC();
  const { connected } = useLiveDashboard();
  const me = useQuery(trpc.auth.me.queryOptions());

  let body: ReactNode;
  if (me.isPending) {
    body = <p className="empty">Loading…</p>;
  } else if (me.error) {
    body = (
      <p className="form-error" role="alert">
        {me.error.message}
      </p>
    );
  } else if (!me.data) {
    body = (
      <p className="form-error" role="alert">
        You are not signed in. <Link href={`/sign-in?next=${encodeURIComponent(`/admin/${section}`)}`}>Sign in</Link>
      </p>
    );
  } else if (me.data.role !== 'admin') {
    body = <AdminsOnly email={me.data.email} role={me.data.role} />;
  } else {
    body = (
      <>
        <nav className="admin-tabs" aria-label="Admin sections">
          {SECTIONS.map((s) => (
            <Link key={s.id} href={s.href} aria-current={s.id === section ? 'page' : undefined}>
              {s.label}
            </Link>
          ))}
        </nav>
        {children}
      </>
    );
  }

  return (
    <AppShell live={connected} current="admin">
      {body}
    </AppShell>
  );
}
