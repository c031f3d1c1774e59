import type { THistory, TFailoverValue, TTags } from '@keel/protocol';
import type { IgnoreMatcher, SlotSpec } from './permanent-slots.ts';

/**
 * The contract between the agent and the pure decision function.
 *
 * The agent observes once per tick (DCS snapshot + PostgreSQL probe + peers + its own memory),
 * freezes the observation, calls decide(), then executes the returned actions in order, stopping
 * at the first that fails. decide() has no clock, no I/O and no randomness: `now` is an input.
 */

/** Settings decide() needs, already merged (DCS /config over defaults; see apps/agent/src/config.ts). */
export interface HaSettings {
  ttl: number; // seconds
  loopWait: number; // seconds
  retryTimeout: number; // seconds
  maximumLagOnFailover: number; // bytes
  primaryStartTimeout: number; // seconds
  useSlots: boolean;
  useRewind: boolean;
  checkTimeline: boolean;
  pause: boolean;
  /** synchronous_mode: on (priority mode) or quorum (then quorumCommit is true too). */
  synchronousMode: boolean;
  /** synchronous_mode: quorum (Patroni 4's quorum commit: ANY k (...) and /sync's quorum field). */
  quorumCommit: boolean;
  /**
   * maximum_lag_on_syncnode (bytes; <= 0: off, Patroni's -1): a synchronous standby lagging more than this
   * behind the most advanced replica (the primary when only one replica streams) is no longer picked.
   */
  maximumLagOnSyncnode: number;
  /** synchronous_mode_strict: never fall back to asynchronous replication. */
  synchronousModeStrict: boolean;
  /** synchronous_node_count (>= 1). */
  synchronousNodeCount: number;
  /**
   * failsafe_mode: a primary that cannot reach the DCS keeps running while every member listed in
   * /failsafe accepts its POST /failsafe (failsafe.ts).
   */
  failsafeMode: boolean;
  /** `slots:` (permanent replication slots), normalised; absent: none. */
  permanentSlots?: Readonly<Record<string, SlotSpec>>;
  /** `ignore_slots`: slots Keel never drops; absent: none. */
  ignoreSlots?: readonly IgnoreMatcher[];
  /**
   * standby_cluster: this cluster is a standby cluster. Its leader is a standby leader that replicates
   * from the other site and never promotes; the other members follow the standby leader. Absent or
   * null: a normal cluster.
   */
  standbyCluster?: StandbyClusterView | null;
}

/** Where a standby cluster's standby leader replicates from (standby_cluster, checked by the agent). */
export interface StandbyClusterView {
  /** The other site's PostgreSQL to stream from; null: restore from the archive only. */
  host: string | null;
  port: number;
  /** A restore_command is set: WAL can come from the archive. */
  restoreCommand: boolean;
}

/** A member as the DCS shows it (members/<name> plus its name). */
export interface ClusterMember {
  name: string;
  role: string; // 'primary' | 'replica' | 'master' | ... as written by that member
  state: string;
  connUrl: string;
  apiUrl: string;
  tags: TTags;
  xlogLocation: number | null;
  timeline: number | null;
}

/** The DCS snapshot of one tick (one range read, so it is consistent). */
export interface ClusterView {
  /** null: no /initialize key. "": a member won the race and is bootstrapping. else: the system identifier. */
  initialize: string | null;
  leader: string | null;
  members: readonly ClusterMember[];
  /** /status.optime: the leader's last published WAL position. */
  optime: number | null;
  history: THistory;
  failover: TFailoverValue | null;
  /**
   * The `failover` key's mod revision (null: no key, or unknown). It identifies one request: a
   * refusal deletes the key only if it is still this revision, and its outcome is published under it.
   */
  failoverRevision?: number | null;
  hasConfig: boolean;
  /**
   * The /sync key (synchronous_mode): the last leader and the members that were synchronous standbys
   * while it led. null: no key (or an unreadable one).
   */
  sync: SyncView | null;
  /**
   * /failsafe (failsafe_mode): member name -> api_url, written by the leader. null or absent: no key
   * (or an unreadable one).
   */
  failsafe?: Readonly<Record<string, string>> | null;
  /** /leader's mod revision and the lease it is on (absent: unknown): the early takeover compares them. */
  leaderRevision?: number | null;
  leaderLease?: string | null;
  /** /sync's mod revision (absent: unknown). */
  syncRevision?: number | null;
}

export interface SyncView {
  leader: string | null;
  syncStandby: readonly string[];
  /** Quorum mode: how many other voters (listed standbys and the leader) a candidate must see (absent: 0). */
  quorum?: number;
}

/** One pg_stat_replication row, as the primary sees the replicas that stream from it. */
export interface ReplicationView {
  /** application_name: the member name. */
  name: string;
  /** 'streaming', 'catchup', ... */
  state: string | null;
  /** 'sync', 'async', 'potential', 'quorum' */
  syncState: string | null;
  flushLsn: number | null;
  /** write_lsn and replay_lsn (absent: unknown); maximum_lag_on_syncnode measures the column synchronous_commit waits for. */
  writeLsn?: number | null;
  replayLsn?: number | null;
}

export type DataDirState = 'empty' | 'initialized';

/** pg_controldata's "Database cluster state" when PostgreSQL is not running. */
export type ControlState =
  | 'starting up'
  | 'shut down'
  | 'shut down in recovery'
  | 'shutting down'
  | 'in crash recovery'
  | 'in archive recovery'
  | 'in production';

export interface PgView {
  dataDir: DataDirState;
  sysid: string | null;
  running: boolean;
  /** null when not running. */
  role: 'primary' | 'replica' | null;
  controlState: ControlState | null;
  timeline: number | null;
  /** Primary: current WAL write position. Replica: max(received, replayed). */
  lsn: number | null;
  /** Replica: the WAL receiver is streaming. */
  streaming: boolean;
  /** Physical replication slots on this instance (used on the primary). */
  slots: readonly string[];
  /**
   * pg_controldata's "Latest checkpoint location" when PostgreSQL is not running (null when it runs).
   * After a clean primary shutdown ('shut down') it is the start of the shutdown checkpoint record, the
   * last record this data directory wrote: a leader whose timeline forked after it has all of our WAL.
   */
  checkpointLsn: number | null;
  /** Primary: pg_stat_replication (empty elsewhere). */
  replication: readonly ReplicationView[];
  /** current_setting('synchronous_standby_names') while running, else null. */
  syncStandbyNames: string | null;
  /** current_setting('synchronous_commit') while running (absent or null: unknown, taken as 'on'). */
  synchronousCommit?: string | null;
}

/**
 * A peer's answer to GET /patroni (every member but me). The agent gathers peers when the cluster has
 * no leader (the race needs them) OR when a `failover` key exists (the leader ranks the switchover
 * candidates with them; a stopped former leader checks that somebody can take over), whether or not
 * PostgreSQL runs here. Otherwise `Observation.peers` is null.
 */
export interface PeerView {
  name: string;
  reachable: boolean;
  role: string | null;
  state: string | null;
  lsn: number | null;
  timeline: number | null;
  tags: TTags;
  /**
   * A replica's WAL receiver streams (Patroni's `replication_state: streaming`); absent or null:
   * unknown (an older member, or not a replica).
   */
  streaming?: boolean | null;
}

/** The leader's lease as the DCS shows it: its heartbeat (see takeover.ts). */
export type LeaseView = { state: 'alive'; ttl: number; grantedTtl: number } | { state: 'gone' } | { state: 'unknown' };

/**
 * Synchronous mode's early takeover: what a synchronous standby gathered about the leader, only when
 * its heartbeat looked stopped (see takeover.ts). Absent or null otherwise.
 */
export interface TakeoverProbe {
  /** The leader it is about, and the lease its key was on. */
  leader: string;
  lease: string;
  /** The lease's remaining TTL, read fresh for this observation. */
  leaseTtl: LeaseView;
  /** A TCP connection to the leader's PostgreSQL (its conn_url) was refused or timed out. */
  pgUnreachable: boolean;
}

export type LongActionKind = 'bootstrap' | 'clone' | 'reinitialize' | 'rewind' | 'startPrimary' | 'startReplica' | 'restart';

/** The agent's own memory carried between ticks (the observer copies it into the observation). */
export interface AgentMemory {
  inFlight: { kind: LongActionKind; since: number } | null;
  /**
   * The last long action that failed, until a later one succeeds. `attempts`: how many times in a row
   * this kind has failed (absent: 1); the clone backoff grows with it.
   */
  lastFailure: { kind: LongActionKind; at: number; message: string; attempts?: number } | null;
  /** When this member, holding the lock, first saw its PostgreSQL down. */
  pgDownSince: number | null;
  /** The member our replica configuration points at (null: none, or unknown after a restart). */
  following: string | null;
  /** This data directory has run as a primary since it last followed a leader: it may have diverged. */
  formerPrimary: boolean;
  /**
   * The `failover` request this agent is looking at: its mod revision and when this agent first saw it
   * (observation.now of that tick). The leader's "candidate is streaming" wait counts from here.
   */
  requestSeen?: { revision: number; at: number } | null;
}

export interface Observation {
  now: number; // ms since epoch
  /**
   * `watchdogProblem`: watchdog.mode is `required` and the watchdog device cannot be used (why, in a
   * few words); absent or null otherwise. Such a member never takes the leader lock (Patroni).
   */
  me: {
    name: string;
    tags: TTags;
    watchdogProblem?: string | null;
    apiUrl?: string;
    /**
     * A replica creation method marked no_leader is configured (Patroni): with no member to clone
     * from, an empty member may still create its data directory (from a backup).
     */
    cloneWithoutLeader?: boolean;
  };
  settings: HaSettings;
  dcs: { ok: true; cluster: ClusterView } | { ok: false; error: string };
  pg: PgView;
  /** null when not gathered (see PeerView: the cluster has a leader and no failover key, or the DCS is unreachable). */
  peers: readonly PeerView[] | null;
  memory: AgentMemory;
  /**
   * failsafe_mode, the DCS unreachable and PostgreSQL running as primary: how the members listed in the
   * last /failsafe read answered this tick's POST /failsafe. Absent or null: not asked.
   */
  failsafe?: FailsafeCheck | null;
  /**
   * failsafe_mode: the primary whose POST /failsafe this member accepted less than ttl ago (it knows that
   * primary is alive, so it does not race). Absent or null: none.
   */
  failsafeLeader?: string | null;
  /** Synchronous mode: the leader's heartbeat looked stopped to me, a synchronous standby (else absent). */
  takeover?: TakeoverProbe | null;
}

/** The answers to one round of POST /failsafe (apps/agent/src/failsafe.ts). */
export interface FailsafeCheck {
  /** When the round started (ms since epoch): each acceptance came later, so a hold counts from here. */
  startedAt: number;
  /** Why the members could not be asked (no /failsafe read, I am not listed in it); null: they were. */
  problem: string | null;
  accepted: readonly string[];
  /** The members that did not accept, each with why (unreachable, "Running as a leader", ...). */
  refused: readonly { name: string; reason: string }[];
}

export type DemoteMode =
  /**
   * Switchover: CHECKPOINT, fast stop, read the shutdown checkpoint location (pg_controldata), write it
   * to /status.optime, then release the lock. The candidate promotes only once it is past that LSN.
   */
  | 'graceful'
  /** Immediate stop, release the lock (primary cannot start / should hand over now). */
  | 'immediate'
  /** Immediate stop, do not touch the DCS (lost the lock, or another member holds it). */
  | 'immediate-nolock'
  /**
   * The DCS is unreachable: stop (fast, bounded by what is left of the lease, then immediate) and
   * start again as a read-only standby with no upstream (Patroni's demote('offline')): reads go on,
   * writes stop; the lock is not touched (it cannot be).
   */
  | 'offline'
  /**
   * standby_cluster was set on a running primary (keelctl demote-cluster): fast stop, keeping the lock;
   * the next loop starts PostgreSQL again as the standby leader following the other site.
   */
  | 'standby';

/** Everything decide() can ask for. Each has exactly one executor in apps/agent/src/executors. */
export type Action =
  | { type: 'claimInitialize'; value: string }
  | { type: 'bootstrap' }
  /** from null: no member to clone from; only no_leader replica creation methods run. */
  | { type: 'clone'; from: string | null }
  | { type: 'reinitialize'; from: string }
  | { type: 'rewind'; from: string }
  | { type: 'acquireLock' }
  /**
   * Synchronous mode's early takeover (Dcs.takeOverLeader): one transaction that puts me in /leader
   * only if it still names `oldLeader` at `leaderRevision` and /sync is still at `syncRevision`.
   */
  | { type: 'takeOverLock'; oldLeader: string; leaderRevision: number; syncRevision: number }
  | { type: 'renewLock' }
  | { type: 'releaseLock' }
  | { type: 'promote' }
  | { type: 'demote'; mode: Exclude<DemoteMode, 'graceful'> }
  /** `candidate`: the member expected to take over (for the log and the API), null: the healthiest. */
  | { type: 'demote'; mode: 'graceful'; candidate: string | null }
  | { type: 'startPrimary' }
  | { type: 'startReplica'; leader: string | null }
  | { type: 'follow'; leader: string }
  | { type: 'syncSlots'; create: readonly string[]; drop: readonly string[] }
  | { type: 'seedConfig' }
  /**
   * Delete the `failover` key (a request that was carried out, or cannot be), only if its mod revision
   * is still `revision` (compare-and-set; null: whatever is there). `outcome`: the refusal the leader
   * publishes under that revision (null: nothing to report, e.g. the candidate clearing a done request).
   */
  | { type: 'clearFailover'; revision: number | null; outcome: string | null }
  /**
   * synchronous_mode: make synchronous_standby_names and /sync name `names` (the leader's pick, may be
   * empty), in Patroni's order: drop members from /sync first, then set synchronous_standby_names to
   * `standbyNames`, wait until PostgreSQL reports them 'sync', then add them to /sync. `standbyNames`
   * null: synchronous_mode is off, stop managing synchronous_standby_names and empty /sync.
   */
  | { type: 'syncStandbys'; names: readonly string[]; standbyNames: string | null }
  /**
   * synchronous_mode: quorum: walk synchronous_standby_names (ANY k (...)) and /sync (voters, quorum)
   * to `active` with replication factor `wanted`, one safe step at a time (quorum.ts nextQuorumStep).
   */
  | { type: 'quorumSync'; active: readonly string[]; wanted: number; strict: boolean }
  /** failsafe_mode: write /failsafe = `value` (member name -> api_url); null deletes it (failsafe_mode off). */
  | { type: 'setFailsafe'; value: Readonly<Record<string, string>> | null }
  /**
   * failsafe_mode, DCS unreachable: every member in /failsafe accepted my POST /failsafe, a round that
   * started at `since`: keep running as primary; the fencing deadlines count from `since` like a renewal.
   */
  | { type: 'holdFailsafe'; since: number }
  | { type: 'fatal'; message: string };

export type ActionType = Action['type'];

/** A closed set, for metrics and tests. The sentence in `reason` says the rest. */
export const VERDICTS = [
  'dcs_unreachable',
  'dcs_unreachable_demote',
  'failsafe_active',
  'action_in_progress',
  'bootstrap_race',
  'waiting_for_bootstrap',
  'adopt_existing_data',
  'sysid_mismatch',
  'clone',
  'waiting_for_leader',
  'release_lock_empty_data_dir',
  'clone_backoff',
  'start_primary_after_crash',
  'release_lock_start_timeout',
  'start_replica',
  'rewind',
  'reinitialize',
  'leader_ok',
  'leader_promote',
  'lost_lock_demote',
  'follow_leader',
  'replica_ok',
  'paused',
  'not_allowed_to_promote',
  'watchdog_unusable',
  'not_healthiest',
  'race_for_lock',
  'sync_takeover',
  'switchover_scheduled',
  'switchover_demote',
  'waiting_for_candidate',
  'failover_invalid',
  'waiting_for_shutdown_checkpoint',
  'failover_promote',
  'failover_abandoned',
  'waiting_for_switchover',
  'follow_after_clean_switchover',
  'standby_leader_ok',
  'standby_leader_follow',
  'demote_to_standby_leader',
] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface Decision {
  verdict: Verdict;
  /** One human sentence; logged once per tick and asserted by tests. */
  reason: string;
  actions: readonly Action[];
  /**
   * Set when decide() waits for something that arrives in milliseconds (a shutdown checkpoint, the new
   * leader's history, a scheduled time): the loop sleeps min(loop_wait, retryInMs) instead of loop_wait.
   */
  retryInMs?: number;
}
