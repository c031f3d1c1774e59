import { describe, expect, it } from 'vitest';
import { checkOrigin } from '../server/lib/origin.ts';

const base = { method: 'POST', origin: 'http://cp.local:3000', host: 'cp.local:3000', fetchSite: undefined, hasCookies: true, protocol: 'http' as const, publicUrl: undefined };

describe('CSRF origin check', () => {
  it('lets same-origin mutations and all reads through', () => {
    expect(checkOrigin(base)).toBeNull();
    expect(checkOrigin({ ...base, method: 'GET', origin: 'https://evil.example' })).toBeNull();
  });

  it('refuses another origin, a missing one, and cross-site fetch metadata', () => {
    expect(checkOrigin({ ...base, origin: 'https://evil.example' })).toMatch(/not allowed/);
    expect(checkOrigin({ ...base, origin: undefined })).toMatch(/missing Origin/);
    expect(checkOrigin({ ...base, fetchSite: 'cross-site' })).toMatch(/cross-site/);
  });

  it('accepts the public URL behind a proxy', () => {
    expect(checkOrigin({ ...base, host: 'internal:3000', origin: 'https://keel.example.com', publicUrl: 'https://keel.example.com/' })).toBeNull();
  });

  it('requests without cookies carry no ambient authority', () => {
    expect(checkOrigin({ ...base, hasCookies: false, origin: undefined })).toBeNull();
  });
});
