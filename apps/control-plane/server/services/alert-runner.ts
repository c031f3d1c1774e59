/** The alert loop of the server process: evaluate the rules, then send what is due; one round at a time. */
import type { TDb } from '../db.ts';
import { deliverDueAlerts, type TDeliverOptions } from './deliver-alerts.ts';
import { evaluateAlerts } from './evaluate-alerts.ts';
import type { TViewOptions } from './list-clusters.ts';

export interface TAlertRunnerDeps {
  db: TDb;
  everyMs: number;
  view: () => TViewOptions;
  deliver: TDeliverOptions;
  log: (event: string, fields: Record<string, unknown>, level?: 'info' | 'warn' | 'error') => void;
  /** Called with a database error; true when it was a database outage (already reported). */
  dbError?: (e: unknown) => boolean;
}

export class AlertRunner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly deps: TAlertRunnerDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.round(), this.deps.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One evaluation and one delivery round (a round already under way is joined, not doubled). */
  round(): Promise<void> {
    this.running ??= this.once().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async once(): Promise<void> {
    const { db, log } = this.deps;
    try {
      const e = await evaluateAlerts(db, this.deps.view());
      if (e.opened + e.fired + e.resolved > 0) log('alerts', { ...e });
      const d = await deliverDueAlerts(db, this.deps.deliver);
      if (d.attempted > 0) log('alert_deliveries', { ...d }, d.failed > 0 ? 'warn' : 'info');
    } catch (e) {
      if (!this.deps.dbError?.(e)) log('alerts_failed', { error: e instanceof Error ? e.message : String(e) }, 'warn');
    }
  }
}
