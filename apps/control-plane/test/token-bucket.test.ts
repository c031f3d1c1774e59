import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../server/lib/token-bucket.ts';

describe('token bucket', () => {
  it('allows the burst, then the rate', () => {
    let now = 0;
    const b = new TokenBucket(10, 5, () => now);
    for (let i = 0; i < 5; i++) expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
    now += 100; // one token at 10/s
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
    now += 60_000; // refills to the burst, not beyond
    for (let i = 0; i < 5; i++) expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
  });
});
