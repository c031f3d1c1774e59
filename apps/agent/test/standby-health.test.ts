import { describe, expect, it } from 'vitest';
import { healthCode, type HealthInput } from '../src/http/health.ts';

// Patroni's health checks in a standby cluster (api.py): the lock holder is the standby leader, never a primary.

function input(over: Partial<HealthInput> & { role: 'primary' | 'replica' | 'standby_leader' }): HealthInput {
  const { role, ...rest } = over;
  return {
    status: { state: 'running', role, patroni: { version: '3.0.2', scope: 's', name: 'a' } },
    hasLock: false,
    tags: {},
    lagBytes: 0,
    streaming: true,
    maximumLagOnFailover: 1048576,
    loopAgeMs: 0,
    ttl: 30,
    syncStandby: false,
    ...rest,
  };
}
const codes = (h: HealthInput) =>
  Object.fromEntries(['/primary', '/leader', '/standby-leader', '/standby_leader', '/replica', '/read-only'].map((p) => [p, healthCode(p, new URLSearchParams(), h)]));

describe('health checks in a standby cluster', () => {
  it('the standby leader: /standby-leader and /leader 200, /primary and /replica 503', () => {
    expect(codes(input({ role: 'standby_leader', hasLock: true, standbyCluster: true }))).toEqual({
      '/primary': 503, '/leader': 200, '/standby-leader': 200, '/standby_leader': 200, '/replica': 503, '/read-only': 200,
    });
  });

  it('a cascading replica: /replica 200, the leader checks 503', () => {
    expect(codes(input({ role: 'replica', standbyCluster: true }))).toEqual({
      '/primary': 503, '/leader': 503, '/standby-leader': 503, '/standby_leader': 503, '/replica': 200, '/read-only': 200,
    });
  });

  it('a primary holding the lock while standby_cluster is set (being demoted) is no primary to route writes to', () => {
    expect(healthCode('/primary', new URLSearchParams(), input({ role: 'primary', hasLock: true, standbyCluster: true }))).toBe(503);
  });

  it('outside a standby cluster /standby-leader is 503 and the primary is the primary', () => {
    const h = input({ role: 'primary', hasLock: true });
    expect(healthCode('/standby-leader', new URLSearchParams(), h)).toBe(503);
    expect(healthCode('/primary', new URLSearchParams(), h)).toBe(200);
  });
});
