/**
 * Agent tokens: `keel_at_<prefix>_<secret>`. The prefix (12 hex characters) is stored in clear and
 * shown in lists; the whole token is stored only as its SHA-256 (tokens carry 256 random bits, so
 * a fast hash is enough: there is nothing to brute-force). Lookup is by prefix, then the hashes are
 * compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PATTERN = /^keel_at_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface TNewAgentToken {
  token: string;
  prefix: string;
  hash: string;
}

export function hashAgentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateAgentToken(random: (n: number) => Buffer = randomBytes): TNewAgentToken {
  const prefix = random(6).toString('hex');
  const secret = random(32).toString('base64url');
  const token = `keel_at_${prefix}_${secret}`;
  return { token, prefix, hash: hashAgentToken(token) };
}

/** The prefix of a well-formed token, or null. */
export function agentTokenPrefix(token: string): string | null {
  return PATTERN.exec(token)?.[1] ?? null;
}

/** Constant-time comparison of the token's hash with a stored hash (hex). */
export function agentTokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashAgentToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
