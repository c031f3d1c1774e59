'use client';
/** The frame of every signed-in page: brand, navigation, live state, user, theme, sign out; the database banner. */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { useTRPC } from '../lib/trpc.ts';
import { DbBanner, LiveBanner } from './banners.tsx';
import { ThemeSwitch } from './theme.tsx';
import { useServerStatus } from './use-dashboard.ts';

async function signOut(): Promise<void> {
  await fetch('/api/auth/sign-out', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).catch(() => undefined);
  window.location.assign('/sign-in');
}

export function AppShell({ live, current, children }: { live: boolean; current: 'clusters' | 'admin' | 'operations' | 'incidents' | 'audit' | 'api-tokens' | 'alerts'; children: ReactNode }) {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  const status = useServerStatus(live);
  return (
    <>
      <header className="shell-header">
        <div className="shell-header-inner">
          <Link href="/clusters" className="brand" aria-label="Keel home">
            <span className="brand-mark" aria-hidden="true" />
            Keel
          </Link>
          <nav className="shell-nav" aria-label="Main">
            <Link href="/clusters" aria-current={current === 'clusters' ? 'page' : undefined}>
              Clusters
            </Link>
            <Link href="/operations" aria-current={current === 'operations' ? 'page' : undefined}>
              Operations
            </Link>
            <Link href="/incidents" aria-current={current === 'incidents' ? 'page' : undefined}>
              Incidents
            </Link>
            <Link href="/alerts" aria-current={current === 'alerts' ? 'page' : undefined}>
              Alerts
            </Link>
            <Link href="/api-tokens" aria-current={current === 'api-tokens' ? 'page' : undefined}>
              API tokens
            </Link>
            {me.data?.role === 'admin' ? (
              <Link href="/audit" aria-current={current === 'audit' ? 'page' : undefined}>
                Audit
              </Link>
            ) : null}
            {me.data?.role === 'admin' ? (
              <Link href="/admin/tokens" aria-current={current === 'admin' ? 'page' : undefined}>
                Admin
              </Link>
            ) : null}
          </nav>
          <span className="shell-spacer" />
          <div className="shell-tools">
            <span className="live-dot" data-live={live} role="status" aria-label={live ? 'Live updates on' : 'Live updates reconnecting'}>
              {live ? 'Live' : 'Reconnecting'}
            </span>
            {me.data ? (
              <span className="muted shell-user" title={`${me.data.email} (${me.data.role})`}>
                {me.data.email} · {me.data.role}
              </span>
            ) : null}
            <ThemeSwitch />
            <button type="button" className="link-button" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main>
        <DbBanner database={status.database} unreachable={status.unreachable} localNow={status.localNow} />
        <LiveBanner live={live} />
        {children}
      </main>
    </>
  );
}
