import { ZSyncValue, dcsKeys, syncStandbyList, type DcsKeys, type TDynamicConfig, type TFailoverValue, type THistory, type TMemberValue, type TStatus, type TSyncValue } from '@keel/protocol';
import { DcsError, type ClusterSnapshot, type Dcs, type LeaderEvent, type LeaseTtl, type TakeoverRequest, type WatchOptions } from './types.ts';
import { CreateMode, Exception, ZkError, ZkSession, errorCode, idString, zxidNumber } from './zk-session.ts';
import { parseZooKeeperHosts } from './zk-hosts.ts';
import { casWrite, createNode, multiOk, readNode, readScope, removeIfExists } from './zk-ops.ts';
import { ChildrenWatch, NodeWatch, type ZkWatch } from './zk-watch.ts';

export interface ZooKeeperDcsOptions {
  /** host[:port] entries (port 2181 when missing), as a list or a comma separated string (Patroni's zookeeper.hosts). */
  hosts: string | readonly string[];
  /** Patroni's namespace (default "/service/"). */
  namespace?: string;
  scope: string;
  /** Deadline of every call, in ms (default 5000). The agent sets it from retry_timeout. */
  callTimeoutMs?: number;
  /**
   * Session timeout of the reading/watching session (ms, default 10000; ZooKeeper clamps it to its
   * limits). Its pings go every third of it, and a connection silent for two thirds is dropped.
   */
  readSessionTimeoutMs?: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 5000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Lease {
  session: ZkSession;
  ttl: number;
  id: string;
}

/**
 * The Dcs on ZooKeeper, with Patroni's znode layout: the same names as the etcd keys under
 * /<namespace>/<scope>/; `leader` and `members/<name>` are ephemeral znodes of the agent's lease
 * session, everything else is persistent. A znode's mzxid (the zxid of its last write: global and
 * increasing, like etcd's mod_revision) is the modRevision; compare-and-set re-reads the znode and
 * writes with its version, so a write in between fails the version check.
 *
 * Two sessions per Dcs:
 * - the lease session (ensureLease): session timeout = ttl, with the library's background pings
 *   turned off, so only keepAlive(), renewLeader() and the other lease calls touch it. An agent
 *   whose loop stops renewing loses the session after ttl, and ZooKeeper deletes its leader and
 *   member znodes: the same fencing guarantee as an etcd lease. Its id is the session id.
 * - the read session: reads, persistent writes and the watches, with normal pings, so watches
 *   outlive a lost lease. It is re-created (and the watches re-armed) if it ever expires.
 *
 * readCluster is not one atomic read (ZooKeeper has no range read): it lists the scope and reads the
 * znodes pipelined on one connection, as Patroni does; `revision` is the server's last zxid at the
 * final reply, so it is at least every modRevision in the snapshot.
 */
export class ZooKeeperDcs implements Dcs {
  readonly keys: DcsKeys;
  readonly hosts: readonly string[];
  private readonly connectString: string;
  private readonly readTimeoutMs: number;
  private timeoutMs: number;
  private main: ZkSession | null = null;
  private lease: Lease | null = null;
  private leasePending: Promise<string> | null = null;
  private closed = false;
  private readonly watches = new Set<ZkWatch>();

  constructor(opts: ZooKeeperDcsOptions) {
    this.hosts = parseZooKeeperHosts(opts.hosts);
    this.connectString = this.hosts.join(',');
    this.keys = dcsKeys(opts.namespace ?? '/service/', opts.scope);
    this.timeoutMs = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.readTimeoutMs = opts.readSessionTimeoutMs ?? 10_000;
    if (!(this.timeoutMs > 0)) throw new Error(`callTimeoutMs must be > 0, got ${opts.callTimeoutMs}`);
  }

  get leaseId(): string | null {
    if (this.lease && this.lease.session.state === 'expired') this.lease = null;
    return this.lease?.id ?? null;
  }

  get callTimeoutMs(): number {
    return this.timeoutMs;
  }

  setWatchKeepaliveTime(ms: number): void {
    if (!(ms > 0)) throw new Error(`watch keepalive time must be > 0, got ${ms}`); // the session pings its server itself
  }

  setCallTimeout(ms: number): void {
    if (!(ms > 0)) throw new Error(`call timeout must be > 0, got ${ms}`);
    this.timeoutMs = ms;
  }

  private dir(): string {
    return this.keys.base.slice(0, -1);
  }

  /** The read session, (re-)created when there is none or it expired. */
  private readSession(): ZkSession {
    if (this.main && this.main.state !== 'expired' && this.main.state !== 'closed') return this.main;
    const s = new ZkSession(this.connectString, this.readTimeoutMs, { ping: true });
    this.main = s;
    s.onState((state) => {
      for (const w of this.watches) w.status(state === 'connected' ? 'connected' : 'disconnected');
      if (state === 'expired' && !this.closed) {
        // Watches live in the session: open a new one and re-arm them (they report what changed).
        for (const w of this.watches) void w.rearm();
      }
    });
    return s;
  }

  private async ready(deadline: number): Promise<ZkSession> {
    const s = this.readSession();
    await s.ready(deadline);
    return s;
  }

  private toDcsError(op: string, ms: number, err: unknown): DcsError {
    if (err instanceof DcsError) return err;
    if (this.closed) return new DcsError('closed', op, `${op}: the DCS client is closed`, { cause: err });
    const code = errorCode(err);
    const msg = err instanceof Error ? err.message : String(err);
    if (code === Exception.OPERATION_TIMEOUT) {
      return new DcsError('timeout', op, `ZooKeeper unreachable (${this.connectString}): deadline of ${ms} ms exceeded in ${op}`, { cause: err });
    }
    if (code === Exception.CONNECTION_LOSS) {
      return new DcsError('unreachable', op, `ZooKeeper unreachable (${this.connectString}): ${msg} in ${op}`, { cause: err });
    }
    if (code === Exception.SESSION_EXPIRED) {
      return new DcsError('lease', op, `${op}: the ZooKeeper session (lease) expired (call ensureLease again)`, { cause: err });
    }
    return new DcsError('error', op, `ZooKeeper error in ${op}: ${msg}`, { cause: err });
  }

  /**
   * Runs `fn` under one deadline. A lost connection (the request got no answer) is retried after a
   * short pause while time remains; every other error fails at once. On a timeout the sessions'
   * connections are dropped so the library reconnects (a blackholed connection is otherwise never noticed).
   */
  private run<T>(op: string, fn: (deadline: number) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new DcsError('closed', op, `${op}: the DCS client is closed`));
    const ms = this.timeoutMs;
    const deadline = Date.now() + ms;
    const work = (async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn(deadline);
        } catch (err) {
          const pause = Math.min(50 * 2 ** attempt, 500);
          if (!this.closed && errorCode(err) === Exception.CONNECTION_LOSS && Date.now() + pause + 100 < deadline) {
            await sleep(pause);
            continue;
          }
          throw this.toDcsError(op, ms, err);
        }
      }
    })();
    work.catch(() => undefined); // it may lose the race below
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.main?.reconnect();
        this.lease?.session.reconnect();
        reject(this.toDcsError(op, ms, new ZkError(Exception.OPERATION_TIMEOUT, 'deadline exceeded')));
      }, ms);
    });
    return Promise.race([work, guard]).finally(() => clearTimeout(timer));
  }

  /** The lease session, connected; DcsError('lease') when there is none or it expired. */
  private async leaseSession(op: string, deadline: number): Promise<Lease> {
    const lease = this.lease;
    if (!lease) throw new DcsError('lease', op, `${op}: no lease (call ensureLease first)`);
    try {
      await lease.session.ready(deadline);
    } catch (err) {
      if (errorCode(err) === Exception.SESSION_EXPIRED && this.lease === lease) this.lease = null;
      throw err;
    }
    return lease;
  }

  /** Maps a session-expired error on the lease session to losing the lease. */
  private leaseLost(lease: Lease, err: unknown): boolean {
    if (errorCode(err) !== Exception.SESSION_EXPIRED) return false;
    if (this.lease === lease) this.lease = null;
    return true;
  }

  async readCluster(): Promise<ClusterSnapshot> {
    return this.run('readCluster', async (deadline) => readScope(await this.ready(deadline), this.keys));
  }

  ensureLease(ttlSec: number): Promise<string> {
    if (!Number.isInteger(ttlSec) || ttlSec < 1) {
      return Promise.reject(new DcsError('error', 'ensureLease', `ensureLease: ttl must be a whole number of seconds >= 1, got ${ttlSec}`));
    }
    const current = this.lease;
    if (current && current.ttl === ttlSec && current.session.state !== 'expired' && current.session.state !== 'closed') {
      return Promise.resolve(current.id);
    }
    if (this.leasePending) return this.leasePending;
    const p = this.run('ensureLease', async (deadline) => {
      const session = new ZkSession(this.connectString, ttlSec * 1000, { ping: false });
      try {
        await session.ready(deadline);
      } catch (err) {
        session.close();
        throw err;
      }
      if (this.closed) {
        session.close();
        throw new DcsError('closed', 'ensureLease', 'ensureLease: the DCS client is closed');
      }
      const granted = session.timeoutMs;
      if (granted !== ttlSec * 1000) {
        session.close();
        throw new DcsError(
          'error',
          'ensureLease',
          `ensureLease: ZooKeeper granted a session timeout of ${granted} ms for ttl ${ttlSec} s; ` +
            `its minSessionTimeout/maxSessionTimeout (by default 2 and 20 x tickTime) must allow ${ttlSec * 1000} ms`,
        );
      }
      // The old session is not ended: its znodes stay until re-written on the new one or until it expires.
      this.lease?.session.drop();
      this.lease = { session, ttl: ttlSec, id: session.id! };
      return this.lease.id;
    }).finally(() => {
      this.leasePending = null;
    });
    this.leasePending = p;
    return p;
  }

  keepAlive(): Promise<boolean> {
    const lease = this.lease;
    if (!lease) return Promise.resolve(false);
    return this.run('keepAlive', async (deadline) => {
      try {
        await this.leaseSession('keepAlive', deadline);
        // Any request on the session resets its expiry on the server: this one is the keepalive.
        await lease.session.exists('/');
        return true;
      } catch (err) {
        if (this.leaseLost(lease, err)) return false;
        throw err;
      }
    });
  }

  acquireLeader(name: string): Promise<boolean> {
    return this.run('acquireLeader', async (deadline) => {
      const lease = await this.leaseSession('acquireLeader', deadline);
      try {
        await createNode(lease.session, this.keys.leader, name, true);
        return true;
      } catch (err) {
        if (errorCode(err) !== Exception.NODE_EXISTS) {
          if (this.leaseLost(lease, err)) throw this.toDcsError('acquireLeader', this.timeoutMs, err);
          throw err;
        }
      }
      // Idempotent retry: the key already holds my name on my session.
      const held = await lease.session.getData(this.keys.leader).catch((err: unknown) => {
        if (errorCode(err) === Exception.NO_NODE) return null;
        throw err;
      });
      return held !== null && held.value.data === name && idString(held.value.stat.ephemeralOwner) === lease.id;
    });
  }

  renewLeader(name: string): Promise<boolean> {
    return this.run('renewLeader', async (deadline) => {
      const lease = this.lease;
      if (!lease) throw new DcsError('lease', 'renewLeader', 'renewLeader: no lease (call ensureLease first)');
      try {
        await this.leaseSession('renewLeader', deadline);
        // This read touches the lease session (the keepalive) and checks the holder.
        const held = await lease.session.getData(this.keys.leader).catch((err: unknown) => {
          if (errorCode(err) === Exception.NO_NODE) return null;
          throw err;
        });
        if (!held || held.value.data !== name) return false;
        if (idString(held.value.stat.ephemeralOwner) === lease.id) return true;
        // My name on another session (ensureLease granted a new one): move it onto mine, atomically.
        try {
          await lease.session.multi((t) => {
            t.remove(this.keys.leader, held.value.stat.version);
            t.create(this.keys.leader, Buffer.from(name), CreateMode.EPHEMERAL);
          });
          return true;
        } catch (err) {
          const code = errorCode(err);
          if (code === Exception.BAD_VERSION || code === Exception.NO_NODE || code === Exception.NODE_EXISTS) return false;
          throw err;
        }
      } catch (err) {
        if (this.leaseLost(lease, err)) return false;
        throw err;
      }
    });
  }

  releaseLeader(name: string): Promise<boolean> {
    return this.run('releaseLeader', async (deadline) => {
      const s = await this.ready(deadline);
      try {
        const held = await s.getData(this.keys.leader);
        if (held.value.data !== name) return false;
        await s.remove(this.keys.leader, held.value.stat.version);
        return true;
      } catch (err) {
        const code = errorCode(err);
        if (code === Exception.NO_NODE || code === Exception.BAD_VERSION) return false;
        throw err;
      }
    });
  }

  touchMember(name: string, value: TMemberValue): Promise<void> {
    return this.run('touchMember', async (deadline) => {
      const lease = await this.leaseSession('touchMember', deadline);
      const path = this.keys.member(name);
      const data = JSON.stringify(value);
      try {
        for (let i = 0; i < 3; i++) {
          const stat = (await lease.session.exists(path)).value;
          try {
            if (!stat) await createNode(lease.session, path, data, true);
            else if (idString(stat.ephemeralOwner) === lease.id) await lease.session.setData(path, data, stat.version);
            else {
              // Written by an older session (or persistent): replace it with one on my session.
              await lease.session.multi((t) => {
                t.remove(path, stat.version);
                t.create(path, Buffer.from(data), CreateMode.EPHEMERAL);
              });
            }
            return;
          } catch (err) {
            const code = errorCode(err);
            if (code !== Exception.NODE_EXISTS && code !== Exception.BAD_VERSION && code !== Exception.NO_NODE) throw err;
          }
        }
        throw new DcsError('error', 'touchMember', `touchMember: members/${name} kept changing under the write`);
      } catch (err) {
        if (this.leaseLost(lease, err)) throw this.toDcsError('touchMember', this.timeoutMs, err);
        throw err;
      }
    });
  }

  deleteMember(name: string): Promise<void> {
    return this.run('deleteMember', async (deadline) => {
      await removeIfExists(await this.ready(deadline), this.keys.member(name));
    });
  }

  private write(op: string, path: string, data: string, expected?: number): Promise<number | null> {
    return this.run(op, async (deadline) => casWrite(await this.ready(deadline), path, data, expected));
  }

  claimInitialize(value: string): Promise<boolean> {
    return this.write('claimInitialize', this.keys.initialize, value, 0).then((r) => r !== null);
  }

  setInitialize(value: string): Promise<void> {
    return this.write('setInitialize', this.keys.initialize, value).then(() => undefined);
  }

  deleteInitialize(): Promise<void> {
    return this.run('deleteInitialize', async (deadline) => {
      await removeIfExists(await this.ready(deadline), this.keys.initialize);
    });
  }

  setConfig(value: TDynamicConfig, expectedModRevision?: number): Promise<boolean> {
    return this.write('setConfig', this.keys.config, JSON.stringify(value), expectedModRevision).then((r) => r !== null);
  }

  setHistory(history: THistory): Promise<void> {
    return this.write('setHistory', this.keys.history, JSON.stringify(history)).then(() => undefined);
  }

  setStatus(status: TStatus): Promise<void> {
    return this.write('setStatus', this.keys.status, JSON.stringify(status)).then(() => undefined);
  }

  setFailsafe(value: Readonly<Record<string, string>> | null): Promise<void> {
    if (value !== null) return this.write('setFailsafe', this.keys.failsafe, JSON.stringify(value)).then(() => undefined);
    return this.run('setFailsafe', async (deadline) => {
      await removeIfExists(await this.ready(deadline), this.keys.failsafe);
    });
  }

  setFailover(value: TFailoverValue, expectedModRevision?: number): Promise<number | null> {
    return this.write('setFailover', this.keys.failover, JSON.stringify(value), expectedModRevision);
  }

  deleteFailover(expectedModRevision?: number): Promise<boolean> {
    return this.run('deleteFailover', async (deadline) => {
      const s = await this.ready(deadline);
      if (expectedModRevision === undefined) return removeIfExists(s, this.keys.failover);
      const stat = (await s.exists(this.keys.failover)).value;
      if (!stat || zxidNumber(stat.mzxid) !== expectedModRevision) return false;
      return removeIfExists(s, this.keys.failover, stat.version);
    });
  }

  setSync(value: TSyncValue, expectedModRevision?: number, whileLeader?: string): Promise<boolean> {
    if (whileLeader === undefined) return this.write('setSync', this.keys.sync, JSON.stringify(value), expectedModRevision).then((r) => r !== null);
    return this.run('setSync', async (deadline) => {
      const s = await this.ready(deadline);
      const leader = await readNode(s, this.keys.leader);
      if (!leader || leader.data !== whileLeader) return false;
      const sync = await readNode(s, this.keys.sync);
      if (expectedModRevision === 0 ? sync !== null : expectedModRevision !== undefined && (!sync || sync.mzxid !== expectedModRevision)) return false;
      const data = Buffer.from(JSON.stringify(value));
      await s.mkdirp(this.dir()).catch((e: unknown) => {
        if (errorCode(e) !== Exception.NODE_EXISTS) throw e;
      });
      // One multi-op: the leader znode is still the one read (version), and /sync too.
      return multiOk(
        s.multi((t) => {
          t.check(this.keys.leader, leader.version);
          if (sync) t.setData(this.keys.sync, data, sync.version);
          else t.create(this.keys.sync, data, CreateMode.PERSISTENT);
        }),
      );
    });
  }

  /**
   * A ZooKeeper client cannot see another client's session: its remaining time is unknown, so
   * nobody takes over early; the leader znode goes when the leader's session expires.
   */
  leaseTimeToLive(lease: string): Promise<LeaseTtl> {
    void lease;
    return this.run('leaseTimeToLive', () => Promise.resolve<LeaseTtl>({ state: 'unknown' }));
  }

  takeOverLeader(req: TakeoverRequest): Promise<boolean> {
    return this.run('takeOverLeader', async (deadline) => {
      const lease = await this.leaseSession('takeOverLeader', deadline);
      const s = lease.session;
      const leader = await readNode(s, this.keys.leader);
      if (!leader || leader.data !== req.oldLeader || leader.mzxid !== req.leaderModRevision) return false;
      const sync = await readNode(s, this.keys.sync);
      if (!sync || sync.mzxid !== req.syncModRevision) return false;
      let parsed: unknown;
      try {
        parsed = JSON.parse(sync.data);
      } catch {
        return false;
      }
      const v = ZSyncValue.safeParse(parsed);
      if (!v.success || !syncStandbyList(v.data).includes(req.name)) return false;
      // One multi-op on my lease session: /sync and /leader are still the versions read; the old
      // leader's znode is replaced by mine.
      return multiOk(
        s.multi((t) => {
          t.check(this.keys.sync, sync.version);
          t.remove(this.keys.leader, leader.version);
          t.create(this.keys.leader, Buffer.from(req.name), CreateMode.EPHEMERAL);
        }),
      );
    });
  }

  watchLeader(onEvent: (event: LeaderEvent) => void, options?: WatchOptions): Promise<() => Promise<void>> {
    return this.watchNode('watchLeader', this.keys.leader, onEvent, options);
  }

  watchFailover(onEvent: (event: LeaderEvent) => void, options?: WatchOptions): Promise<() => Promise<void>> {
    return this.watchNode('watchFailover', this.keys.failover, onEvent, options);
  }

  watchMembers(onJoin: (member: string) => void, options?: WatchOptions): Promise<() => Promise<void>> {
    const path = this.keys.membersPrefix.slice(0, -1);
    return this.watchWith('watchMembers', () => new ChildrenWatch(path, () => this.readSession(), onJoin, options?.onStatus));
  }

  private watchNode(op: string, path: string, onEvent: (event: LeaderEvent) => void, options?: WatchOptions): Promise<() => Promise<void>> {
    return this.watchWith(op, () => new NodeWatch(path, () => this.readSession(), onEvent, options?.onStatus));
  }

  private watchWith(op: string, make: () => ZkWatch): Promise<() => Promise<void>> {
    return this.run(op, async (deadline) => {
      await this.ready(deadline);
      const w = make();
      this.watches.add(w);
      try {
        await w.rearm();
      } catch (err) {
        this.watches.delete(w);
        w.cancel();
        throw err;
      }
      return async () => {
        w.cancel();
        this.watches.delete(w);
      };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watches) w.cancel();
    this.watches.clear();
    // The lease session is abandoned, not ended: like an unrevoked etcd lease, it expires on its own.
    this.lease?.session.drop();
    this.lease = null;
    this.main?.close();
    this.main = null;
  }
}
