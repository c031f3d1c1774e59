/**
 * The ingest's write path for snapshots: coalesce per member (a newer snapshot of the same member
 * replaces an unstored older one taken in the same second, or when both are live traffic, taken in
 * the last 5 s: while the database is behind, the newest wins and the queue stays at one snapshot
 * per member; a replay of older snapshots from the agent's buffer keeps one per second) and store what accumulated in one statement per flush
 * (services/store-agent-message.ts, storeSnapshots).
 *
 * At one snapshot per agent per second, 3,000 agents used to mean 3,000 statements a second, one
 * round trip each; now a flush every `intervalMs` (and never two at once: while one runs, the next
 * batch accumulates) writes a few hundred members at a time. When the database falls behind, the
 * batches simply grow and the agents are acknowledged later (an ack follows the write; the agent
 * holds what is unacknowledged, within its own bounded buffer): that is the backpressure. Nothing is
 * dropped on the socket. A replay after a reconnect (one snapshot per second of the outage) is kept
 * whole, in the same few statements.
 *
 * submit() resolves once the snapshot (or a newer one of the same member) is stored, with whether it
 * was stored or superseded/duplicate, and rejects when the flush failed (the connection then says so
 * and closes, as for any store failure).
 */
import type { TSnapshot } from '@keel/protocol';

export interface TBatchEntry {
  memberId: string;
  snapshot: TSnapshot;
}

export interface TSnapshotBatcherOptions {
  /** Store these; resolve with the ids of the members whose row advanced. */
  store(entries: TBatchEntry[]): Promise<Set<string>>;
  /** After a flush: each advanced member's newest snapshot. */
  stored?(entries: TBatchEntry[]): void;
  intervalMs: number;
  /** Server clock (tests). */
  now?: () => number;
  /** Most snapshots per statement (roughly: whole members are taken; the rest waits for the next flush). */
  maxBatch: number;
}

interface Waiter {
  resolve(stored: boolean): void;
  reject(e: unknown): void;
}

interface Pending {
  memberId: string;
  /** Oldest first, at most one per second of `at`. */
  snapshots: TSnapshot[];
  waiters: Waiter[];
}

const secondOf = (s: TSnapshot) => Math.floor(Date.parse(s.at) / 1000);
/** Snapshots taken this recently are live traffic: while the database is behind, the newest wins. */
const LIVE_MS = 5_000;

export class SnapshotBatcher {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Counters for the log and the bench. */
  readonly stats = { flushes: 0, stored: 0, superseded: 0, lastBatch: 0, lastFlushMs: 0 };

  constructor(private readonly opts: TSnapshotBatcherOptions) {}

  /** Taken in the last LIVE_MS: current traffic, not a replay from the agent's buffer. */
  private isLive(s: TSnapshot): boolean {
    return Date.parse(s.at) >= (this.opts.now ?? Date.now)() - LIVE_MS;
  }

  get size(): number {
    return this.pending.size;
  }

  submit(memberId: string, snapshot: TSnapshot): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('the control plane is shutting down'));
    return new Promise<boolean>((resolve, reject) => {
      let p = this.pending.get(memberId);
      if (!p) {
        p = { memberId, snapshots: [], waiters: [] };
        this.pending.set(memberId, p);
      }
      const last = p.snapshots[p.snapshots.length - 1];
      if (last && last.seq >= snapshot.seq) return resolve(false);
      if (last && (secondOf(last) === secondOf(snapshot) || (this.isLive(last) && this.isLive(snapshot)))) {
        p.snapshots[p.snapshots.length - 1] = snapshot;
        this.stats.superseded++;
      } else p.snapshots.push(snapshot);
      p.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing of this member waits to be stored (before storing its next event). */
  async settled(memberId: string): Promise<void> {
    while (this.pending.has(memberId) || this.running) {
      if (!this.pending.has(memberId) && this.running) {
        // a flush may hold this member's snapshot right now
        await this.running.catch(() => undefined);
        continue;
      }
      await new Promise<void>((resolve) => {
        const p = this.pending.get(memberId);
        if (!p) return resolve();
        p.waiters.push({ resolve: () => resolve(), reject: () => resolve() });
      });
    }
  }

  private schedule(): void {
    if (this.timer || this.running || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.flush().finally(() => {
        this.running = null;
        if (this.pending.size > 0) this.schedule();
      });
    }, this.opts.intervalMs);
  }

  private async flush(): Promise<void> {
    const batch: Pending[] = [];
    let rows = 0;
    for (const [id, p] of this.pending) {
      batch.push(p);
      rows += p.snapshots.length;
      this.pending.delete(id);
      if (rows >= this.opts.maxBatch) break;
    }
    if (batch.length === 0) return;
    const t0 = performance.now();
    let storedIds: Set<string>;
    try {
      storedIds = await this.opts.store(batch.flatMap(({ memberId, snapshots }) => snapshots.map((snapshot) => ({ memberId, snapshot }))));
    } catch (e) {
      for (const p of batch) for (const w of p.waiters) w.reject(e);
      return;
    }
    this.stats.flushes++;
    this.stats.lastBatch = rows;
    this.stats.lastFlushMs = Math.round(performance.now() - t0);
    // the newest snapshot of each member whose row advanced is what browsers need
    const stored = batch.filter((p) => storedIds.has(p.memberId)).map((p) => ({ memberId: p.memberId, snapshot: p.snapshots[p.snapshots.length - 1] as TSnapshot }));
    this.stats.stored += stored.length;
    if (stored.length > 0) this.opts.stored?.(stored);
    for (const p of batch) {
      const ok = storedIds.has(p.memberId);
      for (const w of p.waiters) w.resolve(ok);
    }
  }

  /** Store what is pending now (shutdown), then refuse new snapshots. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    while (this.pending.size > 0) await this.flush();
    this.closed = true;
  }
}
