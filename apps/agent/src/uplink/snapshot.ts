import type { ClusterSnapshot } from '@keel/dcs';
import { clusterTimeline, rankCandidates } from '@keel/ha-core';
import type { Decision, HaSettings, Observation } from '@keel/ha-core';
import type { ArchiverStatus } from '@keel/postgres';
import { normaliseRole, ZArchiveStatus, type TArchiveStatus, type TBackupStatus, type TClusterMemberSummary, type TFailoverReadiness, type THaContext, type TLag, type TNodeStatus, type TSnapshot } from '@keel/protocol';

/** A snapshot before the buffer numbers it. */
export type TSnapshotBody = Omit<TSnapshot, 'seq'>;

/** Where the leader was when this agent saw it (epoch ms, WAL bytes), oldest first. */
export interface LeaderPosition {
  at: number;
  lsn: number;
}

/** How many leader positions lag-in-seconds estimates look back over (one per loop: about 20 minutes at loop_wait 10). */
export const LEADER_POSITIONS_KEPT = 120;

/** Everything a snapshot is made of, read from the runtime at the end of a loop iteration. */
export interface SnapshotInput {
  now: number;
  me: string;
  /** nodeStatus(rt, rt.lastProbe): the same view GET /patroni serves. */
  status: TNodeStatus;
  obs: Observation;
  decision: Decision | null;
  /** The last successful DCS read (stale when obs.dcs.ok is false). */
  cluster: ClusterSnapshot | null;
  settings: Pick<HaSettings, 'maximumLagOnFailover' | 'checkTimeline' | 'pause'> & Partial<HaSettings>;
  /** The fencing process's state after this tick (null: none). */
  fence?: { armed: boolean; leaseKnown: boolean } | null;
  leaderPositions: readonly LeaderPosition[];
  /** Short descriptions of the decision's actions (the loop's describe()). */
  actions: readonly string[];
  /** pg_stat_archiver from the last probe (null: not running). */
  archiver?: ArchiverStatus | null;
  /** The backup tool's last answer (backup-status/poller.ts); null: this member does not check. */
  backup?: TBackupStatus | null;
  /** postgresql.connect_address as "host:port" (absent: not reported). */
  connectAddress?: string | null;
  /** standby_cluster's host:port, reported while this member is the standby leader (absent: none). */
  standbySource?: string | null;
}

/** The probe's pg_stat_archiver as the protocol carries it; null when not running or not parseable. */
export function archiveStatus(a: ArchiverStatus | null | undefined): TArchiveStatus | null {
  if (!a) return null;
  const parsed = ZArchiveStatus.safeParse(a);
  return parsed.success ? parsed.data : null;
}

/** The member's own WAL position: Patroni's xlog location (primary: written; replica: max(received, replayed)). */
export function ownLsn(status: TNodeStatus): number | null {
  const x = status.xlog;
  if (!x) return null;
  if (x.location !== undefined) return x.location;
  const r = Math.max(x.received_location ?? 0, x.replayed_location ?? 0);
  return r > 0 ? r : null;
}

/**
 * The leader's WAL position as far as this agent knows: its own when it runs as primary, else the
 * newest of /status.optime and the leader's members/<name>.xlog_location.
 */
export function leaderLsn(input: Pick<SnapshotInput, 'status' | 'cluster'>): number | null {
  const { status, cluster } = input;
  if (status.state === 'running' && status.role === 'primary') return ownLsn(status);
  if (!cluster) return null;
  const leaderName = cluster.leader?.name ?? null;
  const fromMember = leaderName === null ? undefined : cluster.members.find((m) => m.name === leaderName)?.value.xlog_location;
  const known = [cluster.status?.optime, fromMember].filter((n): n is number => typeof n === 'number' && n > 0);
  return known.length ? Math.max(...known) : null;
}

/** Append a leader position when it moved forward; keep the newest LEADER_POSITIONS_KEPT. */
export function recordLeaderPosition(history: readonly LeaderPosition[], at: number, lsn: number | null): LeaderPosition[] {
  const last = history[history.length - 1];
  if (lsn === null || (last && lsn <= last.lsn)) return history.slice();
  return [...history, { at, lsn }].slice(-LEADER_POSITIONS_KEPT);
}

/**
 * Seconds since the leader was past `lsn`: now minus when this agent first saw a leader position
 * beyond it. An estimate, accurate to about loop_wait (the leader publishes its position once a loop);
 * a lower bound when even the oldest remembered position is beyond `lsn`. null: no such position.
 */
export function secondsBehind(history: readonly LeaderPosition[], lsn: number, now: number): number | null {
  const passed = history.find((p) => p.lsn > lsn);
  return passed ? Math.max(0, (now - passed.at) / 1000) : null;
}

export function lagOf(input: Pick<SnapshotInput, 'status' | 'cluster' | 'leaderPositions' | 'now'>): TLag {
  const { status } = input;
  const unknown: TLag = { leaderLsn: null, receiveBytes: null, replayBytes: null, receiveSeconds: null, replaySeconds: null };
  const leader = leaderLsn(input);
  if (status.state !== 'running') return { ...unknown, leaderLsn: leader };
  if (status.role === 'primary') return { leaderLsn: leader, receiveBytes: 0, replayBytes: 0, receiveSeconds: 0, replaySeconds: 0 };
  const x = status.xlog ?? {};
  if (leader === null) return unknown;
  const behind = (lsn: number | undefined): { bytes: number | null; seconds: number | null } => {
    if (lsn === undefined) return { bytes: null, seconds: null };
    const bytes = Math.max(0, leader - lsn);
    return { bytes, seconds: bytes === 0 ? 0 : secondsBehind(input.leaderPositions, lsn, input.now) };
  };
  const receive = behind(x.received_location);
  const replay = behind(x.replayed_location);
  return { leaderLsn: leader, receiveBytes: receive.bytes, replayBytes: replay.bytes, receiveSeconds: receive.seconds, replaySeconds: replay.seconds };
}

/** Could this member take over now? ha-core's ranking of this member alone, plus what only the agent knows. */
export function failoverReadiness(input: Pick<SnapshotInput, 'me' | 'status' | 'obs' | 'settings'>): TFailoverReadiness {
  const { me, status, obs, settings } = input;
  if (!obs.dcs.ok) return { eligible: false, reasons: [`DCS unreachable: ${obs.dcs.error}`] };
  const [mine] = rankCandidates({
    candidates: [
      {
        name: me,
        reachable: true,
        role: status.role,
        state: status.state,
        lsn: ownLsn(status),
        timeline: status.timeline ?? null,
        tags: status.tags ?? {},
      },
    ],
    cluster: obs.dcs.cluster,
    settings: { maximumLagOnFailover: settings.maximumLagOnFailover, checkTimeline: settings.checkTimeline },
  });
  const reasons = [...(mine?.reasons ?? ['not ranked'])];
  if (settings.pause) reasons.push('cluster is paused: no automatic failover');
  return { eligible: reasons.length === 0, reasons };
}

/**
 * The settings and DCS facts the control plane ranks all members with (the same rankCandidates
 * inputs the agents use), or undefined when the settings are incomplete (a test's partial settings).
 */
export function haContext(input: Pick<SnapshotInput, 'obs' | 'settings' | 'fence'>): THaContext | undefined {
  const { settings: s, obs } = input;
  if (s.ttl === undefined || s.loopWait === undefined || s.retryTimeout === undefined) return undefined;
  const cluster = obs.dcs.ok ? obs.dcs.cluster : null;
  return {
    ttl: s.ttl,
    loopWait: s.loopWait,
    retryTimeout: s.retryTimeout,
    maximumLagOnFailover: s.maximumLagOnFailover,
    checkTimeline: s.checkTimeline,
    synchronousMode: s.synchronousMode ?? false,
    optime: cluster?.optime ?? null,
    clusterTimeline: cluster ? clusterTimeline(cluster.history) : null,
    sync: cluster?.sync
      ? {
          leader: cluster.sync.leader,
          syncStandby: [...cluster.sync.syncStandby],
          ...(s.quorumCommit === true && cluster.sync.quorum !== undefined ? { quorum: cluster.sync.quorum } : {}),
        }
      : null,
    fence: input.fence ?? null,
  };
}

export function membersSummary(cluster: ClusterSnapshot | null): TClusterMemberSummary[] {
  if (!cluster) return [];
  return cluster.members.map((m) => ({
    name: m.name,
    role: normaliseRole(m.value.role),
    state: m.value.state,
    timeline: m.value.timeline ?? null,
    lsn: m.value.xlog_location ?? null,
    tags: m.value.tags ?? {},
    pendingRestart: m.value.pending_restart === true,
  }));
}

/** The snapshot of one loop iteration. Pure: everything comes in through `input`. */
export function buildSnapshot(input: SnapshotInput): TSnapshotBody {
  const { status, obs, decision, cluster } = input;
  const running = status.state === 'running';
  const x = status.xlog;
  const primary = running && status.role === 'primary';
  const ha = haContext(input);
  return {
    type: 'snapshot',
    at: new Date(input.now).toISOString(),
    role: status.role,
    state: status.state,
    pgRunning: running,
    timeline: status.timeline ?? null,
    lsn: running ? ownLsn(status) : null,
    receiveLsn: running && !primary ? (x?.received_location ?? null) : null,
    replayLsn: running && !primary ? (x?.replayed_location ?? null) : null,
    lag: lagOf(input),
    pendingRestart: status.pending_restart === true,
    pendingRestartReasons: status.pending_restart_reason ?? {},
    tags: status.tags ?? {},
    dcsLastSeen: status.dcs_last_seen ?? null,
    dcsOk: obs.dcs.ok,
    failoverReadiness: failoverReadiness(input),
    leader: cluster?.leader?.name ?? null,
    members: membersSummary(cluster),
    lastDecision: decision ? { verdict: decision.verdict, reason: decision.reason, actions: [...input.actions] } : null,
    paused: input.settings.pause,
    archive: running ? archiveStatus(input.archiver) : null,
    backup: input.backup ?? null,
    ...(input.connectAddress === undefined ? {} : { connectAddress: input.connectAddress }),
    follows: status.role === 'standby_leader' ? (input.standbySource ?? null) : null,
    ...(ha === undefined ? {} : { ha }),
  };
}
