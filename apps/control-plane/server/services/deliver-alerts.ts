/**
 * Sends the due alert notices (alert_deliveries with status pending and next_attempt_at passed):
 * claims each (several instances may run), decrypts its channel, POSTs it, and records the attempt;
 * a failure is retried with exponential backoff (lib/alerts/retry.ts) until it is delivered or given
 * up. Everything is in the database, so a restart loses nothing. Secrets never reach a log line: an
 * error is recorded as its code or message, never with the URL.
 */
import type { Prisma, TDb } from '../db.ts';
import { buildRequest, ZChannelConfig, ZChannelKind, type TAlertNotice } from '../lib/alerts/payloads.ts';
import { outcomeOf, retryDelayMs, RETRY } from '../lib/alerts/retry.ts';
import type { TSeverity } from '../lib/alerts/rules.ts';
import { open } from '../lib/alerts/secret-box.ts';

export interface TDeliverOptions {
  key: Buffer;
  now?: () => Date;
  baseUrl?: string | null;
  timeoutMs?: number;
  retry?: { firstDelayMs: number; factor: number; maxDelayMs: number; maxAttempts: number };
  batch?: number;
}

export interface TDeliveryRound {
  attempted: number;
  delivered: number;
  retrying: number;
  failed: number;
}

interface TAttempt {
  at: string;
  status: number | null;
  error: string | null;
  ms: number;
}

const CLAIM_MS = 60_000;

/** A fetch failure in a few words, without the URL (a Slack webhook URL is a secret). */
function describeError(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
  return err.cause?.code ?? err.cause?.message ?? err.message ?? 'failed';
}

export async function deliverDueAlerts(db: TDb, opts: TDeliverOptions): Promise<TDeliveryRound> {
  const now = opts.now ?? (() => new Date());
  const retry = opts.retry ?? RETRY;
  const round: TDeliveryRound = { attempted: 0, delivered: 0, retrying: 0, failed: 0 };
  const t0 = now();
  const due = await db.alertDelivery.findMany({
    where: { status: 'pending', nextAttemptAt: { lte: t0 }, OR: [{ lockedUntil: null }, { lockedUntil: { lt: t0 } }] },
    orderBy: [{ nextAttemptAt: 'asc' }, { id: 'asc' }],
    take: opts.batch ?? 20,
    select: {
      id: true,
      event: true,
      attempts: true,
      log: true,
      alertId: true,
      channelId: true,
      alert: { select: { id: true, rule: true, cluster: true, subject: true, severity: true, summary: true, details: true, firedAt: true, resolvedAt: true } },
      channel: { select: { kind: true, config: true, enabled: true } },
    },
  });
  for (const d of due) {
    // a recovery notice waits for its trigger to this channel to be done (delivered or given up)
    if (d.event === 'resolve') {
      const waiting = await db.alertDelivery.count({ where: { alertId: d.alertId, channelId: d.channelId, event: 'trigger', status: 'pending' } });
      if (waiting > 0) continue;
    }
    const at = now();
    const claimed = await db.alertDelivery.updateMany({
      where: { id: d.id, status: 'pending', OR: [{ lockedUntil: null }, { lockedUntil: { lt: at } }] },
      data: { lockedUntil: new Date(at.getTime() + CLAIM_MS) },
    });
    if (claimed.count !== 1) continue;
    round.attempted++;
    let status: number | null = null;
    let error: string | null = null;
    const started = Date.now();
    if (!d.channel.enabled) error = 'channel disabled';
    else {
      try {
        const config = ZChannelConfig.parse(JSON.parse(open(opts.key, d.channel.config)));
        const notice: TAlertNotice = {
          event: d.event === 'resolve' ? 'resolve' : 'trigger',
          deliveryId: String(d.id),
          alert: {
            id: String(d.alert.id),
            rule: d.alert.rule,
            cluster: d.alert.cluster,
            subject: d.alert.subject,
            severity: d.alert.severity as TSeverity,
            summary: d.alert.summary,
            details: d.alert.details,
            firedAt: d.alert.firedAt?.toISOString() ?? null,
            resolvedAt: d.alert.resolvedAt?.toISOString() ?? null,
          },
          baseUrl: opts.baseUrl ?? null,
        };
        const req = buildRequest(ZChannelKind.parse(d.channel.kind), config, notice, Math.floor(at.getTime() / 1000));
        const res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
        status = res.status;
        await res.body?.cancel().catch(() => undefined);
        if (outcomeOf(status) !== 'delivered') error = `HTTP ${status}`;
      } catch (e) {
        error = describeError(e);
      }
    }
    const attempts = d.attempts + 1;
    const outcome = d.channel.enabled ? outcomeOf(status) : 'permanent';
    const entry: TAttempt = { at: at.toISOString(), status, error, ms: Date.now() - started };
    const log = [...(Array.isArray(d.log) ? (d.log as unknown as TAttempt[]) : []), entry].slice(-50);
    const giveUp = outcome === 'permanent' || (outcome === 'retry' && attempts >= retry.maxAttempts);
    const data: Prisma.AlertDeliveryUpdateInput = {
      attempts,
      lastStatus: status,
      lastError: error,
      log: log as unknown as Prisma.InputJsonValue,
      lockedUntil: null,
      ...(outcome === 'delivered'
        ? { status: 'delivered', deliveredAt: now(), nextAttemptAt: null }
        : giveUp
          ? { status: 'failed', nextAttemptAt: null }
          : { status: 'pending', nextAttemptAt: new Date(now().getTime() + retryDelayMs(attempts, retry)) }),
    };
    await db.alertDelivery.update({ where: { id: d.id }, data });
    if (outcome === 'delivered') round.delivered++;
    else if (giveUp) round.failed++;
    else round.retrying++;
  }
  return round;
}
