/** Small status words with colour: role, cluster status, staleness. Text first, colour second. */
import type { TClusterStatus } from '../server/lib/cluster-health.ts';
import { formatAgo, formatTime, isLeaderRole, roleLabel, statusLabel, statusTone, type TRoleName } from './format.ts';

export function RoleBadge({ role, sync, stale }: { role: TRoleName | null; sync?: boolean; stale?: boolean }) {
  const label = roleLabel(role, { sync: sync ?? false });
  if (stale) {
    return (
      <span className="badge" title={`No report from this member's agent; it last reported ${label}`}>
        Unknown<span className="visually-hidden">,</span> <span className="muted">(last: {label})</span>
      </span>
    );
  }
  const tone = isLeaderRole(role) ? 'leader' : sync ? 'info' : '';
  return <span className={`badge ${tone}`}>{label}</span>;
}

export function StatusBadge({ status, paused }: { status: TClusterStatus; paused?: boolean }) {
  return (
    <span className="badges">
      <span className={`badge ${statusTone(status)}`}>{statusLabel(status)}</span>
      {paused ? <span className="badge warn">Paused</span> : null}
    </span>
  );
}

/** "Stale since 14:03:02" (with how long ago in the tooltip). */
export function StaleBadge({ since, nowMs }: { since: string | null; nowMs: number }) {
  return (
    <span className="badge warn" title={since ? `No report for ${formatAgo(since, nowMs).replace(' ago', '')}` : 'Never reported'}>
      {since ? `Stale since ${formatTime(since)}` : 'Never reported'}
    </span>
  );
}
