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

  it('the CLI needs only DATABASE_URL', () => {
    expect(parseDbEnv({ DATABASE_URL: base.DATABASE_URL })).toEqual({ DATABASE_URL: base.DATABASE_URL });
    expect(() => parseDbEnv({})).toThrow(/DATABASE_URL is required/);
  });
});
