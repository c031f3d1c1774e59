import type {
  DcsKeys,
  TDynamicConfig,
  TFailoverValue,
  THistory,
  TMemberValue,
  TStatus,
  TSyncValue,
} from '@keel/protocol';

/** A value together with the key's mod_revision, for compare-and-set writes. */
export interface Versioned<T> {
  value: T;
  modRevision: number;
}

export interface LeaderRecord {
  /** The bare member name stored in /leader. */
  name: string;
  /** The etcd lease the key is attached to (decimal string; "0" when none). */
  lease: string;
  modRevision: number;
}

export interface MemberRecord {
  name: string;
  value: TMemberValue;
  /** The etcd lease the key is attached to (decimal string; "0" when none). */
  lease: string;
  modRevision: number;
}

/**
 * Everything under /<namespace>/<scope>/, read with ONE range request, so every field comes from
 * the same revision of the store (a consistent snapshot).
 *
 * A value that cannot be parsed never fails the read: the member is left out, or the field is null,
 * and `warnings` says which key and why.
 */
export interface ClusterSnapshot {
  /** The store revision the snapshot was read at. */
  revision: number;
  /** /initialize: null = absent; "" = a member won the bootstrap race; else the system identifier. */
  initialize: string | null;
  config: Versioned<TDynamicConfig> | null;
  leader: LeaderRecord | null;
  /** Sorted by name. */
  members: MemberRecord[];
  history: THistory | null;
  /** /status, or the legacy /optime/leader as { optime } when /status is absent. */
  status: TStatus | null;
  failover: Versioned<TFailoverValue> | null;
  sync: Versioned<TSyncValue> | null;
  /** /failsafe: { member name: api_url }. */
  failsafe: Record<string, string> | null;
  /** One line per value that could not be parsed, e.g. `members/node2: invalid JSON (…)`. */
  warnings: string[];
  /**
   * Keys that exist but could not be parsed (treated as absent above), with their mod revision, so a
   * compare-and-set writer can replace the bad value instead of failing "only if absent" forever.
   */
  unreadable?: Partial<Record<'config' | 'failover' | 'sync', number>>;
}

/**
 * What the DCS says about another client's lease (the leader's heartbeat, see leaseTimeToLive):
 * alive with its remaining and granted TTL in whole seconds; gone (expired or revoked); or unknown
 * when this DCS cannot show another client's lease (e.g. ZooKeeper sessions): then nobody may take
 * over before the key disappears.
 */
export type LeaseTtl = { state: 'alive'; ttl: number; grantedTtl: number } | { state: 'gone' } | { state: 'unknown' };

/**
 * The early takeover of synchronous mode (see takeOverLeader): everything the taker read in ONE
 * snapshot and must still hold when it writes.
 */
export interface TakeoverRequest {
  /** My member name: the new value of /leader, put on my lease. */
  name: string;
  /** The leader I take over from, as /leader named it ... */
  oldLeader: string;
  /** ... at this mod revision of /leader. */
  leaderModRevision: number;
  /** The mod revision of /sync I read; /sync must still be exactly that value, and list `name`. */
  syncModRevision: number;
}

export interface LeaderEvent {
  type: 'put' | 'delete';
  /** The new value for a put; null for a delete (explicit, or the lease expired). */
  value: string | null;
}

export type WatchStatus = 'connected' | 'disconnected';

export interface WatchOptions {
  /** Called when the watch stream is (re)established or lost. Never throws into the watch. */
  onStatus?: (status: WatchStatus, error?: Error) => void;
}

export type DcsErrorCode =
  /** The call did not complete within the call deadline (network partition, etcd hung). */
  | 'timeout'
  /** No connection could be made (refused, reset, no hosts). */
  | 'unreachable'
  /** The operation needs a lease and there is none, or etcd says it expired. Call ensureLease(). */
  | 'lease'
  /** close() was called. */
  | 'closed'
  /** Anything else etcd rejected (permission denied, bad request …). */
  | 'error';

/** The only error type a Dcs rejects with. The message names the operation and the reason. */
export class DcsError extends Error {
  override readonly name = 'DcsError';
  constructor(
    readonly code: DcsErrorCode,
    /** The Dcs method that failed, e.g. "renewLeader". */
    readonly op: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The agent's only way to touch the DCS. Keys and values follow Patroni's etcd v3 layout exactly
 * (see @keel/protocol dcsKeys()): leader holds the bare member name, initialize the bare system
 * identifier, every other value is compact JSON (JSON.stringify).
 *
 * Deadlines: EVERY method rejects with a DcsError within the call timeout (constructor option
 * `callTimeoutMs`, changed with setCallTimeout()), whatever the network does. A method that does
 * several round trips shares one deadline across them. Nothing is retried beyond the deadline.
 *
 * Leases: one lease per Dcs instance (per agent). Nothing renews it in the background: the agent's
 * loop calls keepAlive() or renewLeader() once per tick, so a hung loop lets the lease, and with it
 * the leader key and the member key, expire. That is the fencing guarantee.
 */
export interface Dcs {
  readonly keys: DcsKeys;

  /** The current lease id (decimal string), or null before ensureLease() / after it was lost. */
  readonly leaseId: string | null;

  /** ONE range read of the scope prefix: an atomic snapshot of the whole cluster. */
  readCluster(): Promise<ClusterSnapshot>;

  /**
   * Returns the id of this agent's lease, granting a new one (TTL = ttlSec) when there is none,
   * when it was lost, or when ttlSec differs from the current lease's TTL. The old lease is not
   * revoked (its keys stay until re-written on the new lease or until it expires).
   */
  ensureLease(ttlSec: number): Promise<string>;

  /**
   * Sends ONE keepalive for the current lease. Resolves true when etcd extended it to its full TTL,
   * false when there is no lease or etcd says it has expired or been revoked (then the caller calls
   * ensureLease() and re-writes its keys). Rejects (DcsError) when etcd cannot be reached in time:
   * then the lease's fate is unknown.
   */
  keepAlive(): Promise<boolean>;

  /**
   * Atomically: if /leader does not exist (create_revision == 0), put leader=name on my lease.
   * True when I now hold it (also when the key already holds my name on my current lease, so a
   * retried call is idempotent); false when someone else holds it. Needs a lease.
   */
  acquireLeader(name: string): Promise<boolean>;

  /**
   * Keeps my leadership: one lease keepalive, then a check that /leader holds `name` on my lease
   * (if it holds `name` on another lease, e.g. after ensureLease() granted a new one, a txn that
   * compares mod_revision moves it onto my lease). False when the lease expired, the key is absent
   * or it holds another name. True means the key was mine and my lease was extended by this call.
   *
   * `seen`: /leader as this tick's cluster read showed it, for a caller that knows no other member
   * can take the key over meanwhile (no /sync naming a standby: takeOverLeader needs one). When it
   * holds `name` on my current lease, a successful keepalive alone renews (etcd and memory; the key is
   * not read again, as Patroni's update_leader does): while that lease lives only its holder or an
   * operator by hand can change the key, and either could do so just after a read as well, so the
   * read proves nothing the snapshot did not (ARCHITECTURE.md, "Renewing the leader key"). ZooKeeper
   * ignores it: its read of the key is also its keepalive.
   */
  renewLeader(name: string, seen?: LeaderRecord): Promise<boolean>;

  /** Atomically: if /leader == name, delete it. True when deleted. */
  releaseLeader(name: string): Promise<boolean>;

  /** Put members/<name> = JSON on my lease (so it vanishes if I stop renewing). Needs a lease. */
  touchMember(name: string, value: TMemberValue): Promise<void>;
  deleteMember(name: string): Promise<void>;

  /** Create /initialize = value only if it does not exist (no lease). True when I created it. */
  claimInitialize(value: string): Promise<boolean>;
  /** Unconditional put of /initialize (after a successful bootstrap: the system identifier). */
  setInitialize(value: string): Promise<void>;
  deleteInitialize(): Promise<void>;

  /**
   * Put /config. expectedModRevision undefined: unconditional. 0: only if absent. N: only if the
   * key's mod_revision is still N (compare-and-set). False on a CAS conflict.
   */
  setConfig(value: TDynamicConfig, expectedModRevision?: number): Promise<boolean>;
  setHistory(history: THistory): Promise<void>;
  setStatus(status: TStatus): Promise<void>;
  /**
   * Same CAS rules as setConfig, but answers the key's new mod revision (null on a CAS conflict): it
   * identifies the request (the leader publishes a refusal under it).
   */
  setFailover(value: TFailoverValue, expectedModRevision?: number): Promise<number | null>;
  /** Delete /failover (only if mod_revision == expectedModRevision, when given). True when a key was deleted. */
  deleteFailover(expectedModRevision?: number): Promise<boolean>;
  /**
   * failsafe_mode: put /failsafe = { member name: api_url } (compact JSON), or delete it (null).
   * Unconditional, as in Patroni: only the leader writes it, right after renewing its lock.
   */
  setFailsafe(value: Readonly<Record<string, string>> | null): Promise<void>;
  /**
   * Same CAS rules as setConfig. With `whileLeader`, also only while /leader holds that name (in the
   * same transaction): the leader's /sync writes must fail once another member took the key over.
   */
  setSync(value: TSyncValue, expectedModRevision?: number, whileLeader?: string): Promise<boolean>;

  /**
   * The remaining TTL of any lease (etcd LeaseTimeToLive; read-only, no lease of mine needed). The
   * leader keeps its lease near its full TTL with a keepalive every second in synchronous mode, so
   * a remaining TTL well below the granted one means its heartbeat stopped.
   */
  leaseTimeToLive(lease: string): Promise<LeaseTtl>;

  /**
   * Synchronous mode's early takeover, ONE transaction: if /leader still names `oldLeader` at
   * `leaderModRevision`, and /sync still has `syncModRevision` and its value lists `name` as a
   * synchronous standby, put /leader = name on my lease. True when I now hold it; false (nothing
   * written) when anything differs. Needs a lease. The decision to call it is ha-core's.
   */
  takeOverLeader(req: TakeoverRequest): Promise<boolean>;

  /**
   * Watches /leader and calls onEvent for every change: puts, deletes and lease-expiry deletes.
   * Resolves once the watch is established (rejects with a DcsError if that takes longer than the
   * call timeout). Afterwards it survives etcd outages on its own: it reconnects and replays what
   * it missed; nothing is thrown into the caller. Resolves to a function that cancels the watch.
   */
  watchLeader(onEvent: (event: LeaderEvent) => void, options?: WatchOptions): Promise<() => Promise<void>>;

  /** The same for the `failover` key: a switchover request wakes the leader's loop at once. */
  watchFailover(onEvent: (event: LeaderEvent) => void, options?: WatchOptions): Promise<() => Promise<void>>;

  /**
   * Calls onJoin with a member's name when its key is created: the member registers, or registers
   * again after its key expired. Not for a registered member's updates, nor for removals. The leader's
   * loop wakes on it and creates the member's replication slot at once; otherwise a rejoining standby
   * waits for the leader's next tick. Same lifetime as watchLeader. A join during a DCS outage may go
   * unreported; the loop reads the members every tick anyway.
   */
  watchMembers(onJoin: (member: string) => void, options?: WatchOptions): Promise<() => Promise<void>>;

  /** Changes the per-call deadline for calls started from now on. */
  setCallTimeout(ms: number): void;
  /**
   * How long a watch may hear nothing from its server before it checks that the connection is alive.
   * etcd: one count-only range request to the host, unless some other request reached it meanwhile;
   * the agent sets loop_wait + 2 s, so that its own requests every loop_wait keep an idle agent from
   * sending any (a request that fails to reach the host has the watch check at once). ZooKeeper and
   * memory: nothing to change (ZooKeeper's session pings its server itself).
   */
  setWatchKeepaliveTime(ms: number): void;
  readonly callTimeoutMs: number;

  /** Cancels watches and closes connections. The lease is not revoked. Later calls reject ('closed'). */
  close(): Promise<void>;
}
