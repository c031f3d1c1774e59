/** The audit log, newest first, with filters (cluster, actor, action, time); and its JSON-lines export. */
import { z } from 'zod';
import type { Prisma, TDb } from '../db.ts';
import type { TActor } from '../lib/actor.ts';
import { ZAuditAction } from '../lib/audit-actions.ts';
import { authorizeGlobal } from './authorize.ts';
import type { TJsonValue } from './get-cluster.ts';

export const ZAuditFilter = z.object({
  cluster: z.string().min(1).optional(),
  actor: z.string().min(1).optional(),
  actions: z.array(ZAuditAction).optional(),
  /** Entries about one operation (target operation:<id>). */
  operationId: z.string().min(1).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  before: z.string().regex(/^\d+$/).optional(),
  limit: z.number().int().min(1).max(500).default(100),
});
export type TAuditFilter = z.input<typeof ZAuditFilter>;

export interface TAuditEntryView {
  id: string;
  at: string;
  actor: string;
  channel: string | null;
  address: string | null;
  action: string;
  target: string;
  cluster: string | null;
  outcome: string | null;
  details: TJsonValue;
  hash: string;
}

function where(q: z.output<typeof ZAuditFilter>): Prisma.AuditLogWhereInput {
  return {
    ...(q.cluster ? { cluster: q.cluster } : {}),
    ...(q.actor ? { actor: { contains: q.actor, mode: 'insensitive' as const } } : {}),
    ...(q.actions ? { action: { in: q.actions } } : {}),
    ...(q.operationId ? { target: `operation:${q.operationId}` } : {}),
    ...(q.from || q.to ? { at: { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lt: new Date(q.to) } : {}) } } : {}),
    ...(q.before ? { id: { lt: BigInt(q.before) } } : {}),
  };
}

const SELECT = { id: true, at: true, actor: true, channel: true, address: true, action: true, target: true, cluster: true, outcome: true, details: true, hash: true } as const;
type Row = { id: bigint; at: Date; actor: string; channel: string | null; address: string | null; action: string; target: string; cluster: string | null; outcome: string | null; details: unknown; hash: string };
const view = (r: Row): TAuditEntryView => ({ ...r, id: String(r.id), at: r.at.toISOString(), details: r.details as TJsonValue });

export async function listAudit(db: TDb, actor: TActor, filter: TAuditFilter): Promise<TAuditEntryView[]> {
  authorizeGlobal(actor, 'admin');
  const q = ZAuditFilter.parse(filter);
  const rows = await db.auditLog.findMany({ where: where(q), orderBy: { id: 'desc' }, take: q.limit, select: SELECT });
  return rows.map(view);
}

/** Every matching entry, oldest first, one JSON object per line (with prevHash, so the chain can be re-checked). */
export async function* exportAudit(db: TDb, actor: TActor, filter: Omit<TAuditFilter, 'before' | 'limit'>): AsyncGenerator<string> {
  authorizeGlobal(actor, 'admin');
  const q = ZAuditFilter.parse({ ...filter, limit: 500 });
  let after = 0n;
  for (;;) {
    const rows = await db.auditLog.findMany({ where: { ...where(q), id: { gt: after } }, orderBy: { id: 'asc' }, take: 1000, select: { ...SELECT, actorId: true, prevHash: true } });
    if (rows.length === 0) return;
    for (const r of rows) yield `${JSON.stringify({ ...view(r), actorId: r.actorId, prevHash: r.prevHash })}\n`;
    after = rows[rows.length - 1]!.id;
  }
}
