'use client';
/** The approval queue (operations waiting for approval) and recent operations. Live. */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '../../lib/trpc.ts';
import { AppShell } from '../app-shell.tsx';
import { formatTime } from '../format.ts';
import { useLiveDashboard } from '../use-dashboard.ts';

type TOp = { id: string; cluster: string; type: string; status: string; reason: string; ticket: string | null; requestedBy: string; createdAt: string; validApprovals: number; requiredApprovals: number };

function Table({ ops, label, error }: { ops: TOp[] | undefined; label: string; error: string | null }) {
  if (error) return <p className="form-error" role="alert">{error}</p>;
  if (!ops) return <p className="muted">Loading…</p>;
  if (ops.length === 0) return <p className="muted">None.</p>;
  return (
    <div className="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr><th>Operation</th><th>Cluster</th><th>Status</th><th>Reason</th><th>Requested by</th><th>When</th></tr>
        </thead>
        <tbody>
          {ops.map((o) => (
            <tr key={o.id}>
              <td><Link href={`/operations/${o.id}`}>{o.type.replace('_', ' ')}</Link></td>
              <td>{o.cluster}</td>
              <td>{o.status.replace('_', ' ')}{o.status === 'awaiting_approval' ? ` (${o.validApprovals}/${o.requiredApprovals})` : ''}</td>
              <td>{o.reason}{o.ticket ? ` · ${o.ticket}` : ''}</td>
              <td>{o.requestedBy}</td>
              <td>{formatTime(o.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function OperationsList() {
  const trpc = useTRPC();
  const { connected } = useLiveDashboard();
  const waiting = useQuery(trpc.operations.list.queryOptions({ status: ['awaiting_approval'] }));
  const recent = useQuery(trpc.operations.list.queryOptions({ limit: 50 }));
  return (
    <AppShell live={connected} current="operations">
      <div className="page-head"><h1>Operations</h1></div>
      <section className="card" aria-labelledby="queue-title">
        <h2 id="queue-title">Waiting for approval</h2>
        <Table ops={waiting.data} error={waiting.error?.message ?? null} label="Waiting for approval" />
      </section>
      <section className="card" aria-labelledby="recent-title">
        <h2 id="recent-title">Recent</h2>
        <Table ops={recent.data} error={recent.error?.message ?? null} label="Recent operations" />
      </section>
    </AppShell>
  );
}
