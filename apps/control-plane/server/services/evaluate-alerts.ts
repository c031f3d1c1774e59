/**
 * One evaluation of the alert rules against the state the control plane holds (members' latest
 * snapshots, agent events, operations), applied to the alerts table: open, fire, resolve, drop, and
 * queue the notices (alert_deliveries) for the enabled channels. Safe with several control-plane
 * instances: the open key is unique and every transition is a conditional update.
 */
import type { Prisma, TDb } from '../db.ts';
import { planAlerts, type TOpenAlert } from '../lib/alerts/reconcile.ts';
import { conditionKey, evaluateRules, resolveRuleSettings, type TClusterInput, type TCondition } from '../lib/alerts/rules.ts';
import { listClusters, type TViewOptions } from './list-clusters.ts';

export interface TEvaluation {
  conditions: number;
  opened: number;
  fired: number;
  resolved: number;
  dropped: number;
}

const LEADER_EVENTS = ['failover', 'switchover'];

async function queue(tx: Prisma.TransactionClient, alertId: bigint, event: 'trigger' | 'resolve', channelIds: readonly string[], now: Date): Promise<void> {
  if (channelIds.length === 0) return;
  await tx.alertDelivery.createMany({ data: channelIds.map((channelId) => ({ alertId, channelId, event, status: 'pending', nextAttemptAt: now })) });
}

function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'P2002';
}

export async function evaluateAlerts(db: TDb, opts: TViewOptions): Promise<TEvaluation> {
  const now = opts.now;
  const settings = resolveRuleSettings(await db.alertRuleSetting.findMany({ select: { rule: true, enabled: true, params: true } }));
  const windowMs = settings.leader_change.params.windowSeconds * 1000;
  const [clusters, changes, awaiting, openRows, channels] = await Promise.all([
    listClusters(db, opts),
    db.event.findMany({
      where: { type: { in: LEADER_EVENTS }, at: { gte: new Date(now.getTime() - windowMs) } },
      orderBy: { at: 'desc' },
      take: 200,
      select: { at: true, type: true, summary: true, member: { select: { name: true } }, cluster: { select: { scope: true } } },
    }),
    db.operation.findMany({ where: { status: 'awaiting_approval' }, select: { id: true, type: true, requestedBy: true, createdAt: true, cluster: { select: { scope: true } } } }),
    db.alert.findMany({ where: { openKey: { not: null } }, select: { id: true, openKey: true, status: true, since: true } }),
    db.alertChannel.findMany({ where: { enabled: true }, select: { id: true } }),
  ]);
  const inputs: TClusterInput[] = clusters.map((c) => ({
    scope: c.scope,
    members: c.members,
    health: c.health,
    leaderChanges: changes.filter((e) => e.cluster.scope === c.scope).map((e) => ({ at: e.at, type: e.type, summary: e.summary, member: e.member.name })),
  }));
  const conditions = evaluateRules({
    now,
    clusters: inputs,
    awaitingApproval: awaiting.map((o) => ({ id: o.id, type: o.type, requestedBy: o.requestedBy, createdAt: o.createdAt, cluster: o.cluster.scope })),
    settings,
  });
  const open: TOpenAlert[] = openRows.map((a) => ({ id: a.id, key: a.openKey as string, status: a.status === 'pending' ? 'pending' : 'firing', since: a.since }));
  const plan = planAlerts(open, conditions, now);
  const channelIds = channels.map((c) => c.id);
  const result: TEvaluation = { conditions: conditions.length, opened: 0, fired: 0, resolved: 0, dropped: 0 };

  for (const { condition: c, status } of plan.create) {
    try {
      await db.$transaction(async (tx) => {
        const a = await tx.alert.create({ data: { ...rowOf(c), openKey: conditionKey(c), status, since: now, firedAt: status === 'firing' ? now : null }, select: { id: true } });
        if (status === 'firing') await queue(tx, a.id, 'trigger', channelIds, now);
      });
      result.opened++;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e; // another instance opened it meanwhile: one alert per key
    }
  }
  for (const { alert, condition: c } of plan.fire) {
    await db.$transaction(async (tx) => {
      const n = await tx.alert.updateMany({ where: { id: alert.id, status: 'pending' }, data: { status: 'firing', firedAt: now, summary: c.summary, details: c.details, severity: c.severity } });
      if (n.count === 1) {
        await queue(tx, alert.id, 'trigger', channelIds, now);
        result.fired++;
      }
    });
  }
  for (const alert of plan.resolve) {
    await db.$transaction(async (tx) => {
      const n = await tx.alert.updateMany({ where: { id: alert.id, status: 'firing' }, data: { status: 'resolved', openKey: null, resolvedAt: now } });
      if (n.count !== 1) return;
      // the recovery notice goes where the trigger went (and the channel is still enabled)
      const told = await tx.alertDelivery.findMany({ where: { alertId: alert.id, event: 'trigger', channel: { enabled: true } }, distinct: ['channelId'], select: { channelId: true } });
      await queue(tx, alert.id, 'resolve', told.map((d) => d.channelId), now);
      result.resolved++;
    });
  }
  for (const alert of plan.drop) {
    const n = await db.alert.deleteMany({ where: { id: alert.id, status: 'pending' } });
    result.dropped += n.count;
  }
  return result;
}

function rowOf(c: TCondition) {
  return { rule: c.rule, cluster: c.cluster, subject: c.subject, severity: c.severity, summary: c.summary, details: c.details };
}
