import {
  dcsKeys,
  type DcsKeys,
  type TDynamicConfig,
  type TFailoverValue,
  type THistory,
  type TMemberValue,
  type TStatus,
  type TSyncValue,
  syncStandbyList,
  ZSyncValue,
} from '@keel/protocol';
import { parseCluster, type RawKv } from './parse.ts';
import { DcsError, type ClusterSnapshot, type Dcs, type LeaderEvent, type LeaderRecord, type LeaseTtl, type TakeoverRequest, type WatchOptions } from './types.ts';

/** Where MemoryStore reads the time. */
export interface Clock {
  now(): number;
}

/** A clock that only moves when told to. Lease expiry in a MemoryStore on it happens inside advance(). */
export class ManualClock implements Clock {
  private t: number;
  private readonly listeners = new Set<() => void>();

  constructor(startMs = 1_700_000_000_000) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.t += ms;
    for (const l of [...this.listeners]) l();
  }

  /** Called after every advance(); returns an unsubscribe function. */
  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

interface MemKv {
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

interface MemLease {
  ttlMs: number;
  expiresAt: number;
}

export interface StoreEvent {
  type: 'put' | 'delete';
  key: string;
  value: string | null;
  revision: number;
  /** A put that created the key (etcd's version 1). */
  created?: boolean;
}

class LeaseNotFound extends Error {}

/**
 * The shared state of an in-memory "etcd": keys with create/mod revisions and versions, leases
 * that expire on the injected clock (keys on an expired lease are deleted at one revision, as etcd
 * does), and change events. Several MemoryDcs instances (several agents) share one store.
 * For pure unit tests only.
 */
export class MemoryStore {
  readonly clock: Clock;
  private rev = 1;
  private readonly kvs = new Map<string, MemKv>();
  private readonly leases = new Map<string, MemLease>();
  private leaseSeq = 0n;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(opts: { clock?: Clock } = {}) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    const c = this.clock as Partial<ManualClock>;
    if (typeof c.onAdvance === 'function') c.onAdvance.call(this.clock, () => this.expireLeases());
  }

  get revision(): number {
    return this.rev;
  }

  /** Revokes every lease whose time is up and deletes its keys (one revision per lease). */
  expireLeases(): void {
    const now = this.clock.now();
    for (const [id, lease] of [...this.leases]) {
      if (lease.expiresAt <= now) this.revoke(id);
    }
  }

  grant(ttlSec: number): string {
    this.leaseSeq += 1n;
    const id = (7_587_000_000_000_000_000n + this.leaseSeq).toString();
    this.leases.set(id, { ttlMs: ttlSec * 1000, expiresAt: this.clock.now() + ttlSec * 1000 });
    return id;
  }

  /** True and extended to the full TTL, or false when the lease does not exist (any more). */
  keepAlive(id: string): boolean {
    this.expireLeases();
    const lease = this.leases.get(id);
    if (!lease) return false;
    lease.expiresAt = this.clock.now() + lease.ttlMs;
    return true;
  }

  /** Whole seconds left on a lease (etcd truncates likewise), with its TTL; null when it does not exist. */
  timeToLive(id: string): { ttl: number; grantedTtl: number } | null {
    this.expireLeases();
    const lease = this.leases.get(id);
    if (!lease) return null;
    return { ttl: Math.max(0, Math.floor((lease.expiresAt - this.clock.now()) / 1000)), grantedTtl: lease.ttlMs / 1000 };
  }

  revoke(id: string): void {
    if (!this.leases.delete(id)) return;
    const doomed = [...this.kvs].filter(([, kv]) => kv.lease === id).map(([k]) => k);
    if (doomed.length === 0) return;
    this.rev += 1;
    for (const key of doomed) {
      this.kvs.delete(key);
      this.emit({ type: 'delete', key, value: null, revision: this.rev });
    }
  }

  get(key: string): Readonly<MemKv> | undefined {
    return this.kvs.get(key);
  }

  /** All keys with the prefix, sorted, with the current revision. */
  range(prefix: string): { revision: number; kvs: RawKv[] } {
    const kvs: RawKv[] = [...this.kvs]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, kv]) => ({ key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, lease: kv.lease }));
    return { revision: this.rev, kvs };
  }

  /** Put; `lease` "0" for none. Throws LeaseNotFound for an unknown lease, like etcd. */
  put(key: string, value: string, lease = '0'): number {
    if (lease !== '0' && !this.leases.has(lease)) throw new LeaseNotFound(`lease ${lease} not found`);
    this.rev += 1;
    const old = this.kvs.get(key);
    this.kvs.set(key, {
      value,
      createRevision: old?.createRevision ?? this.rev,
      modRevision: this.rev,
      version: (old?.version ?? 0) + 1,
      lease,
    });
    this.emit({ type: 'put', key, value, revision: this.rev, created: old === undefined });
    return this.rev;
  }

  /** Writes any value (e.g. invalid JSON) under a full key, for tests. */
  putRaw(key: string, value: string): void {
    this.put(key, value);
  }

  delete(key: string): boolean {
    if (!this.kvs.has(key)) return false;
    this.rev += 1;
    this.kvs.delete(key);
    this.emit({ type: 'delete', key, value: null, revision: this.rev });
    return true;
  }

  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: StoreEvent): void {
    for (const l of [...this.listeners]) l(e);
  }
}

export interface MemoryDcsOptions {
  store: MemoryStore;
  namespace?: string;
  scope: string;
  callTimeoutMs?: number;
}

/**
 * The Dcs interface on a MemoryStore: the same semantics as EtcdDcs (create-if-absent, CAS on
 * mod_revision, lease expiry on the store's clock), for pure unit tests.
 * setReachable(false) simulates a partition between this agent and the store: calls reject with
 * DcsError('unreachable') and watch events are held back until it is reachable again.
 */
export class MemoryDcs implements Dcs {
  readonly keys: DcsKeys;
  readonly store: MemoryStore;
  private timeoutMs: number;
  private lease: { id: string; ttl: number } | null = null;
  private closed = false;
  private reachable = true;
  private readonly watchFlushers = new Set<() => void>();
  private readonly unsubscribers = new Set<() => void>();

  constructor(opts: MemoryDcsOptions) {
    this.store = opts.store;
    this.keys = dcsKeys(opts.namespace ?? '/service/', opts.scope);
    this.timeoutMs = opts.callTimeoutMs ?? 5000;
  }

  get leaseId(): string | null {
    return this.lease?.id ?? null;
  }

  get callTimeoutMs(): number {
    return this.timeoutMs;
  }

  setWatchKeepaliveTime(ms: number): void {
    if (!(ms > 0)) throw new Error(`watch keepalive time must be > 0, got ${ms}`); // no connection to keep alive
  }

  setCallTimeout(ms: number): void {
    if (!(ms > 0)) throw new Error(`call timeout must be > 0, got ${ms}`);
    this.timeoutMs = ms;
  }

  /** Simulates a network partition between this agent and the store (true heals it). */
  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (reachable) for (const flush of [...this.watchFlushers]) flush();
  }

  private async op<T>(name: string, fn: () => T): Promise<T> {
    await Promise.resolve();
    if (this.closed) throw new DcsError('closed', name, `${name}: the DCS client is closed`);
    if (!this.reachable) throw new DcsError('unreachable', name, `etcd unreachable (memory): simulated partition in ${name}`);
    this.store.expireLeases();
    try {
      return fn();
    } catch (err) {
      if (err instanceof DcsError) throw err;
      if (err instanceof LeaseNotFound) {
        this.lease = null;
        throw new DcsError('lease', name, `${name}: the lease expired or was revoked (call ensureLease again)`, { cause: err });
      }
      throw new DcsError('error', name, `memory DCS error in ${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  private requireLease(op: string): { id: string; ttl: number } {
    if (!this.lease) throw new DcsError('lease', op, `${op}: no lease (call ensureLease first)`);
    return this.lease;
  }

  readCluster(): Promise<ClusterSnapshot> {
    return this.op('readCluster', () => {
      const { revision, kvs } = this.store.range(this.keys.base);
      return parseCluster(this.keys, revision, kvs);
    });
  }

  ensureLease(ttlSec: number): Promise<string> {
    return this.op('ensureLease', () => {
      if (!Number.isInteger(ttlSec) || ttlSec < 1) {
        throw new DcsError('error', 'ensureLease', `ensureLease: ttl must be a whole number of seconds >= 1, got ${ttlSec}`);
      }
      if (this.lease && this.lease.ttl === ttlSec) return this.lease.id;
      this.lease = { id: this.store.grant(ttlSec), ttl: ttlSec };
      return this.lease.id;
    });
  }

  keepAlive(): Promise<boolean> {
    return this.op('keepAlive', () => {
      if (!this.lease) return false;
      if (this.store.keepAlive(this.lease.id)) return true;
      this.lease = null;
      return false;
    });
  }

  acquireLeader(name: string): Promise<boolean> {
    return this.op('acquireLeader', () => {
      const { id } = this.requireLease('acquireLeader');
      const cur = this.store.get(this.keys.leader);
      if (cur) return cur.value === name && cur.lease === id;
      this.store.put(this.keys.leader, name, id);
      return true;
    });
  }

  renewLeader(name: string, seen?: LeaderRecord): Promise<boolean> {
    return this.op('renewLeader', () => {
      const { id } = this.requireLease('renewLeader');
      if (!this.store.keepAlive(id)) {
        this.lease = null;
        return false;
      }
      if (seen !== undefined && seen.name === name && seen.lease === id) return true; // as etcd does
      const cur = this.store.get(this.keys.leader);
      if (!cur || cur.value !== name) return false;
      if (cur.lease !== id) this.store.put(this.keys.leader, name, id);
      return true;
    });
  }

  releaseLeader(name: string): Promise<boolean> {
    return this.op('releaseLeader', () => {
      const cur = this.store.get(this.keys.leader);
      if (!cur || cur.value !== name) return false;
      return this.store.delete(this.keys.leader);
    });
  }

  touchMember(name: string, value: TMemberValue): Promise<void> {
    return this.op('touchMember', () => {
      const { id } = this.requireLease('touchMember');
      this.store.put(this.keys.member(name), JSON.stringify(value), id);
    });
  }

  deleteMember(name: string): Promise<void> {
    return this.op('deleteMember', () => {
      this.store.delete(this.keys.member(name));
    });
  }

  claimInitialize(value: string): Promise<boolean> {
    return this.op('claimInitialize', () => {
      if (this.store.get(this.keys.initialize)) return false;
      this.store.put(this.keys.initialize, value);
      return true;
    });
  }

  setInitialize(value: string): Promise<void> {
    return this.op('setInitialize', () => {
      this.store.put(this.keys.initialize, value);
    });
  }

  deleteInitialize(): Promise<void> {
    return this.op('deleteInitialize', () => {
      this.store.delete(this.keys.initialize);
    });
  }

  private casPut(op: string, key: string, value: string, expectedModRevision?: number): Promise<boolean> {
    return this.op(op, () => {
      if (expectedModRevision !== undefined && (this.store.get(key)?.modRevision ?? 0) !== expectedModRevision) return false;
      this.store.put(key, value);
      return true;
    });
  }

  setConfig(value: TDynamicConfig, expectedModRevision?: number): Promise<boolean> {
    return this.casPut('setConfig', this.keys.config, JSON.stringify(value), expectedModRevision);
  }

  async setHistory(history: THistory): Promise<void> {
    await this.casPut('setHistory', this.keys.history, JSON.stringify(history));
  }

  async setStatus(status: TStatus): Promise<void> {
    await this.casPut('setStatus', this.keys.status, JSON.stringify(status));
  }

  setFailover(value: TFailoverValue, expectedModRevision?: number): Promise<number | null> {
    const key = this.keys.failover;
    return this.op('setFailover', () => {
      if (expectedModRevision !== undefined && (this.store.get(key)?.modRevision ?? 0) !== expectedModRevision) return null;
      return this.store.put(key, JSON.stringify(value));
    });
  }

  setFailsafe(value: Readonly<Record<string, string>> | null): Promise<void> {
    return this.op('setFailsafe', () => {
      if (value === null) this.store.delete(this.keys.failsafe);
      else this.store.put(this.keys.failsafe, JSON.stringify(value));
    });
  }

  setSync(value: TSyncValue, expectedModRevision?: number, whileLeader?: string): Promise<boolean> {
    if (whileLeader === undefined) return this.casPut('setSync', this.keys.sync, JSON.stringify(value), expectedModRevision);
    return this.op('setSync', () => {
      if (this.store.get(this.keys.leader)?.value !== whileLeader) return false;
      if (expectedModRevision !== undefined && (this.store.get(this.keys.sync)?.modRevision ?? 0) !== expectedModRevision) return false;
      this.store.put(this.keys.sync, JSON.stringify(value));
      return true;
    });
  }

  leaseTimeToLive(lease: string): Promise<LeaseTtl> {
    return this.op('leaseTimeToLive', (): LeaseTtl => {
      const t = this.store.timeToLive(lease);
      return t === null ? { state: 'gone' } : { state: 'alive', ...t };
    });
  }

  takeOverLeader(req: TakeoverRequest): Promise<boolean> {
    return this.op('takeOverLeader', () => {
      const { id } = this.requireLease('takeOverLeader');
      const leader = this.store.get(this.keys.leader);
      if (!leader || leader.value !== req.oldLeader || leader.modRevision !== req.leaderModRevision) return false;
      const sync = this.store.get(this.keys.sync);
      if (!sync || sync.modRevision !== req.syncModRevision) return false;
      let parsed: unknown;
      try {
        parsed = JSON.parse(sync.value);
      } catch {
        return false;
      }
      const v = ZSyncValue.safeParse(parsed);
      if (!v.success || !syncStandbyList(v.data).includes(req.name)) return false;
      this.store.put(this.keys.leader, req.name, id);
      return true;
    });
  }

  deleteFailover(expectedModRevision?: number): Promise<boolean> {
    return this.op('deleteFailover', () => {
      const cur = this.store.get(this.keys.failover);
      if (!cur) return false;
      if (expectedModRevision !== undefined && cur.modRevision !== expectedModRevision) return false;
      return this.store.delete(this.keys.failover);
    });
  }

  watchLeader(onEvent: (event: LeaderEvent) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    return this.watchKey('watchLeader', this.keys.leader, onEvent, options);
  }

  watchFailover(onEvent: (event: LeaderEvent) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    return this.watchKey('watchFailover', this.keys.failover, onEvent, options);
  }

  watchMembers(onJoin: (member: string) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    const prefix = this.keys.membersPrefix;
    const joined = (e: StoreEvent): LeaderEvent | null => (e.type === 'put' && e.created && e.key.startsWith(prefix) ? { type: 'put', value: e.key.slice(prefix.length) } : null);
    return this.watchKey('watchMembers', joined, (e) => e.value && onJoin(e.value), options);
  }

  /** `key`: one key's events, or a function choosing (and shaping) the events to report. */
  private async watchKey(op: string, key: string | ((e: StoreEvent) => LeaderEvent | null), onEvent: (event: LeaderEvent) => void, options: WatchOptions): Promise<() => Promise<void>> {
    await this.op(op, () => undefined);
    const pending: LeaderEvent[] = [];
    let active = true;
    const deliver = (e: LeaderEvent) => {
      queueMicrotask(() => {
        if (!active) return;
        try {
          onEvent(e);
        } catch {
          // the caller's bug must not break the watch
        }
      });
    };
    const flush = () => {
      for (const e of pending.splice(0)) deliver(e);
    };
    const unsubscribe = this.store.subscribe((e) => {
      const event: LeaderEvent | null = typeof key === 'function' ? key(e) : e.key === key ? { type: e.type, value: e.value } : null;
      if (event === null) return;
      if (this.reachable) deliver(event);
      else pending.push(event);
    });
    this.watchFlushers.add(flush);
    const stop = () => {
      active = false;
      unsubscribe();
      this.watchFlushers.delete(flush);
    };
    this.unsubscribers.add(stop);
    try {
      options.onStatus?.('connected');
    } catch {
      // ignore
    }
    return async () => {
      stop();
      this.unsubscribers.delete(stop);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stop of [...this.unsubscribers]) stop();
    this.unsubscribers.clear();
  }
}
