import { ZSnapshot } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import {
  LEADER_POSITIONS_KEPT,
  buildSnapshot,
  recordLeaderPosition,
  secondsBehind,
  type LeaderPosition,
  type SnapshotInput,
} from '../src/uplink/snapshot.ts';
import { MB, T0, cluster, decision, observation, primaryStatus, replicaStatus, settings, stoppedStatus } from './uplink-builders.ts';

function input(over: Partial<SnapshotInput> = {}): SnapshotInput {
  const c = over.cluster === undefined ? cluster() : over.cluster;
  return {
    now: T0,
    me: 'pg1',
    status: replicaStatus(),
    obs: observation({ cluster: c }),
    decision: decision('replica_ok'),
    cluster: c,
    settings: settings(),
    leaderPositions: [],
    actions: [],
    ...over,
  };
}

describe('buildSnapshot', () => {
  it("carries the settings, DCS facts and fence state the control plane ranks every member with", () => {
    const s = buildSnapshot(input({ settings: settings({ ttl: 20, loopWait: 5, maximumLagOnFailover: 2 * MB }), fence: { armed: true, leaseKnown: true } }));
    expect(s.ha).toEqual({
      ttl: 20,
      loopWait: 5,
      retryTimeout: settings().retryTimeout,
      maximumLagOnFailover: 2 * MB,
      checkTimeline: settings().checkTimeline,
      synchronousMode: false,
      optime: 100 * MB,
      clusterTimeline: 2,
      sync: null,
      fence: { armed: true, leaseKnown: true },
    });
    expect(ZSnapshot.safeParse({ ...s, seq: 1 }).success).toBe(true);
  });

  it("carries /sync's quorum in quorum mode only, so the control plane applies the agents' vote rule", () => {
    const obs = observation({ cluster: cluster() });
    if (!obs.dcs.ok) throw new Error('builder: the DCS is reachable');
    obs.dcs.cluster = { ...obs.dcs.cluster, sync: { leader: 'pg0', syncStandby: ['pg1', 'pg2'], quorum: 1 } };
    const quorum = buildSnapshot(input({ obs, settings: settings({ synchronousMode: true, quorumCommit: true }) }));
    expect(quorum.ha?.sync).toEqual({ leader: 'pg0', syncStandby: ['pg1', 'pg2'], quorum: 1 });
    expect(ZSnapshot.safeParse({ ...quorum, seq: 1 }).success).toBe(true);
    const priority = buildSnapshot(input({ obs, settings: settings({ synchronousMode: true, quorumCommit: false }) }));
    expect(priority.ha?.sync).toEqual({ leader: 'pg0', syncStandby: ['pg1', 'pg2'] });
  });

  it('reports a streaming replica that is caught up, valid under the protocol schema', () => {
    const s = buildSnapshot(input());
    expect(ZSnapshot.safeParse({ ...s, seq: 1 }).success).toBe(true);
    expect(s).toMatchObject({
      type: 'snapshot',
      at: '2026-03-01T10:00:00.000Z',
      role: 'replica',
      state: 'running',
      pgRunning: true,
      timeline: 2,
      lsn: 100 * MB,
      receiveLsn: 100 * MB,
      replayLsn: 100 * MB,
      lag: { leaderLsn: 100 * MB, receiveBytes: 0, replayBytes: 0, receiveSeconds: 0, replaySeconds: 0 },
      leader: 'pg0',
      dcsOk: true,
      failoverReadiness: { eligible: true, reasons: [] },
      lastDecision: { verdict: 'replica_ok', reason: 'test: replica_ok', actions: [] },
      paused: false,
    });
  });

  it('measures lag against the newer of /status.optime and the leader member key', () => {
    const c = cluster({ optime: 100 * MB, leaderXlog: 104 * MB });
    const s = buildSnapshot(input({ cluster: c, obs: observation({ cluster: c }), status: replicaStatus({ received: 103 * MB, replayed: 101 * MB }) }));
    expect(s.lag).toMatchObject({ leaderLsn: 104 * MB, receiveBytes: 1 * MB, replayBytes: 3 * MB });
    expect(s.lsn).toBe(103 * MB);
  });

  it('estimates lag seconds from when the leader was first seen past the replica position', () => {
    const positions: LeaderPosition[] = [
      { at: T0 - 30_000, lsn: 100 * MB },
      { at: T0 - 20_000, lsn: 102 * MB },
      { at: T0 - 10_000, lsn: 104 * MB },
    ];
    const c = cluster({ optime: 104 * MB, leaderXlog: 104 * MB });
    const s = buildSnapshot(
      input({ cluster: c, obs: observation({ cluster: c }), status: replicaStatus({ received: 103 * MB, replayed: 101 * MB }), leaderPositions: positions }),
    );
    expect(s.lag.receiveSeconds).toBe(10); // the leader was past 103 MB when seen at T0-10s
    expect(s.lag.replaySeconds).toBe(20);
  });

  it('reports a primary with zero lag and its own position as the leader position', () => {
    const c = cluster({ leader: 'pg1' });
    const s = buildSnapshot(input({ cluster: c, obs: observation({ cluster: c, role: 'primary' }), status: primaryStatus(120 * MB) }));
    expect(s).toMatchObject({ role: 'primary', lsn: 120 * MB, receiveLsn: null, replayLsn: null, leader: 'pg1' });
    expect(s.lag).toEqual({ leaderLsn: 120 * MB, receiveBytes: 0, replayBytes: 0, receiveSeconds: 0, replaySeconds: 0 });
  });

  it('reports a stopped PostgreSQL with unknown positions and lag', () => {
    const s = buildSnapshot(input({ status: stoppedStatus('crashed'), obs: observation({ running: false }) }));
    expect(s).toMatchObject({ state: 'crashed', pgRunning: false, lsn: null, receiveLsn: null, replayLsn: null });
    expect(s.lag).toMatchObject({ receiveBytes: null, replayBytes: null, receiveSeconds: null, replaySeconds: null });
    expect(ZSnapshot.safeParse({ ...s, seq: 1 }).success).toBe(true);
  });

  it('carries pending restart reasons, tags and dcs_last_seen from the node status', () => {
    const status = replicaStatus({
      pending_restart: true,
      pending_restart_reason: { max_connections: { old_value: '100', new_value: '200' } },
      tags: { nofailover: true, zone: 'b' },
      dcs_last_seen: 1_772_359_200,
    });
    const s = buildSnapshot(input({ status }));
    expect(s.pendingRestart).toBe(true);
    expect(s.pendingRestartReasons).toEqual({ max_connections: { old_value: '100', new_value: '200' } });
    expect(s.tags).toEqual({ nofailover: true, zone: 'b' });
    expect(s.dcsLastSeen).toBe(1_772_359_200);
  });

  it('explains why the member is not ready to take over: tags, lag, pause', () => {
    const tagged = buildSnapshot(input({ status: replicaStatus({ tags: { nofailover: true } }) }));
    expect(tagged.failoverReadiness).toEqual({ eligible: false, reasons: [expect.stringMatching(/nofailover/)] });

    const c = cluster({ optime: 100 * MB });
    const lagging = buildSnapshot(input({ cluster: c, obs: observation({ cluster: c }), status: replicaStatus({ received: 90 * MB, replayed: 90 * MB }) }));
    expect(lagging.failoverReadiness.eligible).toBe(false);
    expect(lagging.failoverReadiness.reasons[0]).toMatch(/exceeds maximum_lag_on_failover/);

    const paused = buildSnapshot(input({ settings: settings({ pause: true }) }));
    expect(paused).toMatchObject({ paused: true, failoverReadiness: { eligible: false, reasons: ['cluster is paused: no automatic failover'] } });
  });

  it('when the DCS is unreachable: not ready, dcsOk false, the members as last read', () => {
    const s = buildSnapshot(input({ obs: observation({ dcsError: 'deadline exceeded' }) }));
    expect(s.dcsOk).toBe(false);
    expect(s.failoverReadiness).toEqual({ eligible: false, reasons: ['DCS unreachable: deadline exceeded'] });
    expect(s.members.map((m) => m.name)).toEqual(['pg0', 'pg1', 'pg2']);
  });

  it('summarizes the members from the DCS', () => {
    const s = buildSnapshot(input());
    expect(s.members[1]).toEqual({ name: 'pg1', role: 'replica', state: 'running', timeline: 2, lsn: 100 * MB, tags: { zone: 'b' }, pendingRestart: true });
    expect(buildSnapshot(input({ cluster: null, obs: observation({ cluster: null }) })).members).toEqual([]);
  });

  it('lists the decided actions', () => {
    const s = buildSnapshot(input({ decision: decision('follow_leader', [{ type: 'follow', leader: 'pg0' }]), actions: ['follow(pg0)'] }));
    expect(s.lastDecision).toEqual({ verdict: 'follow_leader', reason: 'test: follow_leader', actions: ['follow(pg0)'] });
  });
});

describe('leader positions', () => {
  it('records only forward movement and keeps a bounded history', () => {
    let h: LeaderPosition[] = [];
    h = recordLeaderPosition(h, 1, 10);
    h = recordLeaderPosition(h, 2, 10);
    h = recordLeaderPosition(h, 3, 5);
    h = recordLeaderPosition(h, 4, null);
    h = recordLeaderPosition(h, 5, 11);
    expect(h).toEqual([
      { at: 1, lsn: 10 },
      { at: 5, lsn: 11 },
    ]);
    for (let i = 0; i < LEADER_POSITIONS_KEPT + 10; i++) h = recordLeaderPosition(h, 10 + i, 100 + i);
    expect(h).toHaveLength(LEADER_POSITIONS_KEPT);
  });

  it('secondsBehind is null when no remembered leader position is past the member', () => {
    expect(secondsBehind([{ at: 0, lsn: 10 }], 10, 5000)).toBeNull();
    expect(secondsBehind([{ at: 0, lsn: 10 }], 9, 5000)).toBe(5);
  });
});
