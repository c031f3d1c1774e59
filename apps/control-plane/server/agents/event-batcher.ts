/**
 * The ingest's write path for agent events: what the connections queued is stored and grouped into
 * incidents one batch at a time (services/store-agent-message.ts storeEvents: one statement;
 * services/group-event.ts groupEvents: one transaction), instead of a statement and a locked
 * transaction per event. Every `intervalMs` (never two flushes at once: while one runs, the next batch
 * accumulates) whole members are taken, up to about `maxBatch` events. submit() resolves once the
 * event is stored (true) or found a duplicate (false), and rejects when storing failed (the
 * connection then says so and closes); the connection acks after it (lazy acks, as for snapshots).
 * Nothing is coalesced: every event is kept.
 */
import type { TAgentEvent } from '@keel/protocol';
import type { TAgentIdentity } from './connection.ts';

export interface TEventEntry {
  id: TAgentIdentity;
  event: TAgentEvent;
}

export interface TEventBatcherOptions {
  /** Store (and group) these; resolve with, per entry in order, whether it was stored. */
  store(entries: TEventEntry[]): Promise<boolean[]>;
  intervalMs: number;
  maxBatch: number;
}

interface Pending {
  entries: TEventEntry[];
  /** One per entry, in order. */
  waiters: Array<{ resolve(stored: boolean): void; reject(e: unknown): void }>;
  /** settled() callers. */
  settle: Array<() => void>;
}

export class EventBatcher {
  private pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Members whose events the running flush is storing. */
  private inFlight = new Set<string>();
  private closed = false;
  readonly stats = { flushes: 0, stored: 0, lastBatch: 0, lastFlushMs: 0 };

  constructor(private readonly opts: TEventBatcherOptions) {}

  submit(id: TAgentIdentity, event: TAgentEvent): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('the control plane is shutting down'));
    return new Promise<boolean>((resolve, reject) => {
      let p = this.pending.get(id.memberId);
      if (!p) {
        p = { entries: [], waiters: [], settle: [] };
        this.pending.set(id.memberId, p);
      }
      p.entries.push({ id, event });
      p.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing of this member waits to be stored (before storing its next snapshot). */
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
    }, this.opts.intervalMs);
  }

  private async flush(): Promise<void> {
    const batch: Pending[] = [];
    let rows = 0;
    for (const [memberId, p] of this.pending) {
      batch.push(p);
      rows += p.entries.length;
      this.pending.delete(memberId);
      this.inFlight.add(memberId);
      if (rows >= this.opts.maxBatch) break;
    }
    if (batch.length === 0) return;
    const t0 = performance.now();
    let stored: boolean[];
    try {
      stored = await this.opts.store(batch.flatMap((p) => p.entries));
    } catch (e) {
      this.inFlight.clear();
      for (const p of batch) {
        for (const w of p.waiters) w.reject(e);
        for (const s of p.settle) s();
      }
      return;
    }
    this.inFlight.clear();
    this.stats.flushes++;
    this.stats.lastBatch = rows;
    this.stats.lastFlushMs = Math.round(performance.now() - t0);
    let k = 0;
    for (const p of batch) {
      for (let j = 0; j < p.entries.length; j++) {
        const ok = stored[k++] ?? false;
        if (ok) this.stats.stored++;
        p.waiters[j]?.resolve(ok);
      }
      for (const s of p.settle) s();
    }
  }

  /** Store what is pending now (shutdown), then refuse new events. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
    while (this.pending.size > 0) await this.flush();
    this.closed = true;
  }
}
