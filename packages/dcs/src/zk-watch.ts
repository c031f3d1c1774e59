import type { Event as ZkEvent } from 'node-zookeeper-client';
import type { LeaderEvent } from './types.ts';
import { Exception, ZkEventType, errorCode, zxidNumber, type ZkSession } from './zk-session.ts';

/**
 * What the ZooKeeper watches share: ZooKeeper watches fire once and carry no value, so each event
 * re-arms the watch (arm(), one at a time) and reports the difference from the last state seen; the
 * session's state is passed on to onStatus; what the callbacks throw never breaks the watch.
 */
abstract class ZkWatchBase<E> {
  protected cancelled = false;
  private chain: Promise<void> = Promise.resolve();
  private lastStatus: 'connected' | 'disconnected' = 'connected';

  constructor(
    protected readonly path: string,
    protected readonly session: () => ZkSession,
    private readonly onEvent: (event: E) => void,
    private readonly onStatus?: (status: 'connected' | 'disconnected', error?: Error) => void,
  ) {}

  protected abstract arm(): Promise<void>;

  protected emit(event: E): void {
    if (this.cancelled) return;
    try {
      this.onEvent(event);
    } catch {
      // a throwing callback must not break the watch
    }
  }

  status(s: 'connected' | 'disconnected'): void {
    if (this.cancelled || s === this.lastStatus) return;
    this.lastStatus = s;
    try {
      this.onStatus?.(s);
    } catch {
      // never thrown into the watch
    }
  }

  cancel(): void {
    this.cancelled = true;
  }

  /** Arms the watch and reports what changed since the last state seen (nothing the first time). */
  rearm(): Promise<void> {
    const next = this.chain.then(() => this.arm());
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The watcher to pass to ZooKeeper: any event re-arms. */
  protected onFire(): void {
    if (this.cancelled) return;
    void this.rearm().catch(() => this.retryLater());
  }

  private retryLater(): void {
    if (this.cancelled) return;
    setTimeout(() => void this.rearm().catch(() => this.retryLater()), 500);
  }
}

/** What the DCS keeps of each watch: re-armed on a new session, told the session's state, cancelled. */
export interface ZkWatch {
  status(s: 'connected' | 'disconnected'): void;
  rearm(): Promise<void>;
  cancel(): void;
}

/**
 * One znode watched for existence and content: a put with the value (read right after) when the
 * znode appeared, changed or an event said so; a delete when it is gone. A put whose znode is gone
 * again before its value could be read is reported as a put with the empty string, then the delete:
 * no change is lost, only overwritten values are.
 */
export class NodeWatch extends ZkWatchBase<LeaderEvent> {
  private present: { mzxid: number } | null | undefined = undefined;
  /** A create or data-change event arrived that has not been reported yet. */
  private putPending = false;

  protected async arm(): Promise<void> {
    if (this.cancelled) return;
    const s = this.session();
    const watcher = (e: ZkEvent) => {
      if (this.cancelled) return;
      const type = e.getType();
      if (type === ZkEventType.NODE_DELETED) {
        if (this.putPending) {
          this.putPending = false;
          this.emit({ type: 'put', value: '' });
          this.present = { mzxid: -1 };
        }
        if (this.present) {
          this.present = null;
          this.emit({ type: 'delete', value: null });
        }
      } else if (type === ZkEventType.NODE_CREATED || type === ZkEventType.NODE_DATA_CHANGED) {
        this.putPending = true;
      }
      this.onFire();
    };
    const stat = (await s.exists(this.path, watcher)).value;
    const first = this.present === undefined;
    if (!stat) {
      if (this.putPending) {
        this.putPending = false;
        this.emit({ type: 'put', value: '' });
        this.present = { mzxid: -1 };
      }
      if (!first && this.present) this.emit({ type: 'delete', value: null });
      this.present = null;
      return;
    }
    const mzxid = zxidNumber(stat.mzxid);
    if (first) {
      this.present = { mzxid };
      return;
    }
    if (this.present?.mzxid === mzxid && !this.putPending) return;
    this.putPending = false;
    try {
      const got = await s.getData(this.path);
      this.present = { mzxid: zxidNumber(got.value.stat.mzxid) };
      this.emit({ type: 'put', value: got.value.data });
    } catch (err) {
      if (errorCode(err) !== Exception.NO_NODE) throw err;
      // gone again before it could be read: the put, then the exists watch set above reports the delete
      this.present = { mzxid };
      this.emit({ type: 'put', value: '' });
    }
  }
}

/**
 * The children of one znode (members/): each child that appears is reported by its name. Removals
 * are not reported. If the znode does not exist yet, its creation is watched.
 */
export class ChildrenWatch extends ZkWatchBase<string> {
  private known: Set<string> | null = null;

  protected async arm(): Promise<void> {
    if (this.cancelled) return;
    const s = this.session();
    const watcher = () => this.onFire();
    let children: string[];
    try {
      children = (await s.getChildren(this.path, watcher)).value;
    } catch (err) {
      if (errorCode(err) !== Exception.NO_NODE) throw err;
      if ((await s.exists(this.path, watcher)).value) return this.arm(); // created meanwhile
      children = [];
    }
    const now = new Set(children);
    if (this.known !== null) for (const c of now) if (!this.known.has(c)) this.emit(c);
    this.known = now;
  }
}
