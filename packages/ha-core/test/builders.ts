import type { TFailoverValue, THistory, TTags } from '@keel/protocol';
import { resolveSettings } from '../src/settings.ts';
import type {
  AgentMemory,
  ClusterMember,
  ClusterView,
  ControlState,
  HaSettings,
  LongActionKind,
  Observation,
  PeerView,
  PgView,
  TakeoverProbe,
} from '../src/types.ts';

export const SYSID = '7390000000000000001';
export const NOW = 1_700_000_000_000;
/** My WAL position in the default observation (0/5000000). */
export const LSN = 0x5000000;
/** The `failover` key's mod revision in observations built withFailover(). */
export const FAILOVER_REV = 42;

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export function aMember(name: string, overrides: Partial<ClusterMember> = {}): ClusterMember {
  return deepFreeze({
    name,
    role: 'replica',
    state: 'running',
    connUrl: `postgres://${name}:5432/postgres`,
    apiUrl: `http://${name}:8008/patroni`,
    tags: {},
    xlogLocation: LSN,
    timeline: 1,
    ...overrides,
  });
}

/** A peer's /patroni answer; by default a reachable, running replica exactly as far as me. */
export function aPeer(name: string, overrides: Partial<PeerView> = {}): PeerView {
  return deepFreeze({ name, reachable: true, role: 'replica', state: 'running', lsn: LSN, timeline: 1, tags: {}, ...overrides });
}

const EMPTY_MEMORY: AgentMemory = { inFlight: null, lastFailure: null, pgDownSince: null, following: null, formerPrimary: false };

interface Draft {
  now: number;
  me: string;
  tags: TTags;
  /** watchdog.mode required and the device unusable: why (null: fine, or not required). */
  watchdogProblem: string | null;
  /** A no_leader replica creation method is configured. */
  cloneWithoutLeader?: boolean;
  settings: HaSettings;
  dcsError: string | null;
  cluster: ClusterView;
  pg: PgView;
  /** undefined: the default (gathered [] when the cluster has no leader or a failover key, else null). */
  peers: readonly PeerView[] | null | undefined;
  memory: AgentMemory;
  takeover?: TakeoverProbe | null;
}

/**
 * An immutable builder: every method returns a new builder. The default is member (a) in an initialized
 * 3-member cluster (a, b, c) with no leader, running as a streaming replica at LSN on timeline 1.
 */
export class ObservationBuilder {
  constructor(private readonly d: Draft) {}

  private with(patch: Partial<Draft>): ObservationBuilder {
    return new ObservationBuilder({ ...this.d, ...patch });
  }
  private withCluster(patch: Partial<ClusterView>): ObservationBuilder {
    return this.with({ cluster: { ...this.d.cluster, ...patch } });
  }
  private withPgPatch(patch: Partial<PgView>): ObservationBuilder {
    return this.with({ pg: { ...this.d.pg, ...patch } });
  }

  at(now: number) {
    return this.with({ now });
  }
  withTags(tags: TTags) {
    return this.with({ tags });
  }
  /** watchdog.mode is required and the device cannot be used. */
  withoutWatchdog(problem = 'watchdog.mode is required and /dev/watchdog does not exist') {
    return this.with({ watchdogProblem: problem });
  }
  /** postgresql.create_replica_methods has a method marked no_leader. */
  withNoLeaderMethod() {
    return this.with({ cloneWithoutLeader: true });
  }
  withSettings(patch: Partial<HaSettings>) {
    return this.with({ settings: { ...this.d.settings, ...patch } });
  }
  paused() {
    return this.withSettings({ pause: true });
  }
  dcsDown(error = 'connection refused') {
    return this.with({ dcsError: error });
  }

  // The cluster as the DCS shows it.
  uninitialized() {
    return this.withCluster({ initialize: null });
  }
  bootstrapping() {
    return this.withCluster({ initialize: '' });
  }
  initializedWith(sysid: string) {
    return this.withCluster({ initialize: sysid });
  }
  /** `name` holds the lock; its member key says primary (timeline defaults to the member's). */
  withLeader(name: string, timeline?: number) {
    const members = this.d.cluster.members.map((m) =>
      m.name === name ? { ...m, role: 'primary', timeline: timeline ?? m.timeline } : m,
    );
    return this.withCluster({ leader: name, members });
  }
  withoutLeader() {
    return this.withCluster({ leader: null });
  }
  /** Add or replace members/<name>. */
  withMember(name: string, overrides: Partial<ClusterMember> = {}) {
    const others = this.d.cluster.members.filter((m) => m.name !== name);
    return this.withCluster({ members: [...others, aMember(name, overrides)] });
  }
  withMembers(...names: string[]) {
    return this.withCluster({ members: names.map((n) => aMember(n)) });
  }
  withOptime(optime: number | null) {
    return this.withCluster({ optime });
  }
  withHistory(history: THistory) {
    return this.withCluster({ history });
  }
  /** The `failover` key, at mod revision FAILOVER_REV (or `revision`). */
  withFailover(failover: TFailoverValue | null, revision = FAILOVER_REV) {
    return this.withCluster({ failover, failoverRevision: failover === null ? null : revision });
  }
  /** This agent first saw the current `failover` request at `at` (its streaming wait counts from there). */
  requestSeenAt(at: number, revision = FAILOVER_REV) {
    return this.withMemory({ requestSeen: { revision, at } });
  }
  /** pg_stat_replication on my primary: one row per member, in `state` (default streaming). */
  withReplicationStates(...rows: Array<[string, string]>) {
    return this.withPgPatch({ replication: rows.map(([name, state]) => ({ name, state, syncState: 'async', flushLsn: LSN })) });
  }
  /** The /sync key: `leader` and its synchronous standbys (null: no key). */
  withSync(leader: string | null, ...syncStandby: string[]) {
    return this.withCluster({ sync: leader === null && syncStandby.length === 0 ? null : { leader, syncStandby } });
  }
  /** Quorum mode's /sync: its leader, voters and quorum. */
  withQuorumSync(leader: string, voters: string[], quorum: number) {
    return this.withCluster({ sync: { leader, syncStandby: voters, quorum } });
  }
  /** synchronous_mode on (strict when asked). */
  syncMode(opts: { strict?: boolean; count?: number } = {}) {
    return this.withSettings({ synchronousMode: true, synchronousModeStrict: opts.strict ?? false, synchronousNodeCount: opts.count ?? 1 });
  }
  /** pg_stat_replication on my primary: [name, sync_state] pairs, streaming, at LSN. */
  withReplication(...rows: Array<[string, string]>) {
    return this.withPgPatch({ replication: rows.map(([name, syncState]) => ({ name, state: 'streaming', syncState, flushLsn: LSN })) });
  }
  /** /leader's mod revision and lease, /sync's mod revision (the early takeover compares them). */
  withRevisions(r: { leader?: number; lease?: string; sync?: number }) {
    return this.withCluster({ leaderRevision: r.leader ?? 100, leaderLease: r.lease ?? '7587', syncRevision: r.sync ?? 101 });
  }
  /** What a synchronous standby gathered when the leader's heartbeat looked stopped. */
  withTakeover(probe: TakeoverProbe | null) {
    return this.with({ takeover: probe });
  }
  withoutConfig() {
    return this.withCluster({ hasConfig: false });
  }

  // My PostgreSQL.
  asPrimary() {
    return this.withPgPatch({ running: true, role: 'primary', controlState: null, streaming: false, checkpointLsn: null });
  }
  asReplica(opts: { streaming?: boolean } = {}) {
    return this.withPgPatch({ running: true, role: 'replica', controlState: null, streaming: opts.streaming ?? true, checkpointLsn: null });
  }
  /** `checkpointLsn`: pg_controldata's latest checkpoint location (default: unknown). */
  stopped(controlState: ControlState | null = 'shut down in recovery', checkpointLsn: number | null = null) {
    return this.withPgPatch({ running: false, role: null, controlState, streaming: false, checkpointLsn });
  }
  withEmptyDataDir() {
    return this.withPgPatch({
      dataDir: 'empty',
      sysid: null,
      running: false,
      role: null,
      controlState: null,
      timeline: null,
      lsn: null,
      streaming: false,
      slots: [],
      checkpointLsn: null,
      replication: [],
      syncStandbyNames: null,
    });
  }
  withPg(patch: Partial<PgView>) {
    return this.withPgPatch(patch);
  }

  // Peers (GET /patroni answers) and my memory.
  withPeers(...peers: PeerView[]) {
    return this.with({ peers });
  }
  withoutPeers() {
    return this.with({ peers: null });
  }
  withMemory(patch: Partial<AgentMemory>) {
    return this.with({ memory: { ...this.d.memory, ...patch } });
  }
  inFlight(kind: LongActionKind, since = this.d.now - 5_000) {
    return this.withMemory({ inFlight: { kind, since } });
  }
  formerPrimary() {
    return this.withMemory({ formerPrimary: true });
  }
  following(name: string | null) {
    return this.withMemory({ following: name });
  }

  build(): Observation {
    const d = this.d;
    const gathered = (d.cluster.leader === null || d.cluster.failover !== null) && d.dcsError === null;
    const peers = d.peers !== undefined ? d.peers : gathered ? [] : null;
    return deepFreeze({
      now: d.now,
      me: {
        name: d.me,
        tags: d.tags,
        ...(d.watchdogProblem === null ? {} : { watchdogProblem: d.watchdogProblem }),
        ...(d.cloneWithoutLeader ? { cloneWithoutLeader: true } : {}),
      },
      settings: d.settings,
      dcs: d.dcsError === null ? { ok: true as const, cluster: d.cluster } : { ok: false as const, error: d.dcsError },
      pg: d.pg,
      peers,
      memory: d.memory,
      ...(d.takeover !== undefined ? { takeover: d.takeover } : {}),
    });
  }
}

const DEFAULT_DRAFT: Draft = deepFreeze({
  now: NOW,
  me: 'a',
  tags: {},
  watchdogProblem: null,
  settings: resolveSettings(null),
  dcsError: null,
  cluster: {
    initialize: SYSID,
    leader: null,
    members: ['a', 'b', 'c'].map((n) => aMember(n)),
    optime: null,
    history: [],
    failover: null,
    hasConfig: true,
    sync: null,
  },
  pg: {
    dataDir: 'initialized',
    sysid: SYSID,
    running: true,
    role: 'replica',
    controlState: null,
    timeline: 1,
    lsn: LSN,
    streaming: true,
    slots: [],
    checkpointLsn: null,
    replication: [],
    syncStandbyNames: null,
  },
  peers: undefined,
  memory: EMPTY_MEMORY,
});

export function anObservation(me = 'a'): ObservationBuilder {
  return new ObservationBuilder({ ...DEFAULT_DRAFT, me });
}
