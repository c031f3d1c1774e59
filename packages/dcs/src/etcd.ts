import { ExponentialBackoff, noop, type IBackoff } from 'cockatiel';
import { HostHealth, HostSkipped } from './host-health.ts';
import {
  ClientClosedError,
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  castGrpcError,
  isRecoverableError,
  type IKeyValue,
  type ILeaseKeepAliveResponse,
  type IOptions,
  type Watcher,
} from 'etcd3';
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
  type LeaseTtl,
  type TakeoverRequest,
  type WatchOptions,
  type WatchStatus,
} from './types.ts';

export interface EtcdDcsOptions {
  /** host:port entries or URLs, a comma separated string, or Patroni's etcd3 section ({host|hosts|url, protocol}). */
  hosts: string | readonly string[] | EtcdHostsConfig;
  /** Patroni's namespace (default "/service/"). */
  namespace?: string;
  scope: string;
  /** Deadline of every call, in ms (default 5000). The agent sets it from retry_timeout. */
  callTimeoutMs?: number;
  username?: string;
  password?: string;
  /**
   * TLS for https hosts (Patroni's etcd3.cacert, cert, key, read by the caller): the CA to verify etcd
   * with (default: the system's CAs) and a client certificate with its key. Without it, https hosts are
   * still verified against the system's CAs; it is refused with http hosts (nothing would use it).
   */
  tls?: { rootCertificate?: Buffer; certChain?: Buffer; privateKey?: Buffer };
  /**
   * gRPC keepalive ping interval on connections with active streams (default 6000 ms; etcd's
   * --grpc-keepalive-min-time is 5 s, pinging faster gets the connection closed). It is how a watch
   * notices a dead connection that no unary call is using.
   */
  keepaliveTimeMs?: number;
  /** How long a keepalive ping may go unanswered before the connection is dropped (default 3000 ms). */
  keepaliveTimeoutMs?: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 5000;

/** The gRPC call options we set: an absolute deadline (ms since the epoch). */
interface CallOptions {
  deadline: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function toRaw(kv: IKeyValue): RawKv {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: String(kv.lease ?? '0'),
  };
}

/** Errors worth another attempt inside the same deadline: the request did not get an answer. */
function retryable(err: unknown): boolean {
  return err instanceof GRPCUnavailableError || err instanceof GRPCCancelledError || err instanceof HostSkipped;
}

/** With several hosts, one attempt gets this share of the call timeout (Patroni splits it likewise). */
const MIN_ATTEMPT_MS = 500;

/**
 * The Dcs on etcd v3 (etcd3@1.1.2 over gRPC).
 *
 * Deadlines and retries. The library's global retry policy is off (`faultHandling.global` is
 * cockatiel's no-op policy; its default, 3 attempts, would stretch a call past its deadline), and
 * its per-host circuit breaker (`faultHandling.host`; the default fails EVERY call for 5 s after 3
 * failures, even when etcd is back and even with a single host) is replaced by HostHealth, which
 * only steers calls away from a recently failed host while another looks fine. Instead:
 * - each method computes ONE absolute deadline (now + callTimeoutMs); every request it makes gets
 *   a gRPC `deadline` (per-call `.options()`), and a timer rejects the method at that instant in
 *   case something in the library waits outside a gRPC call (the auth token exchange, a stream
 *   that never opens). `defaultCallOptions` gives the library's own unary calls (auth) a deadline.
 * - within the deadline, a request that failed with UNAVAILABLE / CANCELLED (refused, reset,
 *   channel closed) is tried again after a short pause (50 ms doubling to 500 ms). With several
 *   hosts an attempt gets callTimeoutMs / hosts (at least 500 ms), so a blackholed host costs a
 *   share of the deadline and DEADLINE_EXCEEDED is retried on another host while time remains.
 *   Other errors fail at once. Nothing is retried past the deadline.
 *
 * The watch stream has no deadline; the library re-establishes it after errors with
 * `faultHandling.watchBackoff` (exponential, 100 ms up to 2 s) and replays missed events from the
 * last revision seen. gRPC keepalive pings (keepaliveTimeMs) make a blackholed connection fail so
 * that this happens even when no unary call is running.
 */
export class EtcdDcs implements Dcs {
  readonly keys: DcsKeys;
  readonly hosts: readonly string[];
  private readonly client: Etcd3;
  private timeoutMs: number;
  private lease: { id: string; ttl: number } | null = null;
  private leasePending: Promise<string> | null = null;
  private closed = false;
  private readonly watches = new Set<LeaderWatch>();
  private readonly health: HostHealth;

  constructor(opts: EtcdDcsOptions) {
    this.hosts = parseEtcdHosts(opts.hosts);
    this.health = new HostHealth(this.hosts);
    this.keys = dcsKeys(opts.namespace ?? '/service/', opts.scope);
    this.timeoutMs = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new Error(`callTimeoutMs must be > 0, got ${opts.callTimeoutMs}`);
    const options: IOptions = {
      hosts: [...this.hosts],
      grpcOptions: {
        'grpc.keepalive_time_ms': opts.keepaliveTimeMs ?? 6000,
        'grpc.keepalive_timeout_ms': opts.keepaliveTimeoutMs ?? 3000,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.min_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        // Each Dcs gets its own connections, like separate agents would.
        'grpc.use_local_subchannel_pool': 1,
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.timeoutMs }),
      faultHandling: {
        global: noop,
        host: (host) => this.health.policyFor(host),
        // The library calls .next() on this value first (its own default is `new ExponentialBackoff()`),
        // so it wants a backoff factory although its typings say IBackoff.
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) as unknown as IBackoff<unknown>,
      },
    };
    if (opts.username !== undefined) options.auth = { username: opts.username, password: opts.password ?? '' };
    if (opts.tls) {
      if (!this.hosts.every((h) => h.startsWith('https://'))) throw new Error('TLS settings for etcd need https hosts');
      if ((opts.tls.certChain === undefined) !== (opts.tls.privateKey === undefined)) throw new Error('an etcd client certificate needs its key (and the other way round)');
      // grpc-js takes null for "the system's CAs"; the library's typing wants a Buffer.
      options.credentials = {
        rootCertificate: opts.tls.rootCertificate as Buffer,
        ...(opts.tls.privateKey ? { privateKey: opts.tls.privateKey } : {}),
        ...(opts.tls.certChain ? { certChain: opts.tls.certChain } : {}),
      };
    }
    this.client = new Etcd3(options);
  }

  get leaseId(): string | null {
    return this.lease?.id ?? null;
  }

  get callTimeoutMs(): number {
    return this.timeoutMs;
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
    if (err instanceof GRPCDeadlineExceededError) return this.timeoutError(op, ms, err);
    if (err instanceof ClientClosedError || this.closed) return new DcsError('closed', op, `${op}: the DCS client is closed`, { cause: err });
    if (err instanceof EtcdLeaseInvalidError) {
      return new DcsError('lease', op, `${op}: the lease expired or was revoked (call ensureLease again)`, { cause: err });
    }
    const msg = err instanceof Error ? err.message : String(err);
    if (err instanceof HostSkipped || (err instanceof Error && isRecoverableError(err))) {
      return new DcsError('unreachable', op, `etcd unreachable (${this.hostList()}): ${msg} in ${op}`, { cause: err });
    }
    return new DcsError('error', op, `etcd error in ${op}: ${msg}`, { cause: err });
  }

  /**
   * Runs `fn` under one deadline: every request it makes gets `callOptions.deadline`, transient
   * failures are retried while time remains, and the returned promise settles by the deadline.
   */
  private run<T>(op: string, fn: (callOptions: CallOptions) => Promise<T>): Promise<T> {
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
          // With several hosts, a deadline exceeded is the attempt's share running out: try another host.
          const again = retryable(err) || (multiHost && err instanceof GRPCDeadlineExceededError);
          if (!this.closed && again && Date.now() + pause + 100 < deadline) {
            await sleep(pause);
            continue;
          }
          if (err instanceof EtcdLeaseInvalidError) this.lease = null;
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

  private requireLease(op: string): { id: string; ttl: number } {
    if (!this.lease) throw new DcsError('lease', op, `${op}: no lease (call ensureLease first)`);
    return this.lease;
  }

  async readCluster(): Promise<ClusterSnapshot> {
    return this.run('readCluster', async (o) => {
      const res = await this.client.getAll().prefix(this.keys.base).options(o).exec();
      return parseCluster(this.keys, Number(res.header.revision), res.kvs.map(toRaw));
    });
  }

  ensureLease(ttlSec: number): Promise<string> {
    if (!Number.isInteger(ttlSec) || ttlSec < 1) {
      return Promise.reject(new DcsError('error', 'ensureLease', `ensureLease: ttl must be a whole number of seconds >= 1, got ${ttlSec}`));
    }
    if (this.lease && this.lease.ttl === ttlSec) return Promise.resolve(this.lease.id);
    if (this.leasePending) return this.leasePending;
    const p = this.run('ensureLease', async (o) => {
      const res = await this.client.leaseClient.leaseGrant({ TTL: ttlSec, ID: 0 }, o);
      if (res.error) throw new Error(res.error);
      this.lease = { id: String(res.ID), ttl: ttlSec };
      return this.lease.id;
    }).finally(() => {
      this.leasePending = null;
    });
    this.leasePending = p;
    return p;
  }

  /** One keepalive round trip on its own stream; false when etcd says the lease is gone. */
  private async keepAliveOnce(o: CallOptions, id: string): Promise<boolean> {
    const stream = await this.client.leaseClient.leaseKeepAlive(o);
    let res: ILeaseKeepAliveResponse;
    try {
      res = await new Promise<ILeaseKeepAliveResponse>((resolve, reject) => {
        stream.on('data', resolve);
        stream.on('error', (err: Error) => reject(castGrpcError(err)));
        stream.on('end', () => reject(new GRPCUnavailableError('the keepalive stream ended without an answer')));
        stream.write({ ID: id });
      });
    } catch (err) {
      stream.end();
      stream.cancel();
      throw err;
    }
    stream.end();
    if (res.TTL === '0' || Number(res.TTL) <= 0) {
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
      const res = await this.client
        .if(k, 'Create', '==', 0)
        .then(this.client.put(k).value(name).lease(id))
        .else(this.client.get(k))
        .options(o)
        .commit();
      if (res.succeeded) return true;
      const kv = res.responses[0]?.response_range?.kvs[0];
      return kv !== undefined && kv.value.toString('utf8') === name && String(kv.lease) === id;
    });
  }

  renewLeader(name: string): Promise<boolean> {
    return this.run('renewLeader', async (o) => {
      const { id } = this.requireLease('renewLeader');
      if (!(await this.keepAliveOnce(o, id))) return false;
      const k = this.keys.leader;
      const kv = (await this.client.get(k).options(o).exec()).kvs[0];
      if (!kv || kv.value.toString('utf8') !== name) return false;
      if (String(kv.lease) === id) return true;
      // My name, another lease (ensureLease granted a new one): move the key onto my lease.
      const res = await this.client
        .if(k, 'Mod', '==', Number(kv.mod_revision))
        .then(this.client.put(k).value(name).lease(id))
        .options(o)
        .commit();
      return res.succeeded;
    });
  }

  releaseLeader(name: string): Promise<boolean> {
    return this.run('releaseLeader', async (o) => {
      const k = this.keys.leader;
      const res = await this.client.if(k, 'Value', '==', name).then(this.client.delete().key(k)).options(o).commit();
      return res.succeeded;
    });
  }

  touchMember(name: string, value: TMemberValue): Promise<void> {
    return this.run('touchMember', async (o) => {
      const { id } = this.requireLease('touchMember');
      await this.client.put(this.keys.member(name)).value(JSON.stringify(value)).lease(id).options(o).exec();
    });
  }

  deleteMember(name: string): Promise<void> {
    return this.run('deleteMember', async (o) => {
      await this.client.delete().key(this.keys.member(name)).options(o).exec();
    });
  }

  claimInitialize(value: string): Promise<boolean> {
    return this.run('claimInitialize', async (o) => {
      const k = this.keys.initialize;
      const res = await this.client.if(k, 'Create', '==', 0).then(this.client.put(k).value(value)).options(o).commit();
      return res.succeeded;
    });
  }

  setInitialize(value: string): Promise<void> {
    return this.run('setInitialize', async (o) => {
      await this.client.put(this.keys.initialize).value(value).options(o).exec();
    });
  }

  deleteInitialize(): Promise<void> {
    return this.run('deleteInitialize', async (o) => {
      await this.client.delete().key(this.keys.initialize).options(o).exec();
    });
  }

  private casPut(op: string, key: string, value: string, expectedModRevision?: number): Promise<boolean> {
    return this.run(op, async (o) => {
      if (expectedModRevision === undefined) {
        await this.client.put(key).value(value).options(o).exec();
        return true;
      }
      const res = await this.client
        .if(key, expectedModRevision === 0 ? 'Create' : 'Mod', '==', expectedModRevision)
        .then(this.client.put(key).value(value))
        .options(o)
        .commit();
      return res.succeeded;
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
    const json = JSON.stringify(value);
    return this.run('setFailover', async (o) => {
      if (expectedModRevision === undefined) return Number((await this.client.put(key).value(json).options(o).exec()).header.revision);
      const res = await this.client
        .if(key, expectedModRevision === 0 ? 'Create' : 'Mod', '==', expectedModRevision)
        .then(this.client.put(key).value(json))
        .options(o)
        .commit();
      // A transaction's header revision is the store revision it wrote: the key's new mod revision.
      return res.succeeded ? Number(res.header.revision) : null;
    });
  }

  setFailsafe(value: Readonly<Record<string, string>> | null): Promise<void> {
    const key = this.keys.failsafe;
    return this.run('setFailsafe', async (o) => {
      if (value === null) await this.client.delete().key(key).options(o).exec();
      else await this.client.put(key).value(JSON.stringify(value)).options(o).exec();
    });
  }

  setSync(value: TSyncValue, expectedModRevision?: number, whileLeader?: string): Promise<boolean> {
    if (whileLeader === undefined) return this.casPut('setSync', this.keys.sync, JSON.stringify(value), expectedModRevision);
    return this.run('setSync', async (o) => {
      const k = this.keys.sync;
      let txn = this.client.if(this.keys.leader, 'Value', '==', whileLeader);
      if (expectedModRevision !== undefined) txn = txn.and(k, expectedModRevision === 0 ? 'Create' : 'Mod', '==', expectedModRevision);
      const res = await txn.then(this.client.put(k).value(JSON.stringify(value))).options(o).commit();
      return res.succeeded;
    });
  }

  leaseTimeToLive(lease: string): Promise<LeaseTtl> {
    return this.run('leaseTimeToLive', async (o): Promise<LeaseTtl> => {
      if (!/^[1-9][0-9]*$/.test(lease)) return { state: 'gone' };
      const res = await this.client.leaseClient.leaseTimeToLive({ ID: lease, keys: false }, o);
      const ttl = Number(res.TTL);
      // etcd answers TTL -1 for a lease that expired, was revoked or never existed.
      if (!(ttl >= 0)) return { state: 'gone' };
      return { state: 'alive', ttl, grantedTtl: Number(res.grantedTTL) };
    });
  }

  takeOverLeader(req: TakeoverRequest): Promise<boolean> {
    return this.run('takeOverLeader', async (o) => {
      const { id } = this.requireLease('takeOverLeader');
      // /sync's value at the mod revision compared below must list me: read it, then compare the
      // revision in the transaction (a value is fixed by its mod revision).
      const kv = (await this.client.get(this.keys.sync).options(o).exec()).kvs[0];
      if (!kv || Number(kv.mod_revision) !== req.syncModRevision) return false;
      let parsed: unknown;
      try {
        parsed = JSON.parse(kv.value.toString('utf8'));
      } catch {
        return false;
      }
      const sync = ZSyncValue.safeParse(parsed);
      if (!sync.success || !syncStandbyList(sync.data).includes(req.name)) return false;
      const k = this.keys.leader;
      const res = await this.client
        .if(k, 'Value', '==', req.oldLeader)
        .and(k, 'Mod', '==', req.leaderModRevision)
        .and(this.keys.sync, 'Mod', '==', req.syncModRevision)
        .then(this.client.put(k).value(req.name).lease(id))
        .options(o)
        .commit();
      return res.succeeded;
    });
  }

  deleteFailover(expectedModRevision?: number): Promise<boolean> {
    return this.run('deleteFailover', async (o) => {
      const k = this.keys.failover;
      if (expectedModRevision === undefined) {
        const res = await this.client.delete().key(k).options(o).exec();
        return Number(res.deleted) > 0;
      }
      const res = await this.client.if(k, 'Mod', '==', expectedModRevision).then(this.client.delete().key(k)).options(o).commit();
      return res.succeeded;
    });
  }

  watchLeader(onEvent: (event: LeaderEvent) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    return this.watchKey('watchLeader', this.keys.leader, onEvent, options);
  }

  watchFailover(onEvent: (event: LeaderEvent) => void, options: WatchOptions = {}): Promise<() => Promise<void>> {
    return this.watchKey('watchFailover', this.keys.failover, onEvent, options);
  }

  private async watchKey(op: string, key: string, onEvent: (event: LeaderEvent) => void, options: WatchOptions): Promise<() => Promise<void>> {
    if (this.closed) throw new DcsError('closed', op, `${op}: the DCS client is closed`);
    const w = new LeaderWatch(this.client, key, onEvent, options, () => this.timeoutMs);
    this.watches.add(w);
    const ms = this.timeoutMs;
    const ok = await w.start(ms);
    if (!ok) {
      this.watches.delete(w);
      void w.cancel(); // in the background: the caller hears about the failure at the deadline
      throw this.timeoutError(op, ms);
    }
    return async () => {
      this.watches.delete(w);
      await w.cancel();
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const watches = [...this.watches];
    this.watches.clear();
    await Promise.all(watches.map((w) => w.cancel()));
    this.client.close();
  }
}

/**
 * One watch on the leader key, on top of the library's self-healing watch stream. It adds: a
 * bounded wait for the first connection, a restart when etcd cancels the watch (for instance when
 * the revision to resume from was compacted; the current value is then reported so nothing is
 * lost), isolation of the caller's callback, and a bounded cancel.
 */
class LeaderWatch {
  private watcher: Watcher | null = null;
  private cancelled = false;
  private restartTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly client: Etcd3,
    private readonly key: string,
    private readonly onEvent: (event: LeaderEvent) => void,
    private readonly options: WatchOptions,
    private readonly timeoutMs: () => number,
  ) {}

  /** Attaches the watch; resolves true once etcd confirmed it, false after `ms`. */
  start(ms: number): Promise<boolean> {
    const w = this.attach();
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      w.once('connected', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private attach(startRevision?: string): Watcher {
    const builder = this.client.watch().key(this.key);
    if (startRevision !== undefined) builder.startRevision(startRevision);
    const w = builder.watcher();
    this.watcher = w;
    w.on('put', (kv: IKeyValue) => this.emit({ type: 'put', value: kv.value.toString('utf8') }));
    w.on('delete', () => this.emit({ type: 'delete', value: null }));
    w.on('connected', () => this.status('connected'));
    w.on('disconnected', (err: Error) => this.status('disconnected', err));
    w.on('error', (err: Error) => this.onCancelledByServer(w, err));
    return w;
  }

  private emit(event: LeaderEvent): void {
    if (this.cancelled) return;
    try {
      this.onEvent(event);
    } catch {
      // the caller's bug must not break the watch stream
    }
  }

  private status(s: WatchStatus, err?: Error): void {
    if (this.cancelled || !this.options.onStatus) return;
    try {
      this.options.onStatus(s, err);
    } catch {
      // ignore
    }
  }

  /** etcd cancelled the watch (it is gone from the stream): start a fresh one and resync. */
  private onCancelledByServer(w: Watcher, err: Error): void {
    if (this.cancelled || w !== this.watcher) return;
    this.status('disconnected', err);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.cancelled) return;
      const fresh = this.attach();
      fresh.once('connected', () => {
        void this.resync();
      });
    }, 200);
  }

  private async resync(): Promise<void> {
    try {
      const kv = (await this.client.get(this.key).options({ deadline: Date.now() + this.timeoutMs() }).exec()).kvs[0];
      this.emit(kv ? { type: 'put', value: kv.value.toString('utf8') } : { type: 'delete', value: null });
    } catch {
      // the caller reads the cluster every tick anyway
    }
  }

  async cancel(): Promise<void> {
    if (this.cancelled) return;
    this.cancelled = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const w = this.watcher;
    this.watcher = null;
    if (!w) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      w.cancel().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.min(this.timeoutMs(), 2000));
      }),
    ]);
    clearTimeout(timer);
  }
}
