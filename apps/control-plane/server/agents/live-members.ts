/**
 * What browsers see of the members, from memory: each accepted snapshot (parsed, authenticated,
 * sequence-checked by the connection) is offered here the moment it arrives, before the batched
 * database write (agents/snapshot-batcher.ts), so the dashboard's latency is the socket's, not the
 * database's. Only the newest snapshot of each member is kept, and a member is published at most
 * once per `minIntervalMs`: a burst (an agent replaying its buffer after a reconnect) becomes one
 * update at the end of the interval, with the newest snapshot (the dashboard needs the present, the
 * history is in the database).
 *
 * Safe because the browser's view is the agent's report, not the stored row: the dashboard patches
 * its cache from the message (components/live-cache.ts, never older than what it holds, by lastSeq)
 * and a refetch reads the row, which the batcher writes within a flush. Should that write fail, the
 * connection is closed with the error, the database-health notice tells the browsers, and the agent
 * re-sends what was not acknowledged.
 */
import type { TSnapshot } from '@keel/protocol';
import type { TAgentIdentity } from './connection.ts';

export interface TLiveMembersOptions {
  /** At most one update per member per this many ms. */
  minIntervalMs: number;
  /** Tell the browsers (the ingest builds the member view and publishes it). */
  publish(id: TAgentIdentity, snapshot: TSnapshot, receivedAt: Date): void;
  /** Server clock (tests). */
  now?: () => number;
}

interface MemberState {
  /** Newest seq offered (older ones are ignored). */
  seq: number;
  publishedAt: number;
  held: { id: TAgentIdentity; snapshot: TSnapshot; receivedAt: Date } | null;
  timer: NodeJS.Timeout | null;
}

export class LiveMembers {
  private readonly members = new Map<string, MemberState>();
  private readonly now: () => number;
  /** Counters for the bench and the tests. */
  readonly stats = { published: 0, held: 0 };

  constructor(private readonly opts: TLiveMembersOptions) {
    this.now = opts.now ?? Date.now;
  }

  offer(id: TAgentIdentity, snapshot: TSnapshot): void {
    const now = this.now();
    let m = this.members.get(id.memberId);
    if (!m) {
      m = { seq: 0, publishedAt: -Infinity, held: null, timer: null };
      this.members.set(id.memberId, m);
    }
    if (snapshot.seq <= m.seq) return;
    m.seq = snapshot.seq;
    const receivedAt = new Date(now);
    if (now - m.publishedAt >= this.opts.minIntervalMs && !m.timer) {
      m.publishedAt = now;
      this.stats.published++;
      this.opts.publish(id, snapshot, receivedAt);
      return;
    }
    // within the interval: hold the newest, publish it when the interval ends
    if (m.held) this.stats.held++;
    m.held = { id, snapshot, receivedAt };
    if (m.timer) return;
    const state = m;
    m.timer = setTimeout(() => {
      state.timer = null;
      const h = state.held;
      state.held = null;
      if (!h) return;
      state.publishedAt = this.now();
      this.stats.published++;
      this.opts.publish(h.id, h.snapshot, h.receivedAt);
    }, Math.max(0, m.publishedAt + this.opts.minIntervalMs - now));
    m.timer.unref();
  }

  /** The member's agent now speaks to another instance: drop what is held here. */
  forget(memberId: string): void {
    const m = this.members.get(memberId);
    if (m?.timer) clearTimeout(m.timer);
    this.members.delete(memberId);
  }

  close(): void {
    for (const m of this.members.values()) if (m.timer) clearTimeout(m.timer);
    this.members.clear();
  }
}
