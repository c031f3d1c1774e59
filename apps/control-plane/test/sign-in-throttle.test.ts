import { describe, expect, it } from 'vitest';
import { SignInThrottle } from '../server/lib/sign-in-throttle.ts';

function clock(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('sign-in throttle', () => {
  const key = SignInThrottle.key('Ops@Example.com', '10.0.0.1');

  it('allows 5 failures, refuses the 6th attempt until the oldest failure leaves the 15-minute window', () => {
    const c = clock();
    const th = new SignInThrottle({ maxFailures: 5, windowMs: 15 * 60_000, now: c.now });
    for (let i = 0; i < 5; i++) {
      expect(th.check(key).allowed).toBe(true);
      th.fail(key);
      c.advance(1000);
    }
    const v = th.check(key);
    expect(v.allowed).toBe(false);
    expect(v.retryAfterSeconds).toBe(15 * 60 - 5);
    c.advance((15 * 60 - 5) * 1000 + 1);
    expect(th.check(key).allowed).toBe(true);
  });

  it('keys on the e-mail (case-insensitively) and the address', () => {
    const th = new SignInThrottle({ maxFailures: 1, windowMs: 60_000, now: clock().now });
    th.fail(key);
    expect(th.check(SignInThrottle.key('ops@example.com', '10.0.0.1')).allowed).toBe(false);
    expect(th.check(SignInThrottle.key('ops@example.com', '10.0.0.2')).allowed).toBe(true);
    expect(th.check(SignInThrottle.key('dba@example.com', '10.0.0.1')).allowed).toBe(true);
  });

  it('a successful sign-in clears the count', () => {
    const th = new SignInThrottle({ maxFailures: 2, windowMs: 60_000, now: clock().now });
    th.fail(key);
    th.succeed(key);
    th.fail(key);
    expect(th.check(key).allowed).toBe(true);
  });
});
