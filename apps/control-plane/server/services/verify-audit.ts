/**
 * Verify the audit log: walk the hash chain and report the first entry whose link or hash does not
 * hold; then check every signed digest (its signature, its link to the previous digest, and that the
 * entry it signed is still there with the same hash and the same count of entries up to it), which
 * detects deleted newest entries.
 */
import type { TDb } from '../db.ts';
import { GENESIS_HASH, auditHash, digestSignatureValid } from '../lib/audit-hash.ts';

export type TAuditVerification =
  | { ok: true; entries: number; digests: number }
  | { ok: false; entries: number; digests: number; firstBrokenId: string | null; reason: string };

export async function verifyAudit(db: TDb, key: Buffer, batch = 1000): Promise<TAuditVerification> {
  let prev = GENESIS_HASH;
  let after: bigint | undefined;
  let count = 0;
  /** id -> [hash, position] of every entry, for the digest check (ids only; the log is not huge). */
  const seen = new Map<bigint, { hash: string; position: number }>();
  for (;;) {
    const rows = await db.auditLog.findMany({
      where: after === undefined ? {} : { id: { gt: after } },
      orderBy: { id: 'asc' },
      take: batch,
      select: { id: true, at: true, actorId: true, actor: true, action: true, target: true, details: true, channel: true, address: true, cluster: true, outcome: true, prevHash: true, hash: true },
    });
    if (rows.length === 0) break;
    for (const r of rows) {
      count++;
      const broken = (reason: string): TAuditVerification => ({ ok: false, entries: count, digests: 0, firstBrokenId: String(r.id), reason });
      if (r.prevHash !== prev) return broken(`entry ${r.id}: prevHash does not match the previous entry (an entry before it was removed or changed)`);
      const expected = auditHash(prev, {
        at: r.at.toISOString(), actorId: r.actorId, actor: r.actor, action: r.action, target: r.target, details: r.details,
        channel: r.channel, address: r.address, cluster: r.cluster, outcome: r.outcome,
      });
      if (expected !== r.hash) return broken(`entry ${r.id}: its content does not match its hash (it was changed)`);
      prev = r.hash;
      after = r.id;
      seen.set(r.id, { hash: r.hash, position: count });
    }
  }

  const digests = await db.auditDigest.findMany({ orderBy: { id: 'asc' }, select: { id: true, lastId: true, lastHash: true, entries: true, prevSignature: true, signature: true } });
  let prevSignature = GENESIS_HASH;
  for (const d of digests) {
    const fail = (reason: string): TAuditVerification => ({ ok: false, entries: count, digests: digests.length, firstBrokenId: null, reason });
    const fields = { lastId: String(d.lastId), lastHash: d.lastHash, entries: String(d.entries), prevSignature: d.prevSignature };
    if (!digestSignatureValid(key, fields, d.signature)) return fail(`digest ${d.id}: the signature does not match (not signed with this control plane's audit key)`);
    if (d.prevSignature !== prevSignature) return fail(`digest ${d.id}: it does not follow the previous digest (a digest was removed)`);
    const entry = seen.get(d.lastId);
    if (!entry) return fail(`digest ${d.id} signed entry ${d.lastId}, which is missing: the newest entries up to ${d.lastId} (${d.entries} in all) were deleted; the log now ends at ${after ?? 'nothing'} with ${count} entries`);
    if (entry.hash !== d.lastHash) return { ok: false, entries: count, digests: digests.length, firstBrokenId: String(d.lastId), reason: `digest ${d.id}: entry ${d.lastId} has a different hash than when it was signed` };
    if (BigInt(entry.position) !== d.entries) return fail(`digest ${d.id}: ${d.entries} entries up to ${d.lastId} were signed, ${entry.position} are there`);
    prevSignature = d.signature;
  }
  return { ok: true, entries: count, digests: digests.length };
}
