import { describe, expect, it } from 'vitest';
import { API_POLICY, commonSecurityHeaders, newNonce, pagePolicy } from '../server/lib/security-headers.ts';

describe('security headers', () => {
  it('pages: nonce scripts only, no eval outside development, no framing', () => {
    const p = pagePolicy({ nonce: 'abc', dev: false, https: false });
    expect(p).toContain("script-src 'self' 'nonce-abc';");
    expect(p).not.toContain('unsafe-eval');
    expect(p).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(p).toContain("frame-ancestors 'none'");
    expect(p).toContain("object-src 'none'");
    expect(p).not.toContain('upgrade-insecure-requests');
    expect(pagePolicy({ nonce: 'abc', dev: true, https: true })).toMatch(/script-src 'self' 'nonce-abc' 'unsafe-eval';.*upgrade-insecure-requests$/);
  });

  it('API answers: nothing may load or frame them', () => {
    expect(API_POLICY).toMatch(/^default-src 'none';.*frame-ancestors 'none'/);
  });

  it('HSTS only when served over TLS', () => {
    expect(commonSecurityHeaders({ hsts: false })['strict-transport-security']).toBeUndefined();
    expect(commonSecurityHeaders({ hsts: true })['strict-transport-security']).toBe('max-age=31536000');
    expect(commonSecurityHeaders({ hsts: false })).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin', 'x-frame-options': 'DENY' });
  });

  it('nonces are fresh and long enough', () => {
    const a = newNonce();
    expect(a).toMatch(/^[A-Za-z0-9+/]{24}$/);
    expect(newNonce()).not.toBe(a);
  });
});
