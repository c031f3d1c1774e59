/**
 * What keeps the REST API from starving the HA loop: a cap on requests handled at once (the rest wait
 * in a bounded queue, then get 503), and one shared PostgreSQL probe for all health checks, /patroni
 * and /metrics (single flight on the API's own connection, reused for at most PROBE_MAX_AGE_MS).
 */

import type { Probe } from '@keel/postgres';

/** Requests handled at once; the others wait their turn. */
export const MAX_ACTIVE_REQUESTS = 32;
/** Requests waiting for a turn; beyond that the API answers 503 at once. */
export const MAX_QUEUED_REQUESTS = 2000;
/** How old a shared probe result may be when a request reuses it. */
export const PROBE_MAX_AGE_MS = 1000;

/** A counting semaphore with a bounded FIFO queue. */
export class RequestGate {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly maxActive = MAX_ACTIVE_REQUESTS,
    private readonly maxQueued = MAX_QUEUED_REQUESTS,
  ) {}

  /** Resolves true with a slot held (call release() once), or false when the queue is full. */
  acquire(): Promise<boolean> {
    if (this.active < this.maxActive) {
      this.active++;
      return Promise.resolve(true);
    }
    if (this.queue.length >= this.maxQueued) return Promise.resolve(false);
    return new Promise((resolve) => this.queue.push(() => resolve(true)));
  }

  release(): void {
    const next = this.queue.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.active = Math.max(0, this.active - 1);
  }

  get stats(): { active: number; queued: number } {
    return { active: this.active, queued: this.queue.length };
  }
}

/**
 * One probe in flight at a time; a result is shared by every request that arrives within maxAgeMs of
 * the moment the probe started (so no answer describes PostgreSQL as it was more than ~1 s ago, and a
 * postmaster that died is reported within about a second), and only while the agent's own actions
 * are quiet: `actions().epoch` moves when one begins or ends and `busy` counts the running ones, so
 * an answer never predates a promote, demote, start, stop or restart the agent made itself.
 */
export class SharedProbe {
  private current: { startedAt: number; epoch: number; settled: boolean; result: Promise<Probe> } | null = null;

  constructor(
    private readonly run: () => Promise<Probe>,
    private readonly actions: () => { epoch: number; busy: number } = () => ({ epoch: 0, busy: 0 }),
    private readonly maxAgeMs = PROBE_MAX_AGE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<Probe> {
    const t = this.now();
    const { epoch: e, busy } = this.actions();
    const c = this.current;
    // A probe still running is joined, however long it takes (never a second one beside it)...
    if (c && !c.settled && c.epoch === e) return c.result;
    // ...and a finished one is reused while it is young and nothing was done to PostgreSQL since it began.
    if (c && c.settled && c.epoch === e && busy === 0 && t - c.startedAt < this.maxAgeMs) return c.result;
    const entry = { startedAt: t, epoch: e, settled: false, result: this.run() };
    void entry.result.finally(() => (entry.settled = true)).catch(() => undefined);
    this.current = entry;
    return entry.result;
  }
}
