'use client';
/** Alerts: open and recent alerts, the delivery log (attempts, status codes, next retry), and for admins the channels and rule thresholds. */
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../../lib/trpc.ts';
import { AppShell } from '../app-shell.tsx';
import { formatTime } from '../format.ts';
import { useLiveDashboard } from '../use-dashboard.ts';
import { ChannelsAdmin, RulesSettings } from './alerts-admin.tsx';

const SEVERITY_CLASS: Record<string, string> = { critical: 'bad', error: 'bad', warning: 'warn', info: '' };

function AlertsTable() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.alerts.list.queryOptions({ take: 200 }), refetchInterval: 5000 });
  const rows = q.data ?? [];
  return (
    <section className="card" aria-labelledby="alerts-title">
      <div className="card-head">
        <h2 id="alerts-title">Alerts</h2>
        <span className="muted small">{rows.filter((a) => a.status === 'firing').length} firing</span>
      </div>
      {q.error ? <p className="form-error" role="alert">{q.error.message}</p> : null}
      {rows.length === 0 && q.isSuccess ? <p className="empty">No alerts.</p> : null}
      {rows.length ? (
        <div className="table-wrap">
          <table className="stack" aria-label="Alerts">
            <thead>
              <tr><th scope="col">Status</th><th scope="col">Severity</th><th scope="col">Summary</th><th scope="col">Since</th><th scope="col">Resolved</th></tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.id} data-rule={a.rule} data-status={a.status}>
                  <td data-label="Status"><span className={`badge ${a.status === 'firing' ? 'bad' : a.status === 'pending' ? 'warn' : 'ok'}`}>{a.status}</span></td>
                  <td data-label="Severity" className={SEVERITY_CLASS[a.severity] ?? ''}>{a.severity}</td>
                  <td data-label="Summary">{a.summary}<span className="sub muted">{a.rule}</span></td>
                  <td data-label="Since">{formatTime(a.since)}</td>
                  <td data-label="Resolved">{a.resolvedAt ? formatTime(a.resolvedAt) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

function DeliveryLog() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.alerts.deliveries.queryOptions({ take: 200 }), refetchInterval: 5000 });
  const rows = q.data ?? [];
  return (
    <section className="card" aria-labelledby="deliveries-title">
      <div className="card-head"><h2 id="deliveries-title">Delivery log</h2></div>
      {rows.length === 0 && q.isSuccess ? <p className="empty">Nothing sent yet.</p> : null}
      {rows.length ? (
        <div className="table-wrap">
          <table className="stack" aria-label="Deliveries">
            <thead>
              <tr><th scope="col">Created</th><th scope="col">Channel</th><th scope="col">Notice</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Next retry</th></tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id} data-channel={d.channel} data-status={d.status}>
                  <td data-label="Created">{formatTime(d.createdAt)}</td>
                  <td data-label="Channel">{d.channel}<span className="sub muted">{d.kind}</span></td>
                  <td data-label="Notice">{d.event} · {d.summary}</td>
                  <td data-label="Status">
                    <span className={`badge ${d.status === 'delivered' ? 'ok' : d.status === 'failed' ? 'bad' : 'warn'}`}>{d.status}</span>
                    {d.lastStatus !== null || d.lastError ? <span className="sub">{d.lastStatus !== null ? `HTTP ${d.lastStatus}` : d.lastError}</span> : null}
                  </td>
                  <td data-label="Attempts">
                    <details>
                      <summary>{d.attempts}</summary>
                      <ol className="small">
                        {d.log.map((a) => (
                          <li key={a.at}>{formatTime(a.at)}: {a.status !== null ? `HTTP ${a.status}` : a.error} ({a.ms} ms)</li>
                        ))}
                      </ol>
                    </details>
                  </td>
                  <td data-label="Next retry">{d.nextAttemptAt ? formatTime(d.nextAttemptAt) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

export function AlertsView() {
  const trpc = useTRPC();
  const { connected } = useLiveDashboard();
  const me = useQuery(trpc.auth.me.queryOptions());
  const isAdmin = me.data?.role === 'admin';
  return (
    <AppShell live={connected} current="alerts">
      <div className="page-head"><h1>Alerts</h1></div>
      <AlertsTable />
      <DeliveryLog />
      <RulesSettings editable={isAdmin} />
      {isAdmin ? <ChannelsAdmin /> : null}
    </AppShell>
  );
}
