import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '@keel/dcs';
import type { Observation } from '@keel/ha-core';
import { leaderAsSeen } from '../src/executors/lock.ts';
import { clusterView } from '../src/observe.ts';
import { cluster, observation } from './uplink-builders.ts';

/** The leader pg0's observation of `c`, through the agent's own snapshot-to-view mapping. */
function seenBy(c: ClusterSnapshot): Observation {
  return { ...observation({ cluster: c, role: 'primary' }), dcs: { ok: true, cluster: clusterView(c) } };
}

describe('renewLock: when the keepalive alone renews the leader key (leaderAsSeen)', () => {
  it("passes /leader as this tick read it when /sync names no standby (asynchronous mode, or synchronous mode with none)", () => {
    const c: ClusterSnapshot = { ...cluster(), leader: { name: 'pg0', lease: '7587', modRevision: 42 } };
    expect(leaderAsSeen(seenBy(c))).toEqual({ name: 'pg0', lease: '7587', modRevision: 42 });
    const noStandby: ClusterSnapshot = { ...c, sync: { value: { leader: 'pg0', sync_standby: null }, modRevision: 50 } };
    expect(leaderAsSeen(seenBy(noStandby))).toEqual({ name: 'pg0', lease: '7587', modRevision: 42 });
  });

  it('passes nothing (the key is read again) when a standby could take it over, without a DCS view, or without a leader key', () => {
    const c: ClusterSnapshot = { ...cluster(), leader: { name: 'pg0', lease: '7587', modRevision: 42 } };
    const withStandby: ClusterSnapshot = { ...c, sync: { value: { leader: 'pg0', sync_standby: 'pg1' }, modRevision: 50 } };
    expect(leaderAsSeen(seenBy(withStandby))).toBeUndefined();
    expect(leaderAsSeen(observation({ cluster: null, role: 'primary' }))).toBeUndefined();
    expect(leaderAsSeen(seenBy({ ...c, leader: null }))).toBeUndefined();
  });
});
