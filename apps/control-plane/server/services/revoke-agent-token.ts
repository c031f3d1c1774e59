import type { TDb } from '../db.ts';
import { appendAuditInTx } from './append-audit.ts';

/** Revoke a token (idempotent). The router also closes live connections that use it. */
export async function revokeAgentToken(db: TDb, id: string, actor: { id: string | null; name: string }): Promise<{ revokedAt: string } | null> {
  return db.$transaction(async (tx) => {
    const t = await tx.agentToken.findUnique({ where: { id }, select: { id: true, prefix: true, revokedAt: true, cluster: { select: { scope: true } } } });
    if (!t) return null;
    if (t.revokedAt) return { revokedAt: t.revokedAt.toISOString() };
    const row = await tx.agentToken.update({ where: { id }, data: { revokedAt: new Date() }, select: { revokedAt: true } });
    await appendAuditInTx(tx, { actorId: actor.id, actor: actor.name, action: 'agent_token.revoke', target: `cluster:${t.cluster.scope}`, details: { tokenId: id, prefix: t.prefix } });
    return { revokedAt: (row.revokedAt ?? new Date()).toISOString() };
  });
}
