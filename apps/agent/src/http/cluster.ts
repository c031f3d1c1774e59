import type { ClusterSnapshot } from '@keel/dcs';
import { isQuorumMode, synchronousModeOn } from '@keel/ha-core';
import { compareCodeUnits } from '@keel/protocol';
import { syncView } from '../observe.ts';

/** GET /cluster, Patroni's shape, from a DCS snapshot. */
export function clusterBody(snap: ClusterSnapshot, scope: string, pause: boolean): Record<string, unknown> {
  const leaderName = snap.leader?.name ?? null;
  const leaderMember = snap.members.find((m) => m.name === leaderName);
  const sync = synchronousModeOn(snap.config?.value.synchronous_mode) ? syncView(snap) : null;
  const syncStandbys = sync?.leader ? sync.syncStandby : [];
  const syncRole = isQuorumMode(snap.config?.value.synchronous_mode) ? 'quorum_standby' : 'sync_standby';
  const top = Math.max(snap.status?.optime ?? 0, leaderMember?.value.xlog_location ?? 0);
  const members = [...snap.members]
    .sort((a, b) => compareCodeUnits(a.name, b.name))
    .map((m) => {
      const v = m.value;
      let host = '';
      let port = 0;
      try {
        const u = new URL(v.conn_url);
        host = u.hostname;
        port = Number(u.port || 5432);
      } catch {
        /* leave empty */
      }
      const isLeader = m.name === leaderName;
      const out: Record<string, unknown> = {
        name: m.name,
        role: isLeader ? 'leader' : syncStandbys.includes(m.name) ? syncRole : 'replica',
        state: v.state,
        api_url: v.api_url,
        host,
        port,
      };
      if (v.timeline !== undefined) out.timeline = v.timeline;
      if (!isLeader) {
        if (v.xlog_location !== undefined && top > 0) out.lag = Math.max(0, top - v.xlog_location);
        else out.lag = 'unknown';
        if (v.receive_lsn !== undefined) {
          out.receive_lsn = v.receive_lsn;
          out.receive_lag = Math.max(0, top - v.receive_lsn);
        }
        if (v.replay_lsn !== undefined) {
          out.replay_lsn = v.replay_lsn;
          out.replay_lag = Math.max(0, top - v.replay_lsn);
        }
      } else if (v.xlog_location !== undefined) {
        out.lsn = v.xlog_location;
      }
      if (v.tags && Object.keys(v.tags).length) out.tags = v.tags;
      if (v.pending_restart) {
        out.pending_restart = true;
        if (v.pending_restart_reason) out.pending_restart_reason = v.pending_restart_reason;
      }
      return out;
    });
  const body: Record<string, unknown> = { members, scope };
  if (pause) body.pause = true;
  const f = snap.failover?.value;
  if (f?.scheduled_at) {
    const sw: Record<string, unknown> = { at: f.scheduled_at };
    if (f.leader) sw.from = f.leader;
    if (f.member ?? f.candidate) sw.to = f.member ?? f.candidate;
    body.scheduled_switchover = sw;
  }
  return body;
}
