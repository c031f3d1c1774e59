/**
 * Every member with what its agent last reported: role, state, timeline, WAL positions and lag,
 * pending restart (parameter: old -> new), tags, last seen. A member whose agent stopped reporting
 * is stale "since" its last report; its values are the last known ones, greyed.
 */
import type { TMemberView } from './live-cache.ts';
import { RoleBadge, StaleBadge } from './badges.tsx';
import { formatAgo, formatBytes, formatLsn, formatSeconds, formatTime } from './format.ts';
import { archiveSummary, visibleTags } from './view-model.ts';

/** The member's WAL archiving (primary, or archive_mode = always): last archived file and when, or the failure. */
function Archive({ m, nowMs }: { m: TMemberView; nowMs: number }) {
  const a = archiveSummary(m.archive);
  if (a.status === 'unknown' || a.status === 'off') return <span className="muted">{a.status === 'off' ? 'off' : '–'}</span>;
  return (
    <>
      <span className={`mono ${a.status === 'failing' ? 'bad' : ''}`}>{a.text}</span>
      {a.lastArchivedAt ? <span className="sub">{formatAgo(a.lastArchivedAt, nowMs)}</span> : null}
    </>
  );
}

function Lag({ bytes, seconds }: { bytes: number | null | undefined; seconds: number | null | undefined }) {
  if (bytes === null || bytes === undefined) return <span className="sub">lag –</span>;
  return (
    <span className={`sub ${bytes > 16 * 1024 * 1024 ? 'warn' : ''}`}>
      lag {formatBytes(bytes)}
      {seconds !== null && seconds !== undefined ? ` · ${formatSeconds(seconds)}` : ''}
    </span>
  );
}

export function MemberTable({ members, sync, nowMs }: { members: TMemberView[]; sync: Set<string>; nowMs: number }) {
  return (
    <div className="table-wrap">
      <table className="stack" aria-label="Members">
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Role</th>
            <th scope="col">State</th>
            <th scope="col">TL</th>
            <th scope="col">Receive</th>
            <th scope="col">Replay</th>
            <th scope="col">WAL archive</th>
            <th scope="col">Pending restart</th>
            <th scope="col">Tags</th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => {
            const replica = m.role === 'replica';
            const reasons = Object.entries(m.pendingRestartReasons);
            const tags = visibleTags(m.tags);
            return (
              <tr key={m.name} data-stale={m.stale}>
                <th scope="row" data-label="Member">
                  {m.name}
                  {!m.connected && !m.stale ? <span className="sub warn">agent disconnected</span> : null}
                </th>
                <td data-label="Role">
                  <RoleBadge role={m.role} sync={sync.has(m.name)} stale={m.stale} />
                </td>
                <td data-label="State">
                  {m.stale ? (
                    <StaleBadge since={m.lastSeenAt} nowMs={nowMs} />
                  ) : (
                    <span className={m.state === 'running' ? '' : 'bad'}>{m.state ?? 'no report'}</span>
                  )}
                  {m.stale && m.state ? <span className="sub">last state: {m.state}</span> : null}
                  {!m.stale && m.dcsOk === false ? <span className="sub bad">DCS unreachable</span> : null}
                </td>
                <td data-label="Timeline">{m.timeline ?? '–'}</td>
                <td data-label="Receive">
                  {replica ? (
                    <>
                      <span className="mono">{formatLsn(m.receiveLsn)}</span>
                      <Lag bytes={m.lag?.receiveBytes} seconds={m.lag?.receiveSeconds} />
                    </>
                  ) : (
                    <>
                      <span className="mono">{formatLsn(m.lsn)}</span>
                      <span className="sub">{m.role === 'primary' ? 'WAL written' : ''}</span>
                    </>
                  )}
                </td>
                <td data-label="Replay">
                  {replica ? (
                    <>
                      <span className="mono">{formatLsn(m.replayLsn)}</span>
                      <Lag bytes={m.lag?.replayBytes} seconds={m.lag?.replaySeconds} />
                    </>
                  ) : (
                    <span className="muted">–</span>
                  )}
                </td>
                <td data-label="WAL archive">
                  <Archive m={m} nowMs={nowMs} />
                </td>
                <td data-label="Pending restart">
                  {m.pendingRestart ? (
                    <>
                      <span className="badge warn">Pending</span>
                      {reasons.map(([param, r]) => (
                        <span className="sub mono" key={param}>
                          {param}: {r.old_value} → {r.new_value}
                        </span>
                      ))}
                    </>
                  ) : (
                    <span className="muted">no</span>
                  )}
                </td>
                <td data-label="Tags">
                  {tags.length ? (
                    <span className="badges">
                      {tags.map((t) => (
                        <span className="badge" key={t}>
                          {t}
                        </span>
                      ))}
                    </span>
                  ) : (
                    <span className="muted">–</span>
                  )}
                </td>
                <td data-label="Last seen">
                  {m.lastSeenAt ? (
                    <>
                      <time dateTime={m.lastSeenAt}>{formatTime(m.lastSeenAt)}</time>
                      <span className="sub">{formatAgo(m.lastSeenAt, nowMs)}</span>
                    </>
                  ) : (
                    'never'
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
