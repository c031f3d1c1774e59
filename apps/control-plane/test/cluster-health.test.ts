import { describe, expect, it } from 'vitest';
import { summarizeCluster } from '../server/lib/cluster-health.ts';
import { memberView, type TMemberView } from '../server/lib/member-view.ts';
import { snapshot } from './support/builders.ts';

const now = new Date();
function member(name: string, over: Parameters<typeof snapshot>[1] = {}, ageSeconds = 1): TMemberView {
  return memberView(
    { name, snapshot: snapshot(1, over), lastSeenAt: new Date(now.getTime() - ageSeconds * 1000), lastSeq: 1n, agentVersion: '0.1.0' },
    { now, staleAfterSeconds: 30, connected: true },
  );
}

describe('cluster health at a glance', () => {
  it('a leader, two eligible replicas: healthy', () => {
    const h = summarizeCluster([member('pg0', { role: 'primary' }), member('pg1'), member('pg2', { lag: { leaderLsn: 1, receiveBytes: 10, replayBytes: 5000, receiveSeconds: 0, replaySeconds: 2 } })]);
    expect(h).toMatchObject({ status: 'healthy', leader: 'pg0', membersUp: 3, membersTotal: 3, membersStale: 0, pendingRestarts: 0, paused: false });
    expect(h.worstLag).toEqual({ member: 'pg2', bytes: 5000, seconds: 2 });
    expect(h.failoverReadiness).toEqual({ ready: true, candidates: ['pg1', 'pg2'], blocked: [] });
    expect(h.summary).toBe('pg0 leads; 3/3 up; failover ready (pg1, pg2)');
  });

  it('a stale member and a nofailover replica: degraded, with reasons', () => {
    const h = summarizeCluster([
      member('pg0', { role: 'primary' }),
      member('pg1', { tags: { nofailover: true } }),
      member('pg2', {}, 120),
    ]);
    expect(h.status).toBe('degraded');
    expect(h.membersStale).toBe(1);
    expect(h.failoverReadiness).toMatchObject({ ready: false, candidates: [], blocked: [{ member: 'pg1', reasons: ['tagged nofailover'] }, { member: 'pg2' }] });
    expect(h.failoverReadiness.blocked[1]?.reasons[0]).toMatch(/^unreachable \(no report since /);
  });

  it('no primary: no_leader; two primaries: split_brain', () => {
    expect(summarizeCluster([member('pg0'), member('pg1')]).status).toBe('no_leader');
    expect(summarizeCluster([member('pg0', { role: 'primary' }), member('pg1', { role: 'primary' })]).status).toBe('split_brain');
  });

  it('counts pending restarts and shows pause', () => {
    const h = summarizeCluster([member('pg0', { role: 'primary', pendingRestart: true, paused: true }), member('pg1', { pendingRestart: true })]);
    expect(h.pendingRestarts).toBe(2);
    expect(h.paused).toBe(true);
  });

  it('nothing reporting: unknown', () => {
    expect(summarizeCluster([]).status).toBe('unknown');
  });
});
