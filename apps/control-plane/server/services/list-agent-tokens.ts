import type { TDb } from '../db.ts';

export interface TAgentTokenView {
  id: string;
  scope: string;
  prefix: string;
  label: string;
  /** The members it may speak for; empty: issued before member binding, refused until re-issued. */
  members: string[];
  createdBy: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export async function listAgentTokens(db: TDb, scope?: string): Promise<TAgentTokenView[]> {
  const rows = await db.agentToken.findMany({
    where: scope ? { cluster: { scope } } : {},
    orderBy: { createdAt: 'desc' },
    select: { id: true, prefix: true, label: true, members: true, createdBy: true, createdAt: true, lastUsedAt: true, revokedAt: true, cluster: { select: { scope: true } } },
  });
  return rows.map((r) => ({
    id: r.id,
    scope: r.cluster.scope,
    prefix: r.prefix,
    label: r.label,
    members: r.members,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    revokedAt: r.revokedAt?.toISOString() ?? null,
  }));
}
