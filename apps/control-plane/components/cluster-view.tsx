'use client';
/** One cluster: key facts, topology, members, lag over time, failover history, recent events. Live. */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useId, useMemo, type ReactNode } from 'react';
import { useTRPC } from '../lib/trpc.ts';
import { AppShell } from './app-shell.tsx';
import { BackupPanel } from './backup-panel.tsx';
import { StatusBadge } from './badges.tsx';
import { FailoverReadiness, ReadinessPanel } from './failover-readiness.tsx';
import { formatBytes, formatSeconds } from './format.ts';
import { History, RecentEvents } from './history.tsx';
import { LagChart } from './lag-chart.tsx';
import { withFreshness } from './live-cache.ts';
import { MemberTable } from './member-table.tsx';
import { Topology } from './topology.tsx';
import { RequestOperation } from './ops/request-operation.tsx';
import { can, type TMe } from './ops/roles.ts';
import { syncStandbys } from './view-model.ts';
import { POLL_LIVE_MS, POLL_OFFLINE_MS, useLiveDashboard, useServerStatus } from './use-dashboard.ts';
import { StandbyLink } from './standby-link.tsx';

/** One key fact: a group named by its label ("Leader"), holding the label and the value. */
function Fact({ label, children }: { label: string; children: ReactNode }) {
  const id = useId();
  return (
    <div role="group" aria-labelledby={id} className="fact">
      <div id={id} className="fact-label">
        {label}
      </div>
      <div className="fact-value">{children}</div>
    </div>
  );
}

export function ClusterView({ scope }: { scope: string }) {
  const trpc = useTRPC();
  const { connected } = useLiveDashboard(scope);
  const status = useServerStatus(connected);
  const q = useQuery({ ...trpc.clusters.byScope.queryOptions({ scope }), refetchInterval: connected ? POLL_LIVE_MS : POLL_OFFLINE_MS });
  const c = useMemo(() => (q.data ? withFreshness(q.data, status.serverNow, status.staleAfterSeconds) : null), [q.data, status.serverNow, status.staleAfterSeconds]);
  const sync = useMemo(() => (c ? syncStandbys(c.members) : new Set<string>()), [c]);
  const me = useQuery(trpc.auth.me.queryOptions()).data as TMe | null | undefined;

  const notFound = q.error?.data?.code === 'NOT_FOUND';
  const h = c?.health;
  const leader = c && h?.leader ? c.members.find((m) => m.name === h.leader) : undefined;

  return (
    <AppShell live={connected} current="clusters">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link href="/clusters">Clusters</Link> / {scope}
      </nav>
      <div className="page-head">
        <h1>{c?.name ?? scope}</h1>
        {h ? <StatusBadge status={h.status} paused={h.paused} /> : null}
      </div>
      {h ? (
        <p className="summary-line" role="status" aria-label="Cluster summary">
          {h.summary}
        </p>
      ) : null}
      {c?.links ? (
        <p className="summary-line small">
          <StandbyLink links={c.links} />
        </p>
      ) : null}
      {notFound ? (
        <p className="form-error" role="alert">
          There is no cluster &quot;{scope}&quot;. <Link href="/clusters">All clusters</Link>
        </p>
      ) : q.error && !q.data ? (
        <p className="form-error" role="alert">
          {q.error.message}
        </p>
      ) : null}
      {q.isPending ? <p className="empty">Loading…</p> : null}

      {c && h ? (
        <>
          <section className="facts" aria-label="Key facts">
            <Fact label="Leader">{h.leader ?? <span className="bad">none</span>}</Fact>
            <Fact label="Members up">
              <span className={h.membersUp < h.membersTotal ? 'warn' : ''}>
                {h.membersUp}/{h.membersTotal}
              </span>
              {h.membersStale ? <span className="warn small"> · {h.membersStale} stale</span> : null}
            </Fact>
            <Fact label="Timeline">{leader?.timeline ?? '–'}</Fact>
            <Fact label="Worst lag">
              {h.worstLag ? `${formatBytes(h.worstLag.bytes)}${h.worstLag.seconds !== null ? ` · ${formatSeconds(h.worstLag.seconds)}` : ''}` : '–'}
              {h.worstLag ? <span className="muted small"> ({h.worstLag.member})</span> : null}
            </Fact>
            <Fact label="Pending restarts">{h.pendingRestarts || 'none'}</Fact>
            <Fact label="Failover readiness">
              <FailoverReadiness health={h} compact />
            </Fact>
          </section>
          {leader?.lastDecision && !leader.stale ? (
            <p className="summary-line small">
              <span className="muted">{leader.name}, last loop:</span> {leader.lastDecision.reason}
            </p>
          ) : null}

          {h.membersTotal > 1 ? <ReadinessPanel scope={scope} health={h} /> : null}

          <div className="grid-2">
            <section className="card" aria-labelledby="topology-title">
              <div className="card-head">
                <h2 id="topology-title">Topology</h2>
                {sync.size ? <span className="muted small">sync: {[...sync].join(', ')}</span> : null}
              </div>
              <Topology members={c.members} health={h} nowMs={status.serverNow} />
            </section>
            <section className="card" aria-label="Replication lag over time">
              <LagChart scope={scope} leader={h.leader} />
            </section>
          </div>

          <section className="card" aria-labelledby="members-title">
            <div className="card-head">
              <h2 id="members-title">Members</h2>
              <span className="muted small">a member is stale after {status.staleAfterSeconds} s without a report</span>
            </div>
            <MemberTable members={c.members} sync={sync} nowMs={status.serverNow} />
          </section>

          <BackupPanel members={c.members} leader={h.leader} nowMs={status.serverNow} maxAgeHours={c.backupMaxAgeHours} />

          {can(me, scope, 'operator') ? <RequestOperation scope={scope} members={c.members.map((m) => m.name)} /> : null}

          <div className="grid-2">
            <section className="card" aria-labelledby="history-title">
              <div className="card-head">
                <h2 id="history-title">Failovers and switchovers</h2>
              </div>
              <History history={c.history} />
            </section>
            <section className="card" aria-labelledby="events-title">
              <div className="card-head">
                <h2 id="events-title">Recent events</h2>
              </div>
              <RecentEvents events={c.recentEvents} />
            </section>
          </div>
        </>
      ) : null}
    </AppShell>
  );
}
