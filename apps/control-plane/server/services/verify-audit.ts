/** Walk the audit log's hash chain; report the first entry whose link or hash does not hold. */
import type { TDb } from '../db.ts';
import { GENESIS_HASH, auditHash } from '../lib/audit-hash.ts';

export type TAuditVerification = { ok: true; entries: number } | { ok: false; entries: number; firstBrokenId: string; reason: string };

export async function verifyAudit(db: TDb, batch = 1000): Promise<TAuditVerification> {
  let prev = GENESIS_HASH;
  let after: bigint | undefined;
  let count = 0;
  for (;;) {
    const rows = await db.auditLog.findMany({
      where: after === undefined ? {} : { id: { gt: after } },
      orderBy: { id: 'asc' },
      take: batch,
      select: { id: true, at: true, actorId: true, actor: true, action: true, target: true, details: true, prevHash: true, hash: true },
    });
    if (rows.length === 0) return { ok: true, entries: count };
    for (const r of rows) {
      count++;
      if (r.prevHash !== prev) return { ok: false, entries: count, firstBrokenId: String(r.id), reason: 'prevHash does not match the previous entry' };
      const expected = auditHash(prev, { at: r.at.toISOString(), actorId: r.actorId, actor: r.actor, action: r.action, target: r.target, details: r.details });
      if (expected !== r.hash) return { ok: false, entries: count, firstBrokenId: String(r.id), reason: 'hash does not match the entry' };
      prev = r.hash;
      after = r.id;
    }
  }
}
