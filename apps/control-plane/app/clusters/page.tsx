'use client';
/** Clusters at a glance: what a DBA opens first in the morning. Live. */
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { AppShell } from '../../components/app-shell.tsx';
import { ClustersTable } from '../../components/clusters-table.tsx';
import { withFreshness } from '../../components/live-cache.ts';
import { POLL_LIVE_MS, POLL_OFFLINE_MS, useLiveDashboard, useServerStatus } from '../../components/use-dashboard.ts';

export default function ClustersPage() {
  const trpc = useTRPC();
  const { connected } = useLiveDashboard();
  const status = useServerStatus(connected);
  const clusters = useQuery({ ...trpc.clusters.list.queryOptions(), refetchInterval: connected ? POLL_LIVE_MS : POLL_OFFLINE_MS });
  const rows = useMemo(
    () => clusters.data?.map((c) => withFreshness(c, status.serverNow, status.staleAfterSeconds)),
    [clusters.data, status.serverNow, status.staleAfterSeconds],
  );
  const attention = rows?.filter((c) => c.health.status !== 'healthy').length ?? 0;

  return (
    <AppShell live={connected} current="clusters">
      <div className="page-head">
        <h1>Clusters</h1>
        {rows ? (
          <span className="muted">
            {rows.length} {rows.length === 1 ? 'cluster' : 'clusters'}
            {attention ? ` · ${attention} need${attention === 1 ? 's' : ''} attention` : rows.length ? ' · all healthy' : ''}
          </span>
        ) : null}
      </div>
      <p className="summary-line">Leader, members, lag, pending restarts and failover readiness of every cluster, as its agents report them.</p>
      {clusters.error && !clusters.data ? (
        <p className="form-error" role="alert">
          {clusters.error.message}
        </p>
      ) : null}
      {clusters.isPending ? <p className="empty">Loading…</p> : null}
      {rows && rows.length === 0 ? (
        <div className="card">
          <p className="empty">No cluster has reported yet. Create an agent token per member (`npm run create-agent-token -w @keel/control-plane -- --cluster NAME --member MEMBER`) and add it to that agent&apos;s YAML under `controlplane: {'{'}url, token{'}'}`.</p>
        </div>
      ) : null}
      {rows && rows.length > 0 ? (
        <section className="card" aria-label="Cluster health">
          <ClustersTable clusters={rows} />
        </section>
      ) : null}
    </AppShell>
  );
}
