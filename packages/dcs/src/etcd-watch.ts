import { b64, EtcdConnectionError, EtcdRpcError, isHostFailure, isInvalidToken, prefixEnd, unb64, type EtcdHttp, type JHeader, type JKv } from './etcd-http.ts';
import type { LeaderEvent, WatchOptions, WatchStatus } from './types.ts';

/** One message of the /v3/watch stream (etcdserverpb.WatchResponse as JSON). */
interface WatchResult {
  header?: JHeader;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: Array<{ type?: 'PUT' | 'DELETE'; kv?: JKv }>;
}

export interface KeyWatchTiming {
  /** The current call timeout: how long a (re)connection may take to be confirmed. */
  timeoutMs: () => number;
  /** With no message on the stream and no answer from its host for this long, the host is probed (read at each check). */
  keepaliveTimeMs: () => number;
  /** How long that probe may take before the stream is declared dead and re-established. */
  keepaliveTimeoutMs: number;
}

/**
 * One watch on one key over the gateway's streaming POST /v3/watch, kept alive across failures:
 * - a (re)connection must be confirmed (`created`) within the call timeout, else it is retried;
 * - after an error or the end of the stream it reconnects (100 ms doubling to 2 s, to the host
 *   HostHealth picks) and resumes at the revision after the last one seen, so nothing is missed;
 * - when etcd cancels the watch (the revision to resume from was compacted) it starts afresh and
 *   reports the key's current value;
 * - a silent connection is noticed without a stream of pings: when neither the stream nor its
 *   host said anything for keepaliveTimeMs, one cheap range request (count only) probes the host,
 *   and a probe without an answer within keepaliveTimeoutMs restarts the watch. While the agent's
 *   own requests keep reaching the host, nothing extra is sent (the watch socket also has TCP
 *   keepalive on), and the watches on one host share one probe (EtcdHttp.probeHost). When any
 *   request to the watch's host fails at the connection level, the host is probed at once instead
 *   of after the quiet time.
 * The caller's callbacks are isolated: what they throw never breaks the watch.
 */
export class KeyWatch {
  private cancelled = false;
  private gen = 0;
  private abort: (() => void) | null = null;
  private host: string | null = null;
  private connected = false;
  /** The revision to resume from (undefined: from now). */
  private nextRev: number | undefined;
  private resyncOnCreate = false;
  private backoffMs = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private createTimer: NodeJS.Timeout | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private lastDataAt = 0;
  private firstConnect: ((ok: boolean) => void) | null = null;
  private unsubscribeDown: (() => void) | null = null;
  /** The generation whose probe is in flight (-1: none). */
  private probingGen = -1;

  constructor(
    private readonly client: EtcdHttp,
    private readonly key: string,
    private readonly onEvent: (event: LeaderEvent) => void,
    private readonly options: WatchOptions,
    private readonly timing: KeyWatchTiming,
    /**
     * Watch every key under `key` (a prefix) instead, and report only the keys created (version 1),
     * by their name under the prefix, as a put with that name as its value (watchMembers). Deletions
     * are filtered out by etcd; after a compaction nothing is replayed.
     */
    private readonly createdUnderPrefix = false,
  ) {}

  /** Starts the watch; resolves true once etcd confirmed it, false after `ms` (it keeps trying until cancel()). */
  start(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.firstConnect = null;
        resolve(false);
      }, ms);
      this.firstConnect = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
      void this.connect();
    });
  }

  private async connect(): Promise<void> {
    if (this.cancelled) return;
    // another request to this host failed: do not wait for the quiet time to find out whether the stream is dead too
    this.unsubscribeDown ??= this.client.health.onDown((h) => {
      if (h === this.host && this.connected) this.check(this.gen, true);
    });
    const gen = ++this.gen;
    const host = this.client.health.pick();
    this.host = host;
    const ms = this.timing.timeoutMs();
    this.createTimer = setTimeout(() => this.fail(gen, new EtcdConnectionError(host, `the watch was not confirmed within ${ms} ms`, true)), ms);
    let token: string | null;
    try {
      token = await this.client.authToken(host, Date.now() + ms);
    } catch (err) {
      this.fail(gen, err as Error);
      return;
    }
    if (gen !== this.gen || this.cancelled) return;
    const create: Record<string, unknown> = { key: b64(this.key) };
    if (this.createdUnderPrefix) Object.assign(create, { range_end: prefixEnd(this.key), filters: ['NODELETE'] });
    if (this.nextRev !== undefined) create.start_revision = String(this.nextRev);
    this.abort = this.client.stream(host, '/v3/watch', { create_request: create }, token, {
      onMessage: (m) => this.onMessage(gen, host, m as { result?: WatchResult }),
      onEnd: (err) => this.fail(gen, err ?? new Error('the watch stream ended')),
    });
  }

  private onMessage(gen: number, host: string, m: { result?: WatchResult }): void {
    if (gen !== this.gen || this.cancelled) return;
    this.lastDataAt = Date.now();
    const r: WatchResult = m.result ?? (m as WatchResult);
    const rev = r.header?.revision !== undefined ? Number(r.header.revision) : undefined;
    if (r.created) {
      if (r.canceled) {
        const reason = r.cancel_reason ?? 'no reason given';
        const err = new EtcdRpcError(/invalid auth token/.test(reason) ? 16 : 2, `etcd refused the watch: ${reason}`);
        if (isInvalidToken(err)) this.client.dropToken();
        this.fail(gen, err);
        return;
      }
      this.clearTimer('createTimer');
      if (this.nextRev === undefined && rev !== undefined) this.nextRev = rev + 1;
      this.connected = true;
      this.backoffMs = 0;
      this.client.health.markUp(host);
      this.status('connected');
      this.firstConnect?.(true);
      this.firstConnect = null;
      this.scheduleCheck(gen, this.timing.keepaliveTimeMs());
      if (this.resyncOnCreate) {
        this.resyncOnCreate = false;
        void this.resync();
      }
      return;
    }
    if (r.canceled) {
      // etcd dropped the watch; when the revision to resume from was compacted, start from now and resync
      if (r.compact_revision !== undefined) {
        this.nextRev = undefined;
        this.resyncOnCreate = true;
      }
      this.fail(gen, new EtcdRpcError(2, `etcd cancelled the watch${r.cancel_reason ? `: ${r.cancel_reason}` : ''}`), 200);
      return;
    }
    for (const e of r.events ?? []) {
      if (this.createdUnderPrefix) {
        if (e.type !== 'DELETE' && e.kv?.version === '1') this.emit({ type: 'put', value: unb64(e.kv.key).slice(this.key.length) });
      } else this.emit(e.type === 'DELETE' ? { type: 'delete', value: null } : { type: 'put', value: unb64(e.kv?.value) });
      const mr = Number(e.kv?.mod_revision ?? 0);
      if (mr + 1 > (this.nextRev ?? 0)) this.nextRev = mr + 1;
    }
    if (rev !== undefined && rev + 1 > (this.nextRev ?? 0)) this.nextRev = rev + 1;
  }

  /** This connection failed: report it once, then reconnect after a pause. */
  private fail(gen: number, err: Error, delayMs?: number): void {
    if (gen !== this.gen || this.cancelled) return;
    this.gen++; // whatever the old stream still says is ignored
    this.clearTimer('createTimer');
    this.clearTimer('checkTimer');
    this.abort?.();
    this.abort = null;
    if (this.host !== null && isHostFailure(err)) this.client.health.markDown(this.host);
    if (this.connected) {
      this.connected = false;
      this.status('disconnected', err);
    }
    this.backoffMs = Math.min(Math.max(100, this.backoffMs * 2), 2000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delayMs ?? this.backoffMs);
  }

  private scheduleCheck(gen: number, ms: number): void {
    this.checkTimer = setTimeout(() => this.check(gen), ms);
  }

  private check(gen: number, now = false): void {
    if (gen !== this.gen || this.cancelled || this.host === null || this.probingGen === gen) return;
    this.clearTimer('checkTimer');
    const host = this.host;
    const quiet = Date.now() - Math.max(this.lastDataAt, this.client.health.lastOkAt(host));
    if (!now && quiet < this.timing.keepaliveTimeMs()) {
      this.scheduleCheck(gen, this.timing.keepaliveTimeMs() - quiet);
      return;
    }
    this.probingGen = gen;
    this.client.probeHost(host, this.key, Date.now() + this.timing.keepaliveTimeoutMs).then(
      () => {
        if (this.probingGen === gen) this.probingGen = -1;
        if (gen === this.gen) this.scheduleCheck(gen, this.timing.keepaliveTimeMs());
      },
      (err: unknown) => {
        if (this.probingGen === gen) this.probingGen = -1;
        if (gen !== this.gen) return;
        if (isHostFailure(err)) this.fail(gen, err as Error);
        else this.scheduleCheck(gen, this.timing.keepaliveTimeMs()); // etcd answered (e.g. permission denied): the host is alive
      },
    );
  }

  private async resync(): Promise<void> {
    if (this.createdUnderPrefix) return; // creations missed during a compaction are not replayed
    try {
      const res = await this.client.call<{ kvs?: JKv[] }>('/v3/kv/range', { key: b64(this.key) }, Date.now() + this.timing.timeoutMs());
      const kv = res.kvs?.[0];
      this.emit(kv ? { type: 'put', value: unb64(kv.value) } : { type: 'delete', value: null });
    } catch {
      // the caller reads the cluster every tick anyway
    }
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

  private clearTimer(which: 'createTimer' | 'checkTimer' | 'retryTimer'): void {
    const t = this[which];
    if (t) clearTimeout(t);
    this[which] = null;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.gen++;
    this.unsubscribeDown?.();
    this.unsubscribeDown = null;
    this.clearTimer('createTimer');
    this.clearTimer('checkTimer');
    this.clearTimer('retryTimer');
    this.abort?.();
    this.abort = null;
    this.firstConnect = null;
  }
}
