import { createRequire } from 'node:module';
import type zkModule from 'node-zookeeper-client';
import type { Client, Event as ZkEvent, Stat } from 'node-zookeeper-client';

/**
 * One ZooKeeper session (node-zookeeper-client@1.1.3, pure JavaScript), with promise-returning
 * operations and the two changes the Dcs needs from the library:
 *
 * - `ping: false` turns off the library's background pings (it pings when the socket has been idle
 *   for a third of the session timeout). Then only our own requests touch the session, so a session
 *   nobody uses expires on the server after its timeout, exactly like an etcd lease nobody keeps
 *   alive. The lease session of ZooKeeperDcs runs like this.
 * - drop() abandons the session without sending closeSession: the socket is destroyed and never
 *   re-opened, so the server keeps the session (and its ephemeral znodes) until its timeout, like an
 *   etcd lease that is not revoked. close() ends the session at once (its ephemerals go with it).
 */

let lib: typeof zkModule | undefined;
/**
 * node-zookeeper-client, loaded on first use: an agent whose DCS is etcd never loads it (its idle
 * memory is budgeted, ARCHITECTURE.md "Footprint"; the built agent keeps it out of its bundle).
 */
function zookeeper(): typeof zkModule {
  return (lib ??= createRequire(import.meta.url)('node-zookeeper-client') as typeof zkModule);
}
/** One of the library's tables of constants, read through to the library on first use. */
function constants<K extends 'CreateMode' | 'Exception' | 'State' | 'Event'>(key: K): (typeof zkModule)[K] {
  return new Proxy({}, { get: (_t, name) => Reflect.get(zookeeper()[key], name) }) as (typeof zkModule)[K];
}
export const CreateMode = constants('CreateMode');
export const Exception = constants('Exception');
const State = constants('State');
/** ZooKeeper's watch event types. */
export const ZkEventType = constants('Event');

export type SessionState = 'connecting' | 'connected' | 'disconnected' | 'expired' | 'closed';

/** The library's private connection manager: the fields we read or override. */
interface ConnectionManager {
  zxid: Buffer;
  socket?: { destroy(): void };
  onSocketTimeout(): void;
  onSocketData(buffer: Buffer): void;
  connect(): void;
}

/** A ZooKeeper error code (Exception.*) with the operation's path, or a connection problem. */
export class ZkError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ZkResult<T> {
  value: T;
  /** The zxid of the reply: the write's own zxid for a write, the server's last zxid for a read. */
  zxid: number;
}

/** A 64-bit big-endian id (session id, zxid) as a decimal string. */
export function idString(b: Buffer): string {
  return b.readBigUInt64BE(0).toString();
}

/** A zxid as a number: epoch << 32 | counter stays below 2^53 for any realistic epoch. */
export function zxidNumber(b: Buffer): number {
  return Number(b.readBigUInt64BE(0));
}

export function errorCode(err: unknown): number | null {
  if (err instanceof ZkError) return err.code;
  if (err && typeof err === 'object' && 'getCode' in err && typeof (err as { getCode: unknown }).getCode === 'function') {
    return (err as { getCode(): number }).getCode();
  }
  return null;
}

export class ZkSession {
  readonly client: Client;
  private cm: ConnectionManager;
  private current: SessionState = 'connecting';
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(s: SessionState) => void>();

  private lastHeard = Date.now();
  private readonly liveness: NodeJS.Timeout;

  constructor(connectString: string, sessionTimeoutMs: number, opts: { ping: boolean }) {
    this.client = zookeeper().createClient(connectString, { sessionTimeout: sessionTimeoutMs, spinDelay: 200, retries: 0 });
    this.cm = (this.client as unknown as { connectionManager: ConnectionManager }).connectionManager;
    if (!opts.ping) this.cm.onSocketTimeout = () => undefined;
    // The library has no read timeout: a connection that went silent (a partition, a hung server)
    // is never noticed. Track when the server last sent anything and drop a silent connection so
    // the library reconnects (to the next host): with pings, after 2/3 of the session timeout
    // without an answer; without pings (the lease session), only a handshake that gets no answer.
    const onData = this.cm.onSocketData;
    this.cm.onSocketData = (buffer: Buffer) => {
      this.lastHeard = Date.now();
      onData.call(this.cm, buffer);
    };
    this.liveness = setInterval(() => {
      const silent = Date.now() - this.lastHeard;
      const timeout = this.client.getSessionTimeout() || sessionTimeoutMs;
      if (this.current === 'connected' ? opts.ping && silent > (timeout * 2) / 3 : silent > Math.max(2000, timeout / 3)) {
        if (this.current === 'expired' || this.current === 'closed') return;
        this.lastHeard = Date.now();
        this.cm.socket?.destroy();
      }
    }, 500);
    this.liveness.unref();
    this.client.on('state', (s) => {
      this.lastHeard = Date.now();
      const next: SessionState =
        s === State.SYNC_CONNECTED || s === State.CONNECTED_READ_ONLY
          ? 'connected'
          : s === State.EXPIRED
            ? 'expired'
            : s === State.DISCONNECTED
              ? 'disconnected'
              : this.current;
      if (this.current === 'closed' || this.current === 'expired') return;
      this.current = next;
      if (next === 'expired') clearInterval(this.liveness);
      for (const w of [...this.waiters]) w();
      for (const l of [...this.listeners]) l(next);
    });
    this.client.connect();
  }

  get state(): SessionState {
    return this.current;
  }

  /** The session id (decimal), or null before the first connection. */
  get id(): string | null {
    const s = idString(this.client.getSessionId());
    return s === '0' ? null : s;
  }

  /** The session timeout the server granted (ms). */
  get timeoutMs(): number {
    return this.client.getSessionTimeout();
  }

  onState(listener: (s: SessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once the session is connected; rejects with ZkError(SESSION_EXPIRED) when it expired,
   * ZkError(SESSION_EXPIRED) also when it was closed or dropped, and never waits past `deadline` (ms since epoch).
   */
  ready(deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const check = (): boolean => {
        if (this.current === 'connected') resolve();
        else if (this.current === 'expired') reject(new ZkError(Exception.SESSION_EXPIRED, 'the ZooKeeper session expired'));
        else if (this.current === 'closed') reject(new ZkError(Exception.SESSION_EXPIRED, 'the ZooKeeper session was closed'));
        else if (Date.now() >= deadline) reject(new ZkError(Exception.OPERATION_TIMEOUT, 'no connection to ZooKeeper'));
        else return false;
        return true;
      };
      if (check()) return;
      const waiter = () => {
        if (check()) done();
      };
      const done = () => {
        this.waiters.delete(waiter);
        clearTimeout(timer);
      };
      this.waiters.add(waiter);
      const timer = setTimeout(waiter, Math.max(0, deadline - Date.now()));
    });
  }

  private zxid(): number {
    return zxidNumber(this.cm.zxid);
  }

  private call<T>(start: (cb: (err: unknown, value?: T) => void) => void): Promise<ZkResult<T>> {
    return new Promise((resolve, reject) => {
      start((err, value) => {
        if (err) reject(err);
        else resolve({ value: value as T, zxid: this.zxid() });
      });
    });
  }

  create(path: string, data: string, mode: number): Promise<ZkResult<string>> {
    return this.call((cb) => this.client.create(path, Buffer.from(data), mode, cb));
  }

  /** Creates every missing persistent node of `path` (no-op for existing ones). */
  mkdirp(path: string): Promise<ZkResult<string>> {
    return this.call((cb) => this.client.mkdirp(path, cb));
  }

  getData(path: string, watcher?: (e: ZkEvent) => void): Promise<ZkResult<{ data: string; stat: Stat }>> {
    return this.call((cb) => {
      const done = (err: unknown, data: Buffer, stat: Stat) => cb(err, { data: data ? data.toString('utf8') : '', stat });
      if (watcher) this.client.getData(path, watcher, done);
      else this.client.getData(path, done);
    });
  }

  setData(path: string, data: string, version = -1): Promise<ZkResult<Stat>> {
    return this.call((cb) => this.client.setData(path, Buffer.from(data), version, cb));
  }

  exists(path: string, watcher?: (e: ZkEvent) => void): Promise<ZkResult<Stat | null>> {
    return this.call((cb) => {
      const done = (err: unknown, stat: Stat) => cb(err, stat ?? null);
      if (watcher) this.client.exists(path, watcher, done);
      else this.client.exists(path, done);
    });
  }

  getChildren(path: string, watcher?: (e: ZkEvent) => void): Promise<ZkResult<string[]>> {
    return this.call((cb) => {
      const done = (err: unknown, children: string[]) => cb(err, children);
      if (watcher) this.client.getChildren(path, watcher, done);
      else this.client.getChildren(path, done);
    });
  }

  remove(path: string, version = -1): Promise<ZkResult<null>> {
    return this.call((cb) => this.client.remove(path, version, (err) => cb(err, null)));
  }

  /** A multi-op: all or nothing. Rejects with the first failing operation's error. */
  multi(build: (t: ReturnType<Client['transaction']>) => void): Promise<ZkResult<unknown>> {
    const t = this.client.transaction();
    build(t);
    return this.call((cb) => t.commit((err, results) => cb(err, results)));
  }

  /** Forces a reconnect (to the next host), keeping the session: used after a call timed out. */
  reconnect(): void {
    if (this.current === 'closed' || this.current === 'expired') return;
    this.lastHeard = Date.now();
    this.cm.socket?.destroy();
  }

  /** Abandons the session without ending it: it expires on the server after its timeout. */
  drop(): void {
    if (this.current === 'closed') return;
    this.current = 'closed';
    this.dropSocket();
    for (const w of [...this.waiters]) w();
  }

  private dropSocket(): void {
    clearInterval(this.liveness);
    this.cm.connect = () => undefined;
    this.cm.socket?.destroy();
  }

  /** Ends the session now (its ephemeral znodes are deleted). */
  close(): void {
    if (this.current === 'closed') return;
    const wasConnected = this.current === 'connected';
    this.current = 'closed';
    clearInterval(this.liveness);
    for (const w of [...this.waiters]) w();
    if (wasConnected) this.client.close();
    else this.dropSocket();
  }
}
