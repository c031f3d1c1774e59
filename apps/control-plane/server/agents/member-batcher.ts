/**
 * What the ingest's two write paths share (snapshot-batcher.ts, event-batcher.ts): work pending per
 * member, one flush every `intervalMs` and never two at once (while one runs, the next batch
 * accumulates), whole members taken per flush up to about `maxBatch` rows, counters for the log and
 * the bench, settled() for ordering a member's snapshots and events, and close() storing what is left.
 * A subclass says how to count, write and answer a batch.
 */

export interface TBatcherTiming {
  intervalMs: number;
  /** Most rows per flush (roughly: whole members are taken; the rest waits for the next flush). */
  maxBatch: number;
}

/** A member's pending work: the subclass's fields plus the settled() callers. */
export interface TPendingWork {
  settle: Array<() => void>;
}

export abstract class MemberBatcher<P extends TPendingWork, R> {
  protected readonly pending = new Map<string, P>();
  /** Members whose work the running flush is storing. */
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  /** Counters for the log and the bench (`superseded`: snapshots only). */
  readonly stats = { flushes: 0, stored: 0, superseded: 0, lastBatch: 0, lastFlushMs: 0 };

  protected constructor(private readonly timing: TBatcherTiming) {}

  /** Rows this member's pending work holds. */
  protected abstract rowsOf(p: P): number;
  /** Store a batch (may throw: every waiter in it is then rejected through failed()). */
  protected abstract write(batch: P[]): Promise<R>;
  /** Answer the waiters of a stored batch. */
  protected abstract done(batch: P[], result: R): void;
  /** Reject the waiters of a batch that could not be stored. */
  protected abstract failed(batch: P[], e: unknown): void;

  get size(): number {
    return this.pending.size;
  }

  /** Add to a member's pending work (created by `fresh`); refused once closed. */
  protected enqueue<T>(memberId: string, fresh: () => P, add: (p: P, resolve: (v: T) => void, reject: (e: unknown) => void) => void): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the control plane is shutting down'));
    return new Promise<T>((resolve, reject) => {
      let p = this.pending.get(memberId);
      if (!p) {
        p = fresh();
        this.pending.set(memberId, p);
      }
      add(p, resolve, reject);
      this.schedule();
    });
  }

  /** Resolves once nothing of this member waits to be stored or is being stored. */
  async settled(memberId: string): Promise<void> {
    while (this.pending.has(memberId) || this.inFlight.has(memberId)) {
      const p = this.pending.get(memberId);
      if (!p) {
        await this.running?.catch(() => undefined);
        continue;
      }
      await new Promise<void>((resolve) => p.settle.push(resolve));
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
    }, this.timing.intervalMs);
  }

  /** One batch. Never throws. */
  private async flush(): Promise<void> {
    const batch: P[] = [];
    let rows = 0;
    for (const [memberId, p] of this.pending) {
      batch.push(p);
      rows += this.rowsOf(p);
      this.pending.delete(memberId);
      this.inFlight.add(memberId);
      if (rows >= this.timing.maxBatch) break;
    }
    if (batch.length === 0) return;
    const t0 = performance.now();
    let result: R;
    try {
      result = await this.write(batch);
    } catch (e) {
      this.inFlight.clear();
      this.failed(batch, e);
      this.release(batch);
      return;
    }
    this.inFlight.clear();
    this.stats.flushes++;
    this.stats.lastBatch = rows;
    this.stats.lastFlushMs = Math.round(performance.now() - t0);
    this.done(batch, result);
    this.release(batch);
  }

  private release(batch: P[]): void {
    for (const p of batch) for (const s of p.settle.splice(0)) s();
  }

  /** Store what is pending now (shutdown), then refuse new work. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    while (this.pending.size > 0) {
      // settled() callers wait on `running` while a member is in flight
      this.running = this.flush();
      await this.running;
    }
    this.running = null;
    this.closed = true;
  }
}
