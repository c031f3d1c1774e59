import {
  b64,
  EtcdConnectionError,
  EtcdHttp,
  EtcdRpcError,
  GRPC_CANCELLED,
  GRPC_NOT_FOUND,
  GRPC_UNAVAILABLE,
  isHostFailure,
  isInvalidToken,
  prefixEnd,
  unb64,
  type EtcdTls,
  type JHeader,
  type JKv,
} from './etcd-http.ts';
import { KeyWatch } from './etcd-watch.ts';
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
import { displayHost, parseEtcdHosts, type EtcdHostsConfig } from './hosts.ts';
import { parseCluster, type RawKv } from './parse.ts';
import {
  DcsError,
  type ClusterSnapshot,
  type Dcs,
  type LeaderEvent,
  type LeaderRecord,
  type LeaseTtl,
  type TakeoverRequest,
  type WatchOptions,
} from './types.ts';

export interface EtcdDcsOptions {
  /** host:port entries or URLs, a comma separated string, or Patroni's etcd3 section ({host|hosts|url, protocol}). */
  hosts: string | readonly string[] | EtcdHostsConfig;
  /** Patroni's namespace (default "/service/"). */
  namespace?: string;
  scope: string;
  /** Deadline of every call, in ms (default 5000). The agent sets it from retry_timeout. */
  callTimeoutMs?: number;
  /** etcd authentication (user and password, exchanged for a token at /v3/auth/authenticate). */
  username?: string;
  password?: string;
  /**
   * TLS for https hosts (Patroni's etcd3.cacert, cert, key, read by the caller): the CA to verify etcd
   * with (default: the system's CAs) and a client certificate with its key. Without it, https hosts are
   * still verified against the system's CAs; it is refused with http hosts (nothing would use it).
   */
  tls?: EtcdTls;
  /**
   * A watch whose stream and host said nothing for this long probes its host (default 6000 ms): how a
   * watch notices a dead connection that no other request is using.
   */
  keepaliveTimeMs?: number;
  /** How long that probe may go unanswered before the watch reconnects (default 3000 ms). */
  keepaliveTimeoutMs?: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 5000;

/** The deadline of one attempt (ms since the epoch). */
interface CallOptions {
  deadline: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function toRaw(kv: JKv): RawKv {
  return {
    key: unb64(kv.key),
    value: unb64(kv.value),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
    lease: kv.lease ?? '0',
  };
}

/** Errors worth another attempt inside the same deadline: the request did not get an answer. */
function retryable(err: unknown): boolean {
  if (err instanceof EtcdConnectionError) return !err.timedOut;
  if (err instanceof EtcdRpcError) return err.code === GRPC_UNAVAILABLE || err.code === GRPC_CANCELLED || isInvalidToken(err);
  return false;
}

const isLeaseNotFound = (err: unknown) => err instanceof EtcdRpcError && err.code === GRPC_NOT_FOUND && /lease not found/.test(err.message);

/** With several hosts, one attempt gets this share of the call timeout (Patroni splits it likewise). */
const MIN_ATTEMPT_MS = 500;

// The JSON shapes of the gateway's answers we read (64-bit integers are decimal strings; zero values are omitted).
interface RangeRes {
  header?: JHeader;
  kvs?: JKv[];
}
interface TxnRes {
  header?: JHeader;
  succeeded?: boolean;
  responses?: Array<{ response_range?: { kvs?: JKv[] } }>;
}
interface DeleteRes {
  deleted?: string;
}
interface LeaseRes {
  ID?: string;
  TTL?: string;
  error?: string;
}

// Transaction pieces (etcdserverpb.Compare / RequestOp as JSON).
const cmpCreate = (key: string, rev: number) => ({ key: b64(key), target: 'CREATE', result: 'EQUAL', create_revision: String(rev) });
const cmpMod = (key: string, rev: number) => ({ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(rev) });
const cmpValue = (key: string, value: string) => ({ key: b64(key), target: 'VALUE', result: 'EQUAL', value: b64(value) });
const cmpRev = (key: string, rev: number) => (rev === 0 ? cmpCreate(key, 0) : cmpMod(key, rev));
const opPut = (key: string, value: string, lease?: string) => ({ request_put: { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) } });
const opGet = (key: string) => ({ request_range: { key: b64(key) } });
const opDelete = (key: string) => ({ request_delete_range: { key: b64(key) } });

/**
 * The Dcs on etcd v3, over etcd's JSON gateway (EtcdHttp: Node's http/https, no gRPC).
 *
 * Deadlines and retries: each method computes ONE absolute deadline (now + callTimeoutMs); every
 * request it makes must answer by then, and a timer rejects the method at that instant whatever
 * happens below. Within the deadline, a request that got no answer (refused, reset) or that etcd
 * answered UNAVAILABLE / CANCELLED, or with an expired auth token (dropped and fetched again), is
 * tried again after a short pause (50 ms doubling to 500 ms). With several hosts an attempt gets
 * callTimeoutMs / hosts (at least 500 ms) and a host that failed is avoided for a while
 * (HostHealth), so a blackholed host costs a share of the deadline and the next attempt goes to
 * another host. Other errors fail at once. Nothing is retried past the deadline.
 *
 * Watches (KeyWatch) have no deadline once established: they reconnect on their own and resume at
 * the revision after the last one seen.
 */
export class EtcdDcs implements Dcs {
  readonly keys: DcsKeys;
  readonly hosts: readonly string[];
  private readonly etcd: EtcdHttp;
  private timeoutMs: number;
  private lease: { id: string; ttl: number } | null = null;
  private leasePending: Promise<string> | null = null;
  private closed = false;
  private readonly watches = new Set<KeyWatch>();
  private keepaliveTimeMs: number;
  private readonly keepaliveTimeoutMs: number;

  constructor(opts: EtcdDcsOptions) {
    this.hosts = parseEtcdHosts(opts.hosts);
    this.keys = dcsKeys(opts.namespace ?? '/service/', opts.scope);
    this.timeoutMs = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new Error(`callTimeoutMs must be > 0, got ${opts.callTimeoutMs}`);
    this.keepaliveTimeMs = opts.keepaliveTimeMs ?? 6000;
    this.keepaliveTimeoutMs = opts.keepaliveTimeoutMs ?? 3000;
    if (opts.tls) {
      if (!this.hosts.every((h) => h.startsWith('https://'))) throw new Error('TLS settings for etcd need https hosts');
      if ((opts.tls.certChain === undefined) !== (opts.tls.privateKey === undefined)) throw new Error('an etcd client certificate needs its key (and the other way round)');
    }
    this.etcd = new EtcdHttp({
      hosts: this.hosts,
      ...(opts.username !== undefined ? { username: opts.username, password: opts.password ?? '' } : {}),
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
  }

  get leaseId(): string | null {
    return this.lease?.id ?? null;
  }

  get callTimeoutMs(): number {
    return this.timeoutMs;
  }

  setWatchKeepaliveTime(ms: number): void {
    if (!(ms > 0)) throw new Error(`watch keepalive time must be > 0, got ${ms}`);
    this.keepaliveTimeMs = ms;
  }

  setCallTimeout(ms: number): void {
    if (!(ms > 0)) throw new Error(`call timeout must be > 0, got ${ms}`);
    this.timeoutMs = ms;
  }

  private hostList(): string {
    return this.hosts.map(displayHost).join(',');
  }

  private timeoutError(op: string, ms: number, cause?: unknown): DcsError {
    return new DcsError('timeout', op, `etcd unreachable (${this.hostList()}): deadline of ${ms} ms exceeded in ${op}`, { cause });
  }

  private toDcsError(op: string, ms: number, err: unknown): DcsError {
    if (err instanceof DcsError) return err;
    if (this.closed) return new DcsError('closed', op, `${op}: the DCS client is closed`, { cause: err });
    if (err instanceof EtcdConnectionError && err.timedOut) return this.timeoutError(op, ms, err);
    if (isLeaseNotFound(err)) return new DcsError('lease', op, `${op}: the lease expired or was revoked (call ensureLease again)`, { cause: err });
    const msg = err instanceof Error ? err.message : String(err);
    if (isHostFailure(err)) return new DcsError('unreachable', op, `etcd unreachable (${this.hostList()}): ${msg} in ${op}`, { cause: err });
    return new DcsError('error', op, `etcd error in ${op}: ${msg}`, { cause: err });
  }

  /**
   * Runs `fn` under one deadline: every request it makes gets an attempt deadline, transient
   * failures are retried while time remains, and the returned promise settles by the deadline.
   */
  private run<T>(op: string, fn: (o: CallOptions) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new DcsError('closed', op, `${op}: the DCS client is closed`));
    const ms = this.timeoutMs;
    const deadline = Date.now() + ms;
    const multiHost = this.hosts.length > 1;
    const attemptMs = Math.max(MIN_ATTEMPT_MS, Math.floor(ms / this.hosts.length));
    const work = (async () => {
      for (let attempt = 0; ; attempt++) {
        const attemptDeadline = multiHost ? Math.min(deadline, Date.now() + attemptMs) : deadline;
        try {
          return await fn({ deadline: attemptDeadline });
        } catch (err) {
          const pause = Math.min(50 * 2 ** attempt, 500);
          // With several hosts, a timed-out attempt is its share running out: try another host.
          const again = retryable(err) || (multiHost && err instanceof EtcdConnectionError && err.timedOut);
          if (!this.closed && again && Date.now() + pause + 100 < deadline) {
            await sleep(pause);
            continue;
          }
          if (isLeaseNotFound(err)) this.lease = null;
          throw this.toDcsError(op, ms, err);
        }
      }
    })();
    work.catch(() => undefined); // it may lose the race below
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.timeoutError(op, ms)), ms);
    });
    return Promise.race([work, guard]).finally(() => clearTimeout(timer));
  }

  private call<T>(path: string, body: unknown, o: CallOptions): Promise<T> {
    return this.etcd.call<T>(path, body, o.deadline);
  }

  private txn(o: CallOptions, compare: unknown[], success: unknown[], failure: unknown[] = []): Promise<TxnRes> {
    return this.call<TxnRes>('/v3/kv/txn', { compare, success, failure }, o);
  }

  private async get(o: CallOptions, key: string): Promise<JKv | undefined> {
    return (await this.call<RangeRes>('/v3/kv/range', { key: b64(key) }, o)).kvs?.[0];
  }

  private requireLease(op: string): { id: string; ttl: number } {
    if (!this.lease) throw new DcsError('lease', op, `${op}: no lease (call ensureLease first)`);
    return this.lease;
  }

  async readCluster(): Promise<ClusterSnapshot> {
    return this.run('readCluster', async (o) => {
      const base = this.keys.base;
      const res = await this.call<RangeRes>('/v3/kv/range', { key: b64(base), range_end: prefixEnd(base) }, o);
      return parseCluster(this.keys, Number(res.header?.revision ?? 0), (res.kvs ?? []).map(toRaw));
    });
  }

  ensureLease(ttlSec: number): Promise<string> {
    if (!Number.isInteger(ttlSec) || ttlSec < 1) {
      return Promise.reject(new DcsError('error', 'ensureLease', `ensureLease: ttl must be a whole number of seconds >= 1, got ${ttlSec}`));
    }
    if (this.lease && this.lease.ttl === ttlSec) return Promise.resolve(this.lease.id);
    if (this.leasePending) return this.leasePending;
    const p = this.run('ensureLease', async (o) => {
      const res = await this.call<LeaseRes>('/v3/lease/grant', { TTL: String(ttlSec), ID: '0' }, o);
      if (res.error) throw new EtcdRpcError(2, res.error);
      if (!res.ID) throw new EtcdRpcError(2, 'etcd granted a lease without an ID');
      this.lease = { id: res.ID, ttl: ttlSec };
      return this.lease.id;
    }).finally(() => {
      this.leasePending = null;
    });
    this.leasePending = p;
    return p;
  }

  /** One keepalive round trip; false when etcd says the lease is gone. */
  private async keepAliveOnce(o: CallOptions, id: string): Promise<boolean> {
    const res = await this.call<LeaseRes>('/v3/lease/keepalive', { ID: id }, o);
    if (!(Number(res.TTL ?? 0) > 0)) {
      if (this.lease?.id === id) this.lease = null;
      return false;
    }
    return true;
  }

  keepAlive(): Promise<boolean> {
    const lease = this.lease;
    if (!lease) return Promise.resolve(false);
    return this.run('keepAlive', (o) => this.keepAliveOnce(o, lease.id));
  }

  acquireLeader(name: string): Promise<boolean> {
    return this.run('acquireLeader', async (o) => {
      const { id } = this.requireLease('acquireLeader');
      const k = this.keys.leader;
      const res = await this.txn(o, [cmpCreate(k, 0)], [opPut(k, name, id)], [opGet(k)]);
      if (res.succeeded) return true;
      const kv = res.responses?.[0]?.response_range?.kvs?.[0];
      return kv !== undefined && unb64(kv.value) === name && (kv.lease ?? '0') === id;
    });
  }

  renewLeader(name: string, seen?: LeaderRecord): Promise<boolean> {
    return this.run('renewLeader', async (o) => {
      const { id } = this.requireLease('renewLeader');
      if (!(await this.keepAliveOnce(o, id))) return false;
      if (seen !== undefined && seen.name === name && seen.lease === id) return true; // one request, not two (see Dcs)
      const k = this.keys.leader;
      const kv = await this.get(o, k);
      if (!kv || unb64(kv.value) !== name) return false;
      if ((kv.lease ?? '0') === id) return true;
      // My name, another lease (ensureLease granted a new one): move the key onto my lease.
      const res = await this.txn(o, [cmpMod(k, Number(kv.mod_revision ?? 0))], [opPut(k, name, id)]);
      return res.succeeded === true;
    });
  }

  releaseLeader(name: string): Promise<boolean> {
    return this.run('releaseLeader', async (o) => {
      const k = this.keys.leader;
      return (await this.txn(o, [cmpValue(k, name)], [opDelete(k)])).succeeded === true;
    });
  }

  touchMember(name: string, value: TMemberValue): Promise<void> {
    return this.run('touchMember', async (o) => {
      const { id } = this.requireLease('touchMember');
      await this.call('/v3/kv/put', opPut(this.keys.member(name), JSON.stringify(value), id).request_put, o);
    });
  }

  deleteMember(name: string): Promise<void> {
    return this.run('deleteMember', async (o) => {
      await this.call('/v3/kv/deleterange', { key: b64(this.keys.member(name)) }, o);
    });
  }

  claimInitialize(value: string): Promise<boolean> {
    return this.run('claimInitialize', async (o) => {
      const k = this.keys.initialize;
      return (await this.txn(o, [cmpCreate(k, 0)], [opPut(k, value)])).succeeded === true;
    });
  }

  setInitialize(value: string): Promise<void> {
    return this.run('setInitialize', async (o) => {
      await this.call('/v3/kv/put', opPut(this.keys.initialize, value).request_put, o);
    });
  }

  deleteInitialize(): Promise<void> {
    return this.run('deleteInitialize', async (o) => {
      await this.call('/v3/kv/deleterange', { key: b64(this.keys.initialize) }, o);
    });
  }

  /** Put; with expectedModRevision only if the key's mod revision is still that (0: only if absent). The new revision, or null on a conflict. */
  private async putIf(o: CallOptions, key: string, value: string, expectedModRevision?: number): Promise<number | null> {
    if (expectedModRevision === undefined) {
      const res = await this.call<{ header?: JHeader }>('/v3/kv/put', opPut(key, value).request_put, o);
      return Number(res.header?.revision ?? 0);
    }
    const res = await this.txn(o, [cmpRev(key, expectedModRevision)], [opPut(key, value)]);
    // A transaction's header revision is the store revision it wrote: the key's new mod revision.
    return res.succeeded ? Number(res.header?.revision ?? 0) : null;
  }

  private casPut(op: string, key: string, value: string, expectedModRevision?: number): Promise<boolean> {
    return this.run(op, async (o) => (await this.putIf(o, key, value, expectedModRevision)) !== null);
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
    return this.run('setFailover', (o) => this.putIf(o, this.keys.failover, JSON.stringify(value), expectedModRevision));
  }

  setFailsafe(value: Readonly<Record<string, string>> | null): Promise<void> {
    const key = this.keys.failsafe;
    if (value !== null) return this.casPut('setFailsafe', key, JSON.stringify(value)).then(() => undefined);
    return this.run('setFailsafe', async (o) => {
      await this.call('/v3/kv/deleterange', { key: b64(key) }, o);
    });
  }

  setSync(value: TSyncValue, expectedModRevision?: number, whileLeader?: string): Promise<boolean> {
    if (whileLeader === undefined) return this.casPut('setSync', this.keys.sync, JSON.stringify(value), expectedModRevision);
    return this.run('setSync', async (o) => {
      const k = this.keys.sync;
      const compare = [cmpValue(this.keys.leader, whileLeader), ...(expectedModRevision !== undefined ? [cmpRev(k, expectedModRevision)] : [])];
      return (await this.txn(o, compare, [opPut(k, JSON.stringify(value))])).succeeded === true;
    });
  }

  leaseTimeToLive(lease: string): Promise<LeaseTtl> {
    return this.run('leaseTimeToLive', async (o): Promise<LeaseTtl> => {
      if (!/^[1-9][0-9]*$/.test(lease)) return { state: 'gone' };
      const res = await this.call<{ TTL?: string; grantedTTL?: string }>('/v3/lease/timetolive', { ID: lease, keys: false }, o);
      const ttl = Number(res.TTL ?? 0);
      // etcd answers TTL -1 for a lease that expired, was revoked or never existed.
      if (!(ttl >= 0)) return { state: 'gone' };
      return { state: 'alive', ttl, grantedTtl: Number(res.grantedTTL ?? 0) };
    });
  }

  takeOverLeader(req: TakeoverRequest): Promise<boolean> {
    return this.run('takeOverLeader', async (o) => {
      const { id } = this.requireLease('takeOverLeader');
      // /sync's value at the mod revision compared below must list me: read it, then compare the
      // revision in the transaction (a value is fixed by its mod revision).
      const kv = await this.get(o, this.keys.sync);
      if (!kv || Number(kv.mod_revision ?? 0) !== req.syncModRevision) return false;
      let parsed: unknown;
      try {
        parsed = JSON.parse(unb64(kv.value));
      } catch {
        return false;
      }
      const sync = ZSyncValue.safeParse(parsed);
      if (!sync.success || !syncStandbyList(sync.data).includes(req.name)) return false;
      const k = this.keys.leader;
      const compare = [cmpValue(k, req.oldLeader), cmpMod(k, req.leaderModRevision), cmpMod(this.keys.sync, req.syncModRevision)];
      return (await this.txn(o, compare, [opPut(k, req.name, id)])).succeeded === true;
    });
  }

  deleteFailover(expectedModRevision?: number): Promise<boolean> {
    return this.run('deleteFailover', async (o) => {
      const k = this.keys.failover;
      if (expectedModRevision === undefined) {
        const res = await this.call<DeleteRes>('/v3/kv/deleterange', { key: b64(k) }, o);
        return Number(res.deleted ?? 0) > 0;
      }
      return (await this.txn(o, [cmpMod(k, expectedModRevision)], [opDelete(k)])).succeeded === true;
    });
  }

  watchLeader(onEvent: (event: LeaderEvent) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    return this.watchKey('watchLeader', this.keys.leader, onEvent, options);
  }

  watchFailover(onEvent: (event: LeaderEvent) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    return this.watchKey('watchFailover', this.keys.failover, onEvent, options);
  }

  watchMembers(onJoin: (member: string) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    return this.watchKey('watchMembers', this.keys.membersPrefix, (e) => e.value && onJoin(e.value), options, true);
  }

  private async watchKey(op: string, key: string, onEvent: (event: LeaderEvent) => void, options: WatchOptions, createdUnderPrefix = false): Promise<() => Promise<void>> {
    if (this.closed) throw new DcsError('closed', op, `${op}: the DCS client is closed`);
    const timing = { timeoutMs: () => this.timeoutMs, keepaliveTimeMs: () => this.keepaliveTimeMs, keepaliveTimeoutMs: this.keepaliveTimeoutMs };
    const w = new KeyWatch(this.etcd, key, onEvent, options, timing, createdUnderPrefix);
    this.watches.add(w);
    const ms = this.timeoutMs;
    const ok = await w.start(ms);
    if (!ok) {
      this.watches.delete(w);
      w.cancel();
      throw this.timeoutError(op, ms);
    }
    return async () => {
      this.watches.delete(w);
      w.cancel();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watches) w.cancel();
    this.watches.clear();
    this.etcd.close();
  }
}
