import { describe, expect, it } from 'vitest';
import { parseDbEnv, parseServerEnv } from '../server/env.ts';

const base = { DATABASE_URL: 'postgresql://keel:pw@127.0.0.1:5432/keel', KEEL_CP_SECRET: 'x'.repeat(32) };

describe('server configuration', () => {
  it('fills in defaults', () => {
    const env = parseServerEnv(base);
    expect(env).toMatchObject({ NODE_ENV: 'production', KEEL_CP_PORT: 3000, KEEL_CP_SECURE_COOKIES: true, KEEL_CP_STALE_AFTER_SECONDS: 30, KEEL_CP_RAW_RETENTION_HOURS: 24, KEEL_CP_MINUTE_RETENTION_DAYS: 7, KEEL_CP_SIGNIN_MAX_FAILURES: 5, KEEL_CP_SIGNIN_WINDOW_MINUTES: 15, KEEL_CP_NEXT: 'on' });
  });

  it('requires a secret of at least 32 characters', () => {
    expect(() => parseServerEnv({ DATABASE_URL: base.DATABASE_URL })).toThrow(/KEEL_CP_SECRET is required/);
    expect(() => parseServerEnv({ ...base, KEEL_CP_SECRET: 'short' })).toThrow(/KEEL_CP_SECRET must be at least 32 characters/);
  });

  it('names every bad variable at once', () => {
    let message = '';
    try {
      parseServerEnv({ DATABASE_URL: 'mysql://x', KEEL_CP_SECRET: 'short', KEEL_CP_PORT: 'eighty' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL must be a postgresql:\/\/ URL/);
    expect(message).toMatch(/KEEL_CP_SECRET/);
    expect(message).toMatch(/KEEL_CP_PORT must be a number/);
  });

  it('makes cookies Secure by default, except in development and test, unless told', () => {
    expect(parseServerEnv({ ...base, NODE_ENV: 'development' }).KEEL_CP_SECURE_COOKIES).toBe(false);
    expect(parseServerEnv({ ...base, NODE_ENV: 'test' }).KEEL_CP_SECURE_COOKIES).toBe(false);
    expect(parseServerEnv({ ...base, NODE_ENV: 'development', KEEL_CP_SECURE_COOKIES: 'true' }).KEEL_CP_SECURE_COOKIES).toBe(true);
    expect(parseServerEnv({ ...base, KEEL_CP_SECURE_COOKIES: 'false' }).KEEL_CP_SECURE_COOKIES).toBe(false);
    expect(() => parseServerEnv({ ...base, KEEL_CP_SECURE_COOKIES: 'maybe' })).toThrow(/KEEL_CP_SECURE_COOKIES/);
  });

  it('treats empty strings as unset', () => {
    expect(parseServerEnv({ ...base, KEEL_CP_PORT: '', KEEL_CP_PUBLIC_URL: '' }).KEEL_CP_PORT).toBe(3000);
  });

  it('trusted proxies: IPs and CIDR blocks, each checked; the old all-or-nothing switch is refused', () => {
    expect(parseServerEnv(base).KEEL_CP_TRUSTED_PROXIES).toEqual([]);
    expect(parseServerEnv({ ...base, KEEL_CP_TRUSTED_PROXIES: '10.0.0.5, 192.168.0.0/24,::1' }).KEEL_CP_TRUSTED_PROXIES).toEqual(['10.0.0.5', '192.168.0.0/24', '::1']);
    expect(() => parseServerEnv({ ...base, KEEL_CP_TRUSTED_PROXIES: '10.0.0.5,proxy.local' })).toThrow(/KEEL_CP_TRUSTED_PROXIES "proxy.local" is not an IP address or CIDR block/);
    expect(() => parseServerEnv({ ...base, KEEL_CP_TRUSTED_PROXIES: '10.0.0.0/40' })).toThrow(/prefix length must be 0-32/);
    expect(() => parseServerEnv({ ...base, KEEL_CP_TRUST_PROXY: 'true' })).toThrow(/KEEL_CP_TRUST_PROXY is no longer supported: list your proxies' addresses in KEEL_CP_TRUSTED_PROXIES/);
  });

  it('ingest limits have defaults and bounds; the public URL must be http(s)', () => {
    expect(parseServerEnv(base)).toMatchObject({ KEEL_CP_MAX_CLOCK_SKEW_SECONDS: 300, KEEL_CP_AGENT_MESSAGES_PER_SECOND: 50, KEEL_CP_AGENT_BURST_MESSAGES: 20_000 });
    expect(() => parseServerEnv({ ...base, KEEL_CP_MAX_CLOCK_SKEW_SECONDS: '0' })).toThrow(/KEEL_CP_MAX_CLOCK_SKEW_SECONDS/);
    expect(() => parseServerEnv({ ...base, KEEL_CP_PUBLIC_URL: 'javascript:alert(1)' })).toThrow(/KEEL_CP_PUBLIC_URL must be an http\(s\) URL/);
    expect(parseServerEnv({ ...base, KEEL_CP_PUBLIC_URL: 'https://keel.example.com' }).KEEL_CP_PUBLIC_URL).toBe('https://keel.example.com');
  });

  it('the CLI needs only DATABASE_URL', () => {
    expect(parseDbEnv({ DATABASE_URL: base.DATABASE_URL })).toEqual({ DATABASE_URL: base.DATABASE_URL });
    expect(() => parseDbEnv({})).toThrow(/DATABASE_URL is required/);
  });
});
