import type { TNodeStatus } from '@keel/protocol';
import { MEMBER_STATE_NUMBER } from '@keel/protocol';

interface Metric {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  value: number | string;
}

/**
 * Prometheus text exposition with Patroni's metric names (shared/reference samples), labelled
 * with scope and name so dashboards built for Patroni keep working.
 */
export function renderMetrics(
  s: TNodeStatus,
  extra: { hasLock: boolean; pause: boolean; keelVersion: string; failsafeEnabled?: boolean; failsafeMember?: boolean },
): string {
  const running = s.state === 'running';
  const primary = running && s.role === 'primary' && extra.hasLock;
  const replica = running && s.role === 'replica';
  const startEpoch = s.postmaster_start_time ? Date.parse(s.postmaster_start_time.replace(' ', 'T')) / 1000 : 0;
  const replayedTs = s.xlog?.replayed_timestamp ? Date.parse(s.xlog.replayed_timestamp.replace(' ', 'T')) / 1000 : 0;
  const [maj = 0, min = 0, pat = 0] = extra.keelVersion.split('.').map(Number);
  const m: Metric[] = [
    { name: 'patroni_version', help: 'Patroni semver without periods.', type: 'gauge', value: `${pad(maj)}${pad(min)}${pad(pat)}` },
    { name: 'patroni_postgres_running', help: 'Value is 1 if Postgres is running, 0 otherwise.', type: 'gauge', value: running ? 1 : 0 },
    { name: 'patroni_postmaster_start_time', help: 'Epoch seconds since Postgres started.', type: 'gauge', value: running ? startEpoch : 0 },
    { name: 'patroni_master', help: 'Value is 1 if this node is the leader, 0 otherwise.', type: 'gauge', value: primary ? 1 : 0 },
    { name: 'patroni_primary', help: 'Value is 1 if this node is the leader, 0 otherwise.', type: 'gauge', value: primary ? 1 : 0 },
    { name: 'patroni_xlog_location', help: 'Current location of the Postgres transaction log, 0 if this node is not the leader.', type: 'counter', value: primary ? (s.xlog?.location ?? 0) : 0 },
    { name: 'patroni_standby_leader', help: 'Value is 1 if this node is the standby_leader, 0 otherwise.', type: 'gauge', value: running && s.role === 'standby_leader' ? 1 : 0 },
    { name: 'patroni_replica', help: 'Value is 1 if this node is a replica, 0 otherwise.', type: 'gauge', value: replica ? 1 : 0 },
    { name: 'patroni_sync_standby', help: 'Value is 1 if this node is a sync standby replica, 0 otherwise.', type: 'gauge', value: replica && s.sync_standby === true ? 1 : 0 },
    { name: 'patroni_quorum_standby', help: 'Value is 1 if this node is a quorum standby replica, 0 otherwise.', type: 'gauge', value: replica && s.quorum_standby === true ? 1 : 0 },
    { name: 'patroni_xlog_received_location', help: 'Current location of the received Postgres transaction log, 0 if this node is not a replica.', type: 'counter', value: replica ? (s.xlog?.received_location ?? 0) : 0 },
    { name: 'patroni_xlog_replayed_location', help: 'Current location of the replayed Postgres transaction log, 0 if this node is not a replica.', type: 'counter', value: replica ? (s.xlog?.replayed_location ?? 0) : 0 },
    { name: 'patroni_xlog_replayed_timestamp', help: 'Current timestamp of the replayed Postgres transaction log, 0 if null.', type: 'gauge', value: replica ? replayedTs || 0 : 0 },
    { name: 'patroni_xlog_paused', help: 'Value is 1 if the Postgres xlog is paused, 0 otherwise.', type: 'gauge', value: s.xlog?.paused ? 1 : 0 },
    { name: 'patroni_postgres_server_version', help: 'Version of Postgres (if running), 0 otherwise.', type: 'gauge', value: running ? (s.server_version ?? 0) : 0 },
    { name: 'patroni_cluster_unlocked', help: 'Value is 1 if the cluster is unlocked, 0 if locked.', type: 'gauge', value: s.cluster_unlocked ? 1 : 0 },
    { name: 'patroni_failsafe_mode_is_active', help: 'Value is 1 if failsafe mode is active, 0 if inactive.', type: 'gauge', value: s.failsafe_mode_is_active ? 1 : 0 },
    { name: 'patroni_failsafe_mode_enabled', help: 'Value is 1 if failsafe_mode is enabled, 0 otherwise.', type: 'gauge', value: extra.failsafeEnabled ? 1 : 0 },
    { name: 'patroni_failsafe_member', help: 'Value is 1 if this node is a member of failsafe, 0 otherwise.', type: 'gauge', value: extra.failsafeMember ? 1 : 0 },
    { name: 'patroni_postgres_timeline', help: 'Postgres timeline of this node (if running), 0 otherwise.', type: 'counter', value: running ? (s.timeline ?? 0) : 0 },
    { name: 'patroni_dcs_last_seen', help: 'Epoch timestamp when DCS was last contacted successfully by Patroni.', type: 'gauge', value: s.dcs_last_seen ?? 0 },
    { name: 'patroni_pending_restart', help: 'Value is 1 if the node needs a restart, 0 otherwise.', type: 'gauge', value: s.pending_restart ? 1 : 0 },
    { name: 'patroni_is_paused', help: 'Value is 1 if auto failover is disabled, 0 otherwise.', type: 'gauge', value: extra.pause ? 1 : 0 },
    { name: 'patroni_postgres_state', help: 'Numeric representation of Postgres state.', type: 'gauge', value: MEMBER_STATE_NUMBER[s.state] ?? -1 },
  ];
  const labels = `{scope="${esc(s.patroni.scope)}",name="${esc(s.patroni.name)}"}`;
  return m.map((x) => `# HELP ${x.name} ${x.help}\n# TYPE ${x.name} ${x.type}\n${x.name}${labels} ${x.value}\n`).join('');
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
