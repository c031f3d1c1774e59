import { describe, expect, it } from 'vitest';
import { healthCode, type HealthInput } from '../src/http/health.ts';

/** Patroni 4's answers (api.py do_GET): in quorum mode a voter is a quorum standby, never a sync standby. */
const base = (over: Partial<HealthInput> & { role: 'primary' | 'replica' }): HealthInput => ({
  status: { state: 'running', role: over.role } as HealthInput['status'],
  hasLock: over.role === 'primary',
  tags: {},
  lagBytes: 0,
  streaming: over.role === 'replica',
  maximumLagOnFailover: 1048576,
  loopAgeMs: 0,
  ttl: 30,
  syncStandby: false,
  ...over,
});
const code = (path: string, h: HealthInput) => healthCode(path, new URLSearchParams(), h);

describe('/quorum, /read-only-quorum and /read-only-sync', () => {
  const primary = base({ role: 'primary' });
  const voter = base({ role: 'replica', quorumStandby: true });
  const other = base({ role: 'replica' });
  const sync = base({ role: 'replica', syncStandby: true });
  it.each([
    ['/quorum', [503, 200, 503, 503]],
    ['/read-only-quorum', [200, 200, 503, 503]],
    ['/read-only-sync', [200, 503, 503, 200]],
    ['/sync', [503, 503, 503, 200]],
    ['/async', [503, 503, 200, 503]],
  ] as const)('%s: primary, quorum voter, other replica, priority sync standby', (path, codes) => {
    expect([primary, voter, other, sync].map((h) => code(path, h))).toEqual(codes);
  });
  it('a voter tagged noloadbalance fails /quorum like any replica check', () => {
    expect(code('/quorum', { ...voter, tags: { noloadbalance: true } })).toBe(503);
  });
});
