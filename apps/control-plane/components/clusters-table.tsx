/** The clusters list: one row per cluster, health at a glance. */
import Link from 'next/link';
import { StatusBadge } from './badges.tsx';
import { FailoverReadiness } from './failover-readiness.tsx';
import { formatBytes, formatSeconds } from './format.ts';
import { StandbyLink } from './standby-link.tsx';
import type { TClusterListItem } from './live-cache.ts';
import type { TClusterHealth } from '../server/lib/cluster-health.ts';

export type TClusterRow = TClusterListItem & { health: TClusterHealth };

export function ClustersTable({ clusters }: { clusters: TClusterRow[] }) {
  return (
    <div className="table-wrap">
      <table className="stack" aria-label="Clusters">
        <thead>
          <tr>
            <th scope="col">Cluster</th>
            <th scope="col">Status</th>
            <th scope="col">Leader</th>
            <th scope="col">Members up</th>
            <th scope="col">Worst lag</th>
            <th scope="col">Pending restarts</th>
            <th scope="col">Failover readiness</th>
          </tr>
        </thead>
        <tbody>
          {clusters.map((c) => {
            const h = c.health;
            return (
              <tr key={c.scope}>
                <th scope="row" data-label="Cluster">
                  <Link href={`/clusters/${encodeURIComponent(c.scope)}`}>{c.name}</Link>
                  <span className="sub">
                    <StandbyLink links={c.links} />
                  </span>
                </th>
                <td data-label="Status">
                  <StatusBadge status={h.status} paused={h.paused} />
                  <span className="sub">{h.summary}</span>
                </td>
                <td data-label="Leader">{h.leader ?? <span className="bad">none</span>}</td>
                <td data-label="Members up">
                  <span className={h.membersUp < h.membersTotal ? 'warn' : ''}>
                    {h.membersUp}/{h.membersTotal}
                  </span>
                  {h.membersStale ? <span className="sub warn">{h.membersStale} stale</span> : null}
                </td>
                <td data-label="Worst lag">
                  {h.worstLag ? (
                    <>
                      {formatBytes(h.worstLag.bytes)}
                      <span className="sub">
                        {h.worstLag.member}
                        {h.worstLag.seconds !== null ? ` · ${formatSeconds(h.worstLag.seconds)}` : ''}
                      </span>
                    </>
                  ) : (
                    <span className="muted">–</span>
                  )}
                </td>
                <td data-label="Pending restarts">{h.pendingRestarts ? <span className="badge warn">{h.pendingRestarts}</span> : <span className="muted">none</span>}</td>
                <td data-label="Failover readiness">
                  <FailoverReadiness health={h} compact />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
