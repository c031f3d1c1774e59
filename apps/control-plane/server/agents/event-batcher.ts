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
import { MemberBatcher, type TBatcherTiming } from './member-batcher.ts';

export interface TEventEntry {
  id: TAgentIdentity;
  event: TAgentEvent;
}

export interface TEventBatcherOptions extends TBatcherTiming {
  /** Store (and group) these; resolve with, per entry in order, whether it was stored. */
  store(entries: TEventEntry[]): Promise<boolean[]>;
}

interface Pending {
  entries: TEventEntry[];
  /** One per entry, in order. */
  waiters: Array<{ resolve(stored: boolean): void; reject(e: unknown): void }>;
  settle: Array<() => void>;
}

export class EventBatcher extends MemberBatcher<Pending, boolean[]> {
  constructor(private readonly opts: TEventBatcherOptions) {
    super(opts);
  }

  submit(id: TAgentIdentity, event: TAgentEvent): Promise<boolean> {
    return this.enqueue<boolean>(id.memberId, () => ({ entries: [], waiters: [], settle: [] }), (p, resolve, reject) => {
      p.entries.push({ id, event });
      p.waiters.push({ resolve, reject });
    });
  }

  protected rowsOf(p: Pending): number {
    return p.entries.length;
  }

  protected write(batch: Pending[]): Promise<boolean[]> {
    return this.opts.store(batch.flatMap((p) => p.entries));
  }

  protected done(batch: Pending[], stored: boolean[]): void {
    let k = 0;
    for (const p of batch) {
      for (let j = 0; j < p.entries.length; j++) {
        const ok = stored[k++] ?? false;
        if (ok) this.stats.stored++;
        p.waiters[j]?.resolve(ok);
      }
    }
  }

  protected failed(batch: Pending[], e: unknown): void {
    for (const p of batch) for (const w of p.waiters) w.reject(e);
  }
}
