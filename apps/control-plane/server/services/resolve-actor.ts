/**
 * Who is calling: an API token (Authorization: Bearer keel_api_…) or a session cookie. Both end in
 * the same TActor; a disabled user, a revoked or expired token, or a bad token is refused here, once,
 * for tRPC and REST alike.
 */
import type { TAuth } from '../auth.ts';
import type { TDb } from '../db.ts';
import type { TActor } from '../lib/actor.ts';
import { apiTokenMatches, apiTokenPrefix, bearerToken } from '../lib/api-token.ts';
import { AppError } from '../lib/app-error.ts';
import { ZRole } from '../lib/roles.ts';

/** lastUsedAt is written at most this often per token. */
const LAST_USED_EVERY_MS = 30_000;

export async function resolveActor(db: TDb, auth: TAuth, headers: Headers, address: string | null, now = new Date()): Promise<TActor | null> {
  const bearer = bearerToken(headers.get('authorization'));
  if (bearer !== null) return actorFromApiToken(db, bearer, address, now);
  const session = await auth.api.getSession({ headers });
  if (!session) return null;
  const user = await db.user.findUnique({ where: { id: session.user.id }, select: { id: true, email: true, role: true, disabledAt: true } });
  // a disabled user's sessions are deleted at once; this covers a request already in flight
  if (!user || user.disabledAt) return null;
  return { userId: user.id, email: user.email, role: ZRole.parse(user.role), channel: 'session', address };
}

async function actorFromApiToken(db: TDb, token: string, address: string | null, now: Date): Promise<TActor> {
  const prefix = apiTokenPrefix(token);
  if (!prefix) throw new AppError('unauthorized', 'The bearer token is not a Keel API token (keel_api_…).');
  const row = await db.apiToken.findUnique({
    where: { prefix },
    select: { id: true, hash: true, role: true, expiresAt: true, revokedAt: true, lastUsedAt: true, user: { select: { id: true, email: true, role: true, disabledAt: true } } },
  });
  if (!row || !apiTokenMatches(token, row.hash)) throw new AppError('unauthorized', 'The API token is not valid.');
  if (row.revokedAt) throw new AppError('unauthorized', `The API token ${prefix} was revoked on ${row.revokedAt.toISOString()}.`);
  if (row.expiresAt <= now) throw new AppError('unauthorized', `The API token ${prefix} expired on ${row.expiresAt.toISOString()}.`);
  if (row.user.disabledAt) throw new AppError('unauthorized', `The API token ${prefix} belongs to a disabled user.`);
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_EVERY_MS) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now, lastUsedFrom: address }, select: { id: true } });
  }
  return {
    userId: row.user.id,
    email: row.user.email,
    role: ZRole.parse(row.user.role),
    channel: 'api_token',
    address,
    token: { id: row.id, role: ZRole.parse(row.role) },
  };
}
