/**
 * API tokens, created by users for themselves: scoped to no more than the highest role they hold,
 * with an expiry, shown once, hashed at rest, revocable (by their owner or an admin), last use shown.
 */
import { z } from 'zod';
import type { TDb } from '../db.ts';
import { auditActor, type TActor } from '../lib/actor.ts';
import { generateApiToken } from '../lib/api-token.ts';
import { AppError } from '../lib/app-error.ts';
import { globalRole, highestRole } from '../lib/authz.ts';
import { hasRole, ZRole, type TRole } from '../lib/roles.ts';
import { appendAuditInTx, byActor } from './append-audit.ts';

export const ZCreateApiToken = z.object({
  label: z.string().trim().min(1, 'give the token a label').max(200),
  role: ZRole,
  /** Days until it expires (1 to 366). */
  expiresInDays: z.number().int().min(1).max(366).default(30),
});

export interface TApiTokenView {
  id: string;
  prefix: string;
  label: string;
  role: TRole;
  owner: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  lastUsedFrom: string | null;
  revokedAt: string | null;
}

const SELECT = { id: true, prefix: true, label: true, role: true, createdAt: true, expiresAt: true, lastUsedAt: true, lastUsedFrom: true, revokedAt: true, user: { select: { email: true } } } as const;
type Row = { id: string; prefix: string; label: string; role: string; createdAt: Date; expiresAt: Date; lastUsedAt: Date | null; lastUsedFrom: string | null; revokedAt: Date | null; user: { email: string } };
const view = (t: Row): TApiTokenView => ({
  id: t.id, prefix: t.prefix, label: t.label, role: ZRole.parse(t.role), owner: t.user.email, createdAt: t.createdAt.toISOString(), expiresAt: t.expiresAt.toISOString(),
  lastUsedAt: t.lastUsedAt?.toISOString() ?? null, lastUsedFrom: t.lastUsedFrom, revokedAt: t.revokedAt?.toISOString() ?? null,
});

export async function createApiToken(db: TDb, actor: TActor, input: z.input<typeof ZCreateApiToken>): Promise<TApiTokenView & { token: string }> {
  const q = ZCreateApiToken.parse(input);
  if (actor.channel !== 'session') throw new AppError('forbidden', 'API tokens are created from a signed-in session, not with another token.');
  const grants = await db.roleGrant.findMany({ where: { userId: actor.userId }, select: { role: true } });
  const max = highestRole(actor.role, grants.map((g) => ZRole.parse(g.role)));
  if (!hasRole(max, q.role)) throw new AppError('forbidden', `A token cannot have more than your own role (${max}).`);
  const t = generateApiToken();
  return db.$transaction(async (tx) => {
    const row = await tx.apiToken.create({
      data: { userId: actor.userId, prefix: t.prefix, hash: t.hash, label: q.label, role: q.role, expiresAt: new Date(Date.now() + q.expiresInDays * 86_400_000) },
      select: SELECT,
    });
    await appendAuditInTx(tx, byActor(auditActor(actor), { action: 'api_token.create', target: `api_token:${t.prefix}`, outcome: 'ok', details: { tokenId: row.id, label: q.label, role: q.role, expiresAt: row.expiresAt.toISOString() } }));
    return { ...view(row), token: t.token };
  });
}

/** The actor's own tokens; `all` (admins): everyone's. */
export async function listApiTokens(db: TDb, actor: TActor, all = false): Promise<TApiTokenView[]> {
  if (all && !hasRole(globalRole(actor), 'admin')) throw new AppError('forbidden', 'Only admins can list everyone\'s API tokens.');
  const rows = await db.apiToken.findMany({ where: all ? {} : { userId: actor.userId }, orderBy: { createdAt: 'desc' }, select: SELECT });
  return rows.map(view);
}

export async function revokeApiToken(db: TDb, actor: TActor, id: string): Promise<TApiTokenView> {
  const t = await db.apiToken.findUnique({ where: { id }, select: { userId: true, prefix: true, revokedAt: true } });
  if (!t || (t.userId !== actor.userId && !hasRole(globalRole(actor), 'admin'))) throw new AppError('not_found', 'There is no such API token.');
  return db.$transaction(async (tx) => {
    const row = await tx.apiToken.update({ where: { id }, data: { revokedAt: t.revokedAt ?? new Date() }, select: SELECT });
    if (!t.revokedAt) await appendAuditInTx(tx, byActor(auditActor(actor), { action: 'api_token.revoke', target: `api_token:${t.prefix}`, outcome: 'ok', details: { tokenId: id } }));
    return view(row);
  });
}
