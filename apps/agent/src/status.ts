import { isSyncStandby } from '@keel/ha-core';
import type { Probe } from '@keel/postgres';
import { patroniRole, type TMemberValue, type TNodeStatus } from '@keel/protocol';
import { syncView } from './observe.ts';
import { scheduledRestartValue } from './ops/restart-member.ts';
import { KEEL_VERSION, memberState, type OpsRuntime } from './runtime.ts';

/** GET /patroni, built from a probe (fresh for REST, the loop's own for publishing). */
export function nodeStatus(rt: OpsRuntime, probe: Probe | null): TNodeStatus {
  const running = probe?.running === true;
  const obs = rt.lastObservation;
  const leader = rt.lastCluster?.leader?.name ?? null;
  const s: TNodeStatus = {
    // A long action (restart, reinitialize) is reported while it runs, even before PostgreSQL stopped (patronictl reinit --wait).
    state: running && !rt.memory.inFlight ? 'running' : memberState(rt, probe),
    role: running ? runningRole(rt, probe.role, leader) : obs?.pg.dataDir === 'empty' ? 'uninitialized' : 'replica',
    patroni: { version: KEEL_VERSION, scope: rt.config.scope, name: rt.config.name },
  };
  if (running) {
    if (probe.postmasterStartTime) s.postmaster_start_time = probe.postmasterStartTime;
    if (probe.serverVersion) s.server_version = probe.serverVersion;
    if (probe.role === 'primary') {
      s.xlog = { location: probe.lsn ?? 0 };
    } else {
      s.xlog = {
        received_location: probe.receiveLsn ?? probe.replayLsn ?? 0,
        replayed_location: probe.replayLsn ?? 0,
        replayed_timestamp: probe.replayedTimestamp ?? null,
        paused: probe.replayPaused ?? false,
      };
    }
    if (s.role === 'replica' && isSyncMember(rt)) s[rt.settings.quorumCommit ? 'quorum_standby' : 'sync_standby'] = true;
    if (probe.role === 'replica') s.replication_state = probe.streaming ? 'streaming' : 'stopped';
    if (probe.timeline) s.timeline = probe.timeline;
    if (probe.role === 'primary' && probe.replication?.length) s.replication = probe.replication as unknown as Array<Record<string, unknown>>;
  }
  if (rt.lastCluster && leader === null) s.cluster_unlocked = true;
  if (rt.settings.failsafeMode && rt.failsafe?.isActive(rt.settings.ttl * 1000, Date.now())) s.failsafe_mode_is_active = true;
  if (rt.settings.pause) s.pause = true;
  if (rt.dcsLastSeen) s.dcs_last_seen = rt.dcsLastSeen;
  // As Patroni: the boolean tags are published only when set (patronictl shows any tag it gets).
  const tags = Object.fromEntries(
    Object.entries(rt.config.tags ?? {}).filter(([k, v]) => !(['nofailover', 'noloadbalance', 'clonefrom', 'nosync'].includes(k) && v === false)),
  );
  if (Object.keys(tags).length) s.tags = tags;
  const sysid = probe?.sysid ?? obs?.pg.sysid;
  if (sysid) s.database_system_identifier = sysid;
  const pending = probe?.pendingRestart ?? [];
  if (running && pending.length) {
    s.pending_restart = true;
    s.pending_restart_reason = Object.fromEntries(pending.map((p) => [p.name, { old_value: p.old_value, new_value: p.new_value }]));
  }
  if (rt.lastDecision) {
    s.keel = { verdict: rt.lastDecision.verdict, reason: rt.lastDecision.reason, loop_at: new Date(rt.lastLoopAt).toISOString() };
    if (rt.lastActionFailure) s.keel.last_failure = rt.lastActionFailure;
    if (rt.failoverOutcomes?.length) s.keel.failover_outcomes = [...rt.failoverOutcomes];
  }
  return s;
}

/** Patroni's roles: a replica holding the lock of a standby cluster is its standby_leader. */
function runningRole(rt: OpsRuntime, pgRole: Probe['role'], leader: string | null): 'primary' | 'replica' | 'standby_leader' {
  if (pgRole === 'primary') return 'primary';
  return rt.settings.standbyCluster != null && leader === rt.config.name ? 'standby_leader' : 'replica';
}

/** synchronous_mode is on and /sync (as last read) lists this member as a synchronous standby. */
export function isSyncMember(rt: OpsRuntime): boolean {
  const snap = rt.lastCluster;
  if (!snap) return false;
  return isSyncStandby(rt.settings, { sync: syncView(snap) }, rt.config.name);
}


/** The value of members/<name> (Patroni's format). */
export function memberValue(rt: OpsRuntime): TMemberValue {
  const s = nodeStatus(rt, rt.lastProbe);
  const c = rt.config;
  const v: TMemberValue = {
    conn_url: `postgres://${c.postgresql.connect_address.host}:${c.postgresql.connect_address.port}/postgres`,
    api_url: c.restapi.api_url,
    state: s.state,
    role: patroniRole(s.role), // Patroni 3's spelling (protocol ops.ts, patroniRole)
    version: KEEL_VERSION,
  };
  const x = s.xlog;
  if (x?.location !== undefined) v.xlog_location = x.location;
  else if (x) {
    v.xlog_location = Math.max(x.received_location ?? 0, x.replayed_location ?? 0);
    v.receive_lsn = x.received_location ?? 0;
    v.replay_lsn = x.replayed_location ?? 0;
    v.replication_state = rt.lastProbe?.streaming ? 'streaming' : 'stopped';
  }
  if (s.timeline) v.timeline = s.timeline;
  if (s.tags) v.tags = s.tags;
  if (s.pending_restart) {
    v.pending_restart = true;
    v.pending_restart_reason = s.pending_restart_reason ?? {};
  }
  if (s.pause) v.pause = true;
  if (rt.scheduledRestart) v.scheduled_restart = scheduledRestartValue(rt.scheduledRestart);
  return v;
}
