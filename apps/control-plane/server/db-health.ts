/**
 * Is the control plane's own database reachable? Polled every few seconds and also told by any
 * request that failed for that reason; changes are pushed to browsers (so the page can say so).
 */
import type { TDb } from './db.ts';
import { isDatabaseUnavailable } from './db.ts';
import { checkDatabase } from './services/check-database.ts';

export interface TDbHealthState {
  ok: boolean;
  /** Since when the database is in this state (ISO). */
  since: string;
  /** Why it is unreachable (null when ok). */
  error: string | null;
}

export class DbHealthMonitor {
  private state: TDbHealthState = { ok: true, since: new Date().toISOString(), error: null };
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(s: TDbHealthState) => void>();

  constructor(private readonly db: TDb) {}

  get current(): TDbHealthState {
    return this.state;
  }

  onChange(fn: (s: TDbHealthState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(intervalMs = 2000): void {
    if (this.timer) return;
    const tick = async () => {
      try {
        await checkDatabase(this.db);
        this.reportOk();
      } catch (e) {
        this.set(false, e instanceof Error ? e.message : String(e));
      }
    };
    void tick();
    this.timer = setInterval(() => void tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A query failed: when it was for want of a database, note it. Returns whether it was. */
  report(error: unknown): boolean {
    if (!isDatabaseUnavailable(error)) return false;
    this.set(false, error instanceof Error ? error.message.split('\n')[0] ?? 'unreachable' : String(error));
    return true;
  }

  reportOk(): void {
    this.set(true, null);
  }

  private set(ok: boolean, error: string | null): void {
    if (this.state.ok === ok) {
      if (!ok && error) this.state = { ...this.state, error };
      return;
    }
    this.state = { ok, since: new Date().toISOString(), error };
    for (const fn of this.listeners) fn(this.state);
  }
}
