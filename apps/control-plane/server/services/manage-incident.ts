/**
 * Acknowledge, annotate and resolve an incident: operator or above on its cluster (checked here, on
 * the server), each audited in the same transaction as the change. A state change that no longer
 * applies (acknowledging a resolved incident, resolving twice) is a conflict and changes nothing.
 */
import { z } from 'zod';
import type { TAppDeps } from '../context.ts';
import { auditActor, type TActor } from '../lib/actor.ts';
import { AppError } from '../lib/app-error.ts';
import type { TLiveMessage } from '../live/messages.ts';
import { appendAuditInTx, byActor } from './append-audit.ts';
import { authorizeClusterId } from './authorize.ts';

const ZId = z.string().regex(/^\d{1,18}$/, 'an incident id is a number');
export const ZIncidentAction = z.object({ id: ZId, note: z.string().trim().max(4000).optional() });
export const ZAnnotateIncident = z.object({ id: ZId, text: z.string().trim().min(1, 'write something').max(4000) });

type TDeps = Pick<TAppDeps, 'db'> & { publish?: (m: TLiveMessage) => void };

async function load(deps: TDeps, actor: TActor, id: string) {
  const row = await deps.db.incident.findUnique({ where: { id: BigInt(id) }, select: { id: true, status: true, clusterId: true, cluster: { select: { scope: true } } } });
  if (!row) throw new AppError('not_found', `There is no incident "${id}".`);
  await authorizeClusterId(deps.db, actor, row.clusterId, 'operator');
  return row;
}

export async function setIncidentStatus(deps: TDeps, actor: TActor, verb: 'acknowledge' | 'resolve', input: z.input<typeof ZIncidentAction>): Promise<{ id: string; status: string }> {
  const q = ZIncidentAction.parse(input);
  const row = await load(deps, actor, q.id);
  const status = verb === 'acknowledge' ? 'acknowledged' : 'resolved';
  const allowed = verb === 'acknowledge' ? ['open'] : ['open', 'acknowledged'];
  await deps.db.$transaction(async (tx) => {
    const now = new Date();
    const r = await tx.incident.updateMany({
      where: { id: row.id, status: { in: allowed } },
      data: verb === 'acknowledge' ? { status, acknowledgedBy: actor.email, acknowledgedAt: now } : { status, resolvedBy: actor.email, resolvedAt: now },
    });
    if (r.count !== 1) throw new AppError('conflict', `This incident is ${row.status}: it cannot be ${status} now.`);
    if (q.note) await tx.incidentNote.create({ data: { incidentId: row.id, authorId: actor.userId, author: actor.email, text: q.note } });
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: `incident.${verb}`, target: `incident:${q.id}`, cluster: row.cluster.scope, outcome: 'ok', details: { note: q.note ?? null } }));
  });
  deps.publish?.({ type: 'incident', cluster: row.cluster.scope, id: q.id, status, opened: false });
  return { id: q.id, status };
}

export async function annotateIncident(deps: TDeps, actor: TActor, input: z.input<typeof ZAnnotateIncident>): Promise<{ id: string }> {
  const q = ZAnnotateIncident.parse(input);
  const row = await load(deps, actor, q.id);
  const note = await deps.db.$transaction(async (tx) => {
    const n = await tx.incidentNote.create({ data: { incidentId: row.id, authorId: actor.userId, author: actor.email, text: q.text } });
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: 'incident.annotate', target: `incident:${q.id}`, cluster: row.cluster.scope, outcome: 'ok', details: { note: q.text } }));
    return n;
  });
  deps.publish?.({ type: 'incident', cluster: row.cluster.scope, id: q.id, status: row.status, opened: false });
  return { id: String(note.id) };
}
