/**
 * The cluster's timeline history (failovers and switchovers, with the role changes around them)
 * and its recent events, newest first, each as the agent's own sentence.
 */
import type { TEventView } from './live-cache.ts';
import { formatTime } from './format.ts';

const EVENT_LABEL: Record<string, { label: string; tone: string }> = {
  failover: { label: 'Failover', tone: 'bad' },
  switchover: { label: 'Switchover', tone: 'info' },
  role_change: { label: 'Role change', tone: '' },
  postgres_down: { label: 'PostgreSQL down', tone: 'bad' },
  postgres_up: { label: 'PostgreSQL up', tone: 'ok' },
  dcs_unreachable: { label: 'DCS unreachable', tone: 'bad' },
  dcs_back: { label: 'DCS back', tone: 'ok' },
  lag_above_threshold: { label: 'Lag high', tone: 'warn' },
  lag_back: { label: 'Lag normal', tone: 'ok' },
  pending_restart: { label: 'Pending restart', tone: 'warn' },
};

function timelineOf(e: TEventView): number | null {
  const d = e.details as { timeline?: unknown } | null;
  return typeof d?.timeline === 'number' ? d.timeline : null;
}

function EventItem({ e, minor }: { e: TEventView; minor?: boolean }) {
  const meta = EVENT_LABEL[e.type] ?? { label: e.type, tone: '' };
  const tl = timelineOf(e);
  return (
    <li data-kind={minor ? 'minor' : 'major'}>
      <time dateTime={e.at} title={new Date(e.at).toLocaleString()}>
        {formatTime(e.at)}
      </time>
      <span className="what">
        <span className={`badge ${meta.tone}`}>{meta.label}</span>
        <span>{e.summary || `${e.member}: ${meta.label.toLowerCase()}`}</span>
        {tl !== null ? <span className="muted small">timeline {tl}</span> : null}
      </span>
    </li>
  );
}

export function History({ history }: { history: TEventView[] }) {
  const takeovers = history.filter((e) => e.type === 'failover' || e.type === 'switchover');
  return (
    <div>
      {takeovers.length === 0 ? (
        <p className="empty">{history.length ? 'No failover or switchover event recorded; the role changes the agents reported:' : 'No failover, switchover or role change recorded.'}</p>
      ) : null}
      {history.length ? (
        <ol className="timeline" aria-label="Failovers and switchovers">
          {history.slice(0, 30).map((e) => (
            <EventItem key={e.id} e={e} minor={e.type === 'role_change'} />
          ))}
        </ol>
      ) : null}
    </div>
  );
}

export function RecentEvents({ events }: { events: TEventView[] }) {
  if (events.length === 0) return <p className="empty">No events yet.</p>;
  const first = events.slice(0, 8);
  const rest = events.slice(8);
  return (
    <>
      <ol className="timeline" aria-label="Recent events">
        {first.map((e) => (
          <EventItem key={e.id} e={e} />
        ))}
      </ol>
      {rest.length ? (
        <details className="more">
          <summary>{rest.length} older events</summary>
          <ol className="timeline">
            {rest.map((e) => (
              <EventItem key={e.id} e={e} />
            ))}
          </ol>
        </details>
      ) : null}
    </>
  );
}
