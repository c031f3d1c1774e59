'use client';
/** The audit log with filters (cluster, actor, action, time), the chain's verification, and the JSON-lines export. */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../../lib/trpc.ts';
import { AUDIT_ACTIONS, type TAuditAction } from '../../server/lib/audit-actions.ts';
import { AppShell } from '../app-shell.tsx';
import { formatTime } from '../format.ts';
import { useLiveDashboard } from '../use-dashboard.ts';

export function AuditView() {
  const trpc = useTRPC();
  const { connected } = useLiveDashboard();
  const [cluster, setCluster] = useState('');
  const [actor, setActor] = useState('');
  const [action, setAction] = useState<TAuditAction | ''>('');
  const [from, setFrom] = useState('');
  const filter = {
    ...(cluster.trim() ? { cluster: cluster.trim() } : {}),
    ...(actor.trim() ? { actor: actor.trim() } : {}),
    ...(action ? { actions: [action] } : {}),
    ...(from ? { from: new Date(from).toISOString() } : {}),
    limit: 200,
  };
  const list = useQuery({ ...trpc.audit.list.queryOptions(filter), refetchInterval: 5000 });
  const verify = useQuery({ ...trpc.audit.verify.queryOptions(), enabled: false });
  return (
    <AppShell live={connected} current="audit">
      <div className="page-head"><h1>Audit log</h1></div>
      <section className="card" aria-label="Filters">
        <div className="admin-fields">
          <div className="field"><label htmlFor="f-cluster">Cluster</label><input id="f-cluster" value={cluster} onChange={(e) => setCluster(e.target.value)} /></div>
          <div className="field"><label htmlFor="f-actor">Actor</label><input id="f-actor" value={actor} onChange={(e) => setActor(e.target.value)} /></div>
          <div className="field">
            <label htmlFor="f-action">Type</label>
            <select id="f-action" value={action} onChange={(e) => setAction(e.target.value as TAuditAction | '')}>
              <option value="">all</option>
              {AUDIT_ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}
            </select>
          </div>
          <div className="field"><label htmlFor="f-from">Since</label><input id="f-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} /></div>
        </div>
        <p className="small">
          <button type="button" className="secondary" onClick={() => void verify.refetch()}>Verify the chain</button>{' '}
          {verify.data ? (verify.data.ok ? <span className="ok">Intact: {verify.data.entries} entries, {verify.data.digests} signed digests.</span> : <span className="bad" role="alert">Broken{verify.data.firstBrokenId ? ` at entry ${verify.data.firstBrokenId}` : ''}: {verify.data.reason}</span>) : null}
          {' · '}Export as JSON lines: <code>GET /api/v1/audit/export</code> with an API token
        </p>
      </section>
      <section className="card">
        <div className="table-wrap">
          <table aria-label="Audit entries">
            <thead><tr><th>When</th><th>Actor</th><th>Channel</th><th>Action</th><th>Target</th><th>Cluster</th><th>Outcome</th><th>Details</th></tr></thead>
            <tbody>
              {(list.data ?? []).map((e) => (
                <tr key={e.id}>
                  <td>{formatTime(e.at)}</td>
                  <td>{e.actor}</td>
                  <td>{e.channel ?? ''}{e.address ? ` · ${e.address}` : ''}</td>
                  <td>{e.action}</td>
                  <td>{e.target}</td>
                  <td>{e.cluster ?? ''}</td>
                  <td>{e.outcome ?? ''}</td>
                  <td><code className="small">{JSON.stringify(e.details)}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </AppShell>
  );
}
