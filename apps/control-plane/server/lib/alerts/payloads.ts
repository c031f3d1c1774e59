/**
 * What a channel receives, per kind: pure. The generic webhook gets Keel's JSON signed with
 * HMAC-SHA256; PagerDuty gets an Events API v2 event (trigger/resolve with a dedup_key, so the
 * incident there opens and closes with the alert); Slack gets an incoming-webhook `text`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { TSeverity } from './rules.ts';

export const CHANNEL_KINDS = ['webhook', 'pagerduty', 'slack'] as const;
export const ZChannelKind = z.enum(CHANNEL_KINDS);
export type TChannelKind = z.infer<typeof ZChannelKind>;

/** The decrypted channel configuration (stored encrypted; see secret-box.ts). */
export const ZChannelConfig = z.object({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** webhook: the HMAC-SHA256 signing secret. */
  secret: z.string().min(16, 'must be at least 16 characters').max(1024).optional(),
  /** pagerduty: the integration's routing key. */
  routingKey: z.string().min(1).max(256).optional(),
});
export type TChannelConfig = z.infer<typeof ZChannelConfig>;

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export interface TAlertNotice {
  event: 'trigger' | 'resolve';
  /** The delivery's id: the same on every retry (receivers can drop duplicates by it). */
  deliveryId: string;
  alert: {
    id: string;
    rule: string;
    cluster: string;
    subject: string;
    severity: TSeverity;
    summary: string;
    details: unknown;
    firedAt: string | null;
    resolvedAt: string | null;
  };
  /** The control plane's public URL, for links (optional). */
  baseUrl?: string | null;
}

export const SIGNATURE_HEADER = 'x-keel-signature';
export const TIMESTAMP_HEADER = 'x-keel-timestamp';
export const DELIVERY_HEADER = 'x-keel-delivery';

/** v1=<hex HMAC-SHA256(secret, `${timestamp}.${body}`)>: the timestamp is signed so a captured body cannot be replayed later under a new one. */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** What a receiver does (documented in the README): recompute, compare in constant time, and bound the timestamp's age. */
export function verifySignature(secret: string, timestamp: string, body: string, signature: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const want = Buffer.from(signBody(secret, ts, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

export interface TRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

function link(n: TAlertNotice): string | null {
  return n.baseUrl ? `${n.baseUrl.replace(/\/+$/, '')}/clusters/${encodeURIComponent(n.alert.cluster)}` : null;
}

export function genericBody(n: TAlertNotice): Record<string, unknown> {
  return { version: 1, event: n.event, delivery: n.deliveryId, alert: n.alert, link: link(n) };
}

/** PagerDuty Events API v2: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ */
export function pagerDutyBody(n: TAlertNotice, routingKey: string): Record<string, unknown> {
  const dedupKey = `keel-alert-${n.alert.id}`;
  if (n.event === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey };
  const url = link(n);
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: n.alert.summary.slice(0, 1024),
      source: n.alert.subject ? `${n.alert.cluster}/${n.alert.subject}` : n.alert.cluster,
      severity: n.alert.severity,
      timestamp: n.alert.firedAt ?? undefined,
      component: n.alert.subject || undefined,
      group: n.alert.cluster,
      class: n.alert.rule,
      custom_details: n.alert.details,
    },
    ...(url ? { links: [{ href: url, text: `Keel: ${n.alert.cluster}` }] } : {}),
  };
}

const SLACK_ICON: Record<TSeverity, string> = { critical: ':rotating_light:', error: ':red_circle:', warning: ':warning:', info: ':information_source:' };

export function slackBody(n: TAlertNotice): Record<string, unknown> {
  const head = n.event === 'resolve' ? `:white_check_mark: *RESOLVED* ${n.alert.rule}` : `${SLACK_ICON[n.alert.severity]} *${n.alert.severity.toUpperCase()}* ${n.alert.rule}`;
  const url = link(n);
  return { text: `${head}: ${n.alert.summary}${url ? ` <${url}|open in Keel>` : ''}` };
}

/** The HTTP request for one notice to one channel. `timestamp`: epoch seconds (the sender's clock). */
export function buildRequest(kind: TChannelKind, config: TChannelConfig, n: TAlertNotice, timestamp: number): TRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'keel-control-plane' };
  if (kind === 'pagerduty') {
    if (!config.routingKey) throw new Error('a PagerDuty channel needs a routing key');
    return { url: config.url, headers, body: JSON.stringify(pagerDutyBody(n, config.routingKey)) };
  }
  if (kind === 'slack') return { url: config.url, headers, body: JSON.stringify(slackBody(n)) };
  const body = JSON.stringify(genericBody(n));
  headers[DELIVERY_HEADER] = n.deliveryId;
  headers[TIMESTAMP_HEADER] = String(timestamp);
  if (config.secret) headers[SIGNATURE_HEADER] = signBody(config.secret, timestamp, body);
  return { url: config.url, headers, body };
}
