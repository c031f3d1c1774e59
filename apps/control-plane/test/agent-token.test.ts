import { describe, expect, it } from 'vitest';
import { agentTokenMatches, agentTokenPrefix, generateAgentToken, hashAgentToken } from '../server/lib/agent-token.ts';

describe('agent tokens', () => {
  it('look like keel_at_<12 hex>_<43 base64url> and carry their prefix', () => {
    const t = generateAgentToken();
    expect(t.token).toMatch(/^keel_at_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(agentTokenPrefix(t.token)).toBe(t.prefix);
  });

  it('are stored as a SHA-256 that does not contain the token', () => {
    const t = generateAgentToken();
    expect(t.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(t.hash).toBe(hashAgentToken(t.token));
    expect(t.hash).not.toContain(t.token.slice(-20));
  });

  it('match only the exact token', () => {
    const t = generateAgentToken();
    expect(agentTokenMatches(t.token, t.hash)).toBe(true);
    expect(agentTokenMatches(`${t.token.slice(0, -1)}${t.token.endsWith('A') ? 'B' : 'A'}`, t.hash)).toBe(false);
    expect(agentTokenMatches(t.token, 'not-hex')).toBe(false);
  });

  it('are different every time', () => {
    const a = generateAgentToken();
    const b = generateAgentToken();
    expect(a.token).not.toBe(b.token);
    expect(a.prefix).not.toBe(b.prefix);
  });

  it('refuse things that are not agent tokens', () => {
    for (const bad of ['', 'keel_at_', 'keel_at_XYZ_abc', 'Bearer keel_at_0123456789ab_' + 'a'.repeat(43)]) expect(agentTokenPrefix(bad)).toBeNull();
  });
});
