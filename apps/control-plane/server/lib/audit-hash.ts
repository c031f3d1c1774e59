/** The audit log's hash chain: hash = sha256(prevHash + "\n" + canonical JSON of the entry). */
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface TAuditEntryFields {
  at: string;
  actorId: string | null;
  actor: string;
  action: string;
  target: string;
  details: unknown;
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
  return createHash('sha256').update(`${prevHash}\n${canonicalJson(entry)}`, 'utf8').digest('hex');
}
