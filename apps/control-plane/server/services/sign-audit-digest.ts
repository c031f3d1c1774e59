/**
 * Store a signed digest of the audit chain's head (server.ts runs it every
 * KEEL_CP_AUDIT_DIGEST_SECONDS and when an operation ends). Each digest signs the newest entry's id
 * and hash, the number of entries, and the previous digest's signature, so that deleting the newest
 * entries (which the hash chain alone cannot show) no longer matches the newest digest. Nothing is
 * stored when no entry was added since the last digest.
 */
import type { TDb } from '../db.ts';
import { GENESIS_HASH, signDigest } from '../lib/audit-hash.ts';
import { AUDIT_LOCK } from './append-audit.ts';

export async function signAuditDigest(db: TDb, key: Buffer): Promise<{ lastId: string; entries: string } | null> {
  return db.$transaction(async (tx) => {
    // the same lock as appends: the head cannot move while it is read and signed
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_LOCK})`;
    const head = await tx.auditLog.findFirst({ orderBy: { id: 'desc' }, select: { id: true, hash: true } });
    if (!head) return null;
    const prev = await tx.auditDigest.findFirst({ orderBy: { id: 'desc' }, select: { lastId: true, signature: true } });
    if (prev && prev.lastId === head.id) return null;
    const entries = await tx.auditLog.count();
    const fields = { lastId: String(head.id), lastHash: head.hash, entries: String(entries), prevSignature: prev?.signature ?? GENESIS_HASH };
    await tx.auditDigest.create({
      data: { lastId: head.id, lastHash: head.hash, entries: BigInt(entries), prevSignature: fields.prevSignature, signature: signDigest(key, fields) },
    });
    return { lastId: fields.lastId, entries: fields.entries };
  });
}
