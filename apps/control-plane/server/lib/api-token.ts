/**
 * API tokens for /api/v1 (and tRPC): `keel_api_<prefix>_<secret>`, the same construction as agent
 * tokens (lib/agent-token.ts: 256 random bits, SHA-256 at rest, lookup by prefix, constant-time
 * comparison), with their own marker so that neither kind is accepted in the other's place.
 */
import { randomBytes } from 'node:crypto';
import { agentTokenMatches, hashAgentToken } from './agent-token.ts';

const PATTERN = /^keel_api_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function generateApiToken(random: (n: number) => Buffer = randomBytes): { token: string; prefix: string; hash: string } {
  const prefix = random(6).toString('hex');
  const token = `keel_api_${prefix}_${random(32).toString('base64url')}`;
  return { token, prefix, hash: hashAgentToken(token) };
}

export function apiTokenPrefix(token: string): string | null {
  return PATTERN.exec(token)?.[1] ?? null;
}

export const apiTokenMatches = agentTokenMatches;

/** The bearer token of an Authorization header, or null. */
export function bearerToken(authorization: string | null | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1] ?? null;
}
