/**
 * The ingest's write path for snapshots: coalesce per member (a newer snapshot of the same member
 * replaces an unstored older one taken in the same second, or when both are live traffic, taken in
 * the last 5 s: while the database is behind, the newest wins and the queue stays at one snapshot
 * per member; a replay of older snapshots from the agent's buffer keeps one per second) and store what accumulated in one statement per flush
 * (services/store-agent-message.ts, storeSnapshots). The schedule is member-batcher.ts's.
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
import { MemberBatcher, type TBatcherTiming } from './member-batcher.ts';

export interface TBatchEntry {
  memberId: string;
  snapshot: TSnapshot;
}

export interface TSnapshotBatcherOptions extends TBatcherTiming {
  /** Store these; resolve with the ids of the members whose row advanced. */
  store(entries: TBatchEntry[]): Promise<Set<string>>;
  /** After a flush: each advanced member's newest snapshot. */
  stored?(entries: TBatchEntry[]): void;
  /** Server clock (tests). */
  now?: () => number;
}

interface Pending {
  memberId: string;
  /** Oldest first, at most one per second of `at`. */
  snapshots: TSnapshot[];
  waiters: Array<{ resolve(stored: boolean): void; reject(e: unknown): void }>;
  settle: Array<() => void>;
}

const secondOf = (s: TSnapshot) => Math.floor(Date.parse(s.at) / 1000);
/** Snapshots taken this recently are live traffic: while the database is behind, the newest wins. */
const LIVE_MS = 5_000;

export class SnapshotBatcher extends MemberBatcher<Pending, Set<string>> {
  constructor(private readonly opts: TSnapshotBatcherOptions) {
    super(opts);
  }

  /** Taken in the last LIVE_MS: current traffic, not a replay from the agent's buffer. */
  private isLive(s: TSnapshot): boolean {
    return Date.parse(s.at) >= (this.opts.now ?? Date.now)() - LIVE_MS;
  }

  submit(memberId: string, snapshot: TSnapshot): Promise<boolean> {
    return this.enqueue<boolean>(memberId, () => ({ memberId, snapshots: [], waiters: [], settle: [] }), (p, resolve, reject) => {
      const last = p.snapshots[p.snapshots.length - 1];
      if (last && last.seq >= snapshot.seq) return resolve(false);
      if (last && (secondOf(last) === secondOf(snapshot) || (this.isLive(last) && this.isLive(snapshot)))) {
        p.snapshots[p.snapshots.length - 1] = snapshot;
        this.stats.superseded++;
      } else p.snapshots.push(snapshot);
      p.waiters.push({ resolve, reject });
    });
  }

  protected rowsOf(p: Pending): number {
    return p.snapshots.length;
  }

  protected write(batch: Pending[]): Promise<Set<string>> {
    return this.opts.store(batch.flatMap(({ memberId, snapshots }) => snapshots.map((snapshot) => ({ memberId, snapshot }))));
  }

  protected done(batch: Pending[], storedIds: Set<string>): void {
    // the newest snapshot of each member whose row advanced is what browsers need
    const stored = batch.filter((p) => storedIds.has(p.memberId)).map((p) => ({ memberId: p.memberId, snapshot: p.snapshots[p.snapshots.length - 1] as TSnapshot }));
    this.stats.stored += stored.length;
    if (stored.length > 0) this.opts.stored?.(stored);
    for (const p of batch) {
      const ok = storedIds.has(p.memberId);
      for (const w of p.waiters) w.resolve(ok);
    }
  }

  protected failed(batch: Pending[], e: unknown): void {
    for (const p of batch) for (const w of p.waiters) w.reject(e);
  }
}
