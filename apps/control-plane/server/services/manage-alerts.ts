/**
 * Alert channels and rule settings (admins; every change audited), and what anyone signed in may
 * read: the alerts and the delivery log. A channel's URL, signing secret and routing key are sealed
 * with the server's alert key and never returned: the browser sees kind, name and scheme + host.
 */
import { z } from 'zod';
import type { TAppDeps } from '../context.ts';
import type { Prisma, TDb } from '../db.ts';
import { auditActor, type TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import { PAGERDUTY_EVENTS_URL, ZChannelConfig, ZChannelKind } from '../lib/alerts/payloads.ts';
import { ALERT_RULES, RULE_TITLES, resolveRuleSettings, ZAlertRule, ZRuleParams, type TRuleSettings } from '../lib/alerts/rules.ts';
import { alertKey, open, seal } from '../lib/alerts/secret-box.ts';
import { appendAuditInTx, byActor } from './append-audit.ts';
import { authorizeGlobal } from './authorize.ts';

/** The key channel secrets are sealed with (KEEL_CP_ALERT_KEY, or derived from KEEL_CP_SECRET). */
export function alertKeyOf(deps: Pick<TAppDeps, 'env'>): Buffer {
  return alertKey(deps.env.KEEL_CP_ALERT_KEY, deps.env.KEEL_CP_SECRET);
}

/** Start-up check: every stored channel opens with this key (a changed or wrong key is a start-up error, not silent non-delivery). */
export async function checkAlertKey(db: TDb, key: Buffer): Promise<number> {
  const rows = await db.alertChannel.findMany({ select: { name: true, config: true } });
  for (const r of rows) {
    try {
      ZChannelConfig.parse(JSON.parse(open(key, r.config)));
    } catch {
      throw new Error(`KEEL_CP_ALERT_KEY cannot open the stored alert channel "${r.name}": set the key the channels were created with (or delete and re-create them)`);
    }
  }
  return rows.length;
}

export const ZCreateChannel = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('webhook'),
    name: z.string().trim().min(1).max(100),
    url: ZChannelConfig.shape.url,
    /** Required: a generic webhook is always signed. */
    secret: z.string().min(16, 'the signing secret must be at least 16 characters').max(1024),
  }),
  z.strictObject({
    kind: z.literal('pagerduty'),
    name: z.string().trim().min(1).max(100),
    url: ZChannelConfig.shape.url.default(PAGERDUTY_EVENTS_URL),
    routingKey: z.string().trim().min(1, 'the routing key is required').max(256),
  }),
  z.strictObject({ kind: z.literal('slack'), name: z.string().trim().min(1).max(100), url: ZChannelConfig.shape.url }),
]);

export interface TChannelView {
  id: string;
  name: string;
  kind: z.infer<typeof ZChannelKind>;
  /** Scheme and host only. */
  target: string;
  enabled: boolean;
  createdBy: string;
  createdAt: string;
}

const CHANNEL_SELECT = { id: true, name: true, kind: true, target: true, enabled: true, createdBy: true, createdAt: true } as const;

function channelView(c: { id: string; name: string; kind: string; target: string; enabled: boolean; createdBy: string; createdAt: Date }): TChannelView {
  return { ...c, kind: ZChannelKind.parse(c.kind), createdAt: c.createdAt.toISOString() };
}

export async function listChannels(deps: Pick<TAppDeps, 'db'>, actor: TActor): Promise<TChannelView[]> {
  authorizeGlobal(actor, 'admin');
  const rows = await deps.db.alertChannel.findMany({ orderBy: { name: 'asc' }, select: CHANNEL_SELECT });
  return rows.map(channelView);
}

export async function createChannel(deps: Pick<TAppDeps, 'db' | 'env'>, actor: TActor, input: z.input<typeof ZCreateChannel>): Promise<TChannelView> {
  authorizeGlobal(actor, 'admin');
  const q = ZCreateChannel.parse(input);
  const config = ZChannelConfig.parse({ url: q.url, ...(q.kind === 'webhook' ? { secret: q.secret } : {}), ...(q.kind === 'pagerduty' ? { routingKey: q.routingKey } : {}) });
  const u = new URL(config.url);
  const target = `${u.protocol}//${u.host}`;
  const sealed = seal(alertKeyOf(deps), JSON.stringify(config));
  return deps.db.$transaction(async (tx) => {
    if (await tx.alertChannel.findUnique({ where: { name: q.name }, select: { id: true } })) throw new AppError('conflict', `A channel named "${q.name}" exists already.`);
    const c = await tx.alertChannel.create({ data: { name: q.name, kind: q.kind, config: sealed, target, createdBy: actor.email }, select: CHANNEL_SELECT });
    // the audit entry names the channel, never its URL, secret or routing key
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: 'alert_channel.create', target: `alert_channel:${c.name}`, outcome: 'ok', details: { kind: q.kind, target } }));
    return channelView(c);
  });
}

export const ZSetChannelEnabled = z.strictObject({ id: z.uuid(), enabled: z.boolean() });

export async function setChannelEnabled(deps: Pick<TAppDeps, 'db'>, actor: TActor, input: z.input<typeof ZSetChannelEnabled>): Promise<TChannelView> {
  authorizeGlobal(actor, 'admin');
  const q = ZSetChannelEnabled.parse(input);
  return deps.db.$transaction(async (tx) => {
    const found = await tx.alertChannel.findUnique({ where: { id: q.id }, select: { id: true } });
    if (!found) throw new AppError('not_found', 'There is no such channel.');
    const c = await tx.alertChannel.update({ where: { id: q.id }, data: { enabled: q.enabled }, select: CHANNEL_SELECT });
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: 'alert_channel.update', target: `alert_channel:${c.name}`, outcome: 'ok', details: { enabled: q.enabled } }));
    return channelView(c);
  });
}

export async function deleteChannel(deps: Pick<TAppDeps, 'db'>, actor: TActor, input: { id: string }): Promise<{ id: string }> {
  authorizeGlobal(actor, 'admin');
  const id = z.uuid().parse(input.id);
  return deps.db.$transaction(async (tx) => {
    const c = await tx.alertChannel.findUnique({ where: { id }, select: { name: true } });
    if (!c) throw new AppError('not_found', 'There is no such channel.');
    await tx.alertChannel.delete({ where: { id } });
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: 'alert_channel.delete', target: `alert_channel:${c.name}`, outcome: 'ok' }));
    return { id };
  });
}

export interface TRuleView {
  rule: z.infer<typeof ZAlertRule>;
  title: string;
  enabled: boolean;
  params: Record<string, unknown>;
  defaults: Record<string, unknown>;
}

export async function listRules(deps: Pick<TAppDeps, 'db'>): Promise<TRuleView[]> {
  const settings: TRuleSettings = resolveRuleSettings(await deps.db.alertRuleSetting.findMany({ select: { rule: true, enabled: true, params: true } }));
  return ALERT_RULES.map((rule) => ({ rule, title: RULE_TITLES[rule], enabled: settings[rule].enabled, params: settings[rule].params, defaults: ZRuleParams[rule].parse({}) }));
}

export const ZSetRule = z.strictObject({ rule: ZAlertRule, enabled: z.boolean(), params: z.record(z.string(), z.unknown()).default({}) });

export async function setRule(deps: Pick<TAppDeps, 'db'>, actor: TActor, input: z.input<typeof ZSetRule>): Promise<TRuleView> {
  authorizeGlobal(actor, 'admin');
  const q = ZSetRule.parse(input);
  const parsed = ZRuleParams[q.rule].safeParse(q.params);
  if (!parsed.success) throw new AppError('bad_request', `Bad parameters for ${q.rule}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'params'} ${i.message}`).join('; ')}`);
  const params = parsed.data as Prisma.InputJsonValue;
  await deps.db.$transaction(async (tx) => {
    await tx.alertRuleSetting.upsert({ where: { rule: q.rule }, create: { rule: q.rule, enabled: q.enabled, params, updatedBy: actor.email }, update: { enabled: q.enabled, params, updatedBy: actor.email } });
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: 'alert_rule.update', target: `alert_rule:${q.rule}`, outcome: 'ok', details: { enabled: q.enabled, params: parsed.data } }));
  });
  const all = await listRules(deps);
  return all.find((r) => r.rule === q.rule) as TRuleView;
}

export interface TAlertView {
  id: string;
  rule: string;
  cluster: string;
  subject: string;
  status: string;
  severity: string;
  summary: string;
  since: string;
  firedAt: string | null;
  resolvedAt: string | null;
}

export async function listAlerts(deps: Pick<TAppDeps, 'db'>, input: { cluster?: string; take?: number }): Promise<TAlertView[]> {
  const rows = await deps.db.alert.findMany({
    where: input.cluster ? { cluster: input.cluster } : {},
    orderBy: [{ since: 'desc' }, { id: 'desc' }],
    take: Math.min(input.take ?? 100, 500),
    select: { id: true, rule: true, cluster: true, subject: true, status: true, severity: true, summary: true, since: true, firedAt: true, resolvedAt: true },
  });
  return rows.map((a) => ({ ...a, id: String(a.id), since: a.since.toISOString(), firedAt: a.firedAt?.toISOString() ?? null, resolvedAt: a.resolvedAt?.toISOString() ?? null }));
}

export interface TDeliveryView {
  id: string;
  alertId: string;
  rule: string;
  cluster: string;
  summary: string;
  channel: string;
  kind: string;
  event: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  log: { at: string; status: number | null; error: string | null; ms: number }[];
}

export async function listDeliveries(deps: Pick<TAppDeps, 'db'>, input: { take?: number }): Promise<TDeliveryView[]> {
  const rows = await deps.db.alertDelivery.findMany({
    orderBy: { id: 'desc' },
    take: Math.min(input.take ?? 100, 500),
    select: {
      id: true,
      event: true,
      status: true,
      attempts: true,
      lastStatus: true,
      lastError: true,
      nextAttemptAt: true,
      deliveredAt: true,
      createdAt: true,
      log: true,
      alert: { select: { id: true, rule: true, cluster: true, summary: true } },
      channel: { select: { name: true, kind: true } },
    },
  });
  return rows.map((d) => ({
    id: String(d.id),
    alertId: String(d.alert.id),
    rule: d.alert.rule,
    cluster: d.alert.cluster,
    summary: d.alert.summary,
    channel: d.channel.name,
    kind: d.channel.kind,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
    log: Array.isArray(d.log) ? (d.log as unknown as TDeliveryView['log']) : [],
  }));
}
