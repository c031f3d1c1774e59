/**
 * The audit log's hash chain: hash = sha256(prevHash + "\n" + canonical JSON of the entry), and the
 * signed digests of the chain's head: HMAC-SHA256(key, canonical JSON of the digest fields).
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface TAuditEntryFields {
  at: string;
  actorId: string | null;
  actor: string;
  action: string;
  target: string;
  details: unknown;
  /** Added later: absent (null) fields are left out of the hash, so older entries still verify. */
  channel?: string | null;
  address?: string | null;
  cluster?: string | null;
  outcome?: string | null;
}

/** JSON with object keys sorted at every level, so the same entry always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function auditHash(prevHash: string, entry: TAuditEntryFields): string {
  const { channel, address, cluster, outcome, ...base } = entry;
  const extra = Object.fromEntries(Object.entries({ channel, address, cluster, outcome }).filter(([, v]) => v !== null && v !== undefined));
  return createHash('sha256').update(`${prevHash}\n${canonicalJson({ ...base, ...extra })}`, 'utf8').digest('hex');
}

export interface TDigestFields {
  lastId: string;
  lastHash: string;
  entries: string;
  prevSignature: string;
}

/** The digest key: KEEL_CP_AUDIT_KEY, or one derived from KEEL_CP_SECRET under its own label. */
export function digestKey(auditKey: string | undefined, secret: string): Buffer {
  if (auditKey) return Buffer.from(auditKey, 'utf8');
  return Buffer.from(hkdfSync('sha256', secret, 'keel-audit', 'audit digest key', 32));
}

export function signDigest(key: Buffer, d: TDigestFields): string {
  return createHmac('sha256', key).update(canonicalJson(d), 'utf8').digest('hex');
}

export function digestSignatureValid(key: Buffer, d: TDigestFields, signature: string): boolean {
  const a = Buffer.from(signDigest(key, d), 'hex');
  const b = Buffer.from(signature, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
