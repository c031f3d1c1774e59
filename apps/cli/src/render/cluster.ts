import type { ClusterSnapshot } from '@keel/dcs';
import type { TTags } from '@keel/protocol';

/** One member as patronictl sees it (Patroni's utils.cluster_as_json). */
export interface MemberView {
  name: string;
  /** leader | standby_leader | sync_standby | quorum_standby | replica */
  role: string;
  state: string;
  apiUrl: string;
  host?: string;
  port?: number;
  timeline?: number;
  /** Bytes behind the cluster's last known WAL position; 'unknown' when the member reports none. Absent for the leader. */
  lag?: number | 'unknown';
  pendingRestart: boolean;
  /** "<schedule>[ if version < X]" */
  scheduledRestart?: string;
  tags?: TTags;
}

export interface ClusterView {
  scope: string;
  members: MemberView[];
  /** The leader key's value (null: no leader). */
  leader: string | null;
  pause: boolean;
  scheduledSwitchover?: { at: string; from?: string; to?: string };
  /** /initialize: null absent, '' a bootstrap is running, else the system identifier. */
  initialize: string | null;
}

/** Tags Patroni leaves out of the member key when they are false (patroni/__main__.py get_tags). */
const HIDDEN_WHEN_FALSE = new Set(['clonefrom', 'nofailover', 'noloadbalance', 'nosync']);

export function visibleTags(tags: TTags | undefined): TTags | undefined {
  if (!tags) return undefined;
  const out = Object.fromEntries(Object.entries(tags).filter(([k, v]) => !HIDDEN_WHEN_FALSE.has(k) || Boolean(v)));
  return Object.keys(out).length ? out : undefined;
}

function hostPort(connUrl: string): { host?: string; port?: number } {
  try {
    const u = new URL(connUrl);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!host) return {};
    return u.port ? { host, port: Number(u.port) } : { host };
  } catch {
    return {};
  }
}

function truthy(v: unknown): boolean {
  if (typeof v === 'string') return ['true', 'on', 'yes', '1'].includes(v.toLowerCase());
  return Boolean(v);
}

/**
 * The cluster as patronictl shows it. The lag reference is the larger of /status optime and the
 * leader's own xlog_location (the agent's GET /cluster uses the same), so a member is never shown
 * ahead of the leader.
 */
export function clusterView(snap: ClusterSnapshot, scope: string): ClusterView {
  const leaderName = snap.leader?.name || null;
  const config = snap.config?.value ?? {};
  const leaderValue = snap.members.find((m) => m.name === leaderName)?.value;
  const top = Math.max(snap.status?.optime ?? 0, leaderValue?.xlog_location ?? 0);
  const quorum = config.synchronous_mode === 'quorum';
  const syncMembers = new Set(
    (snap.sync?.value.sync_standby ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const members = snap.members.map((m): MemberView => {
    const v = m.value;
    let role: string;
    if (m.name === leaderName) role = config.standby_cluster ? 'standby_leader' : 'leader';
    else if (syncMembers.has(m.name)) role = quorum ? 'quorum_standby' : 'sync_standby';
    else role = 'replica';
    const out: MemberView = { name: m.name, role, state: v.state, apiUrl: v.api_url, pendingRestart: v.pending_restart === true, ...hostPort(v.conn_url) };
    if (v.timeline !== undefined) out.timeline = v.timeline;
    if (m.name !== leaderName) {
      const lsn = v.xlog_location;
      out.lag = lsn === undefined ? 'unknown' : Math.max(0, top - lsn);
    }
    const sr = v.scheduled_restart;
    if (sr && typeof sr.schedule === 'string') {
      out.scheduledRestart = sr.schedule + (sr.postgres_version ? ` if version < ${String(sr.postgres_version)}` : '');
    }
    const tags = visibleTags(v.tags);
    if (tags) out.tags = tags;
    return out;
  });
  members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const view: ClusterView = { scope, members, leader: leaderName, pause: truthy(config.pause), initialize: snap.initialize };
  const f = snap.failover?.value;
  if (f?.scheduled_at) {
    view.scheduledSwitchover = { at: f.scheduled_at };
    if (f.leader) view.scheduledSwitchover.from = f.leader;
    const to = f.candidate ?? f.member;
    if (to) view.scheduledSwitchover.to = to;
  }
  return view;
}
