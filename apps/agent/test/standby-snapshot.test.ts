import { ZSnapshot } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { buildSnapshot, type SnapshotInput } from '../src/uplink/snapshot.ts';
import { T0, cluster, decision, observation, primaryStatus, replicaStatus, settings } from './uplink-builders.ts';

// What a standby cluster's agents tell the control plane: their connect address, and the standby
// leader what it follows (the control plane links the two sites with them).
function input(over: Partial<SnapshotInput> = {}): SnapshotInput {
  const c = cluster();
  return { now: T0, me: 'pg1', status: primaryStatus(), obs: observation({ cluster: c }), decision: decision('leader_ok'), cluster: c, settings: settings(), leaderPositions: [], actions: [], ...over };
}

describe('the standby cluster link in the snapshot', () => {
  it('a standby leader reports the other site it follows and its own address, valid under the schema', () => {
    const s = buildSnapshot(input({ status: replicaStatus({ role: 'standby_leader' }), connectAddress: '10.1.0.1:5432', standbySource: '10.0.0.1:5432' }));
    expect(s).toMatchObject({ role: 'standby_leader', connectAddress: '10.1.0.1:5432', follows: '10.0.0.1:5432' });
    expect(ZSnapshot.safeParse({ ...s, seq: 1 }).success).toBe(true);
  });

  it('other members report no upstream site, even in a standby cluster', () => {
    expect(buildSnapshot(input({ status: replicaStatus(), standbySource: '10.0.0.1:5432' })).follows).toBeNull();
    expect(buildSnapshot(input({ connectAddress: '[fd00::1]:5432' })).follows).toBeNull();
  });

  it('the schema refuses an address that is not host:port', () => {
    const s = buildSnapshot(input({ status: replicaStatus({ role: 'standby_leader' }), standbySource: 'not an address' }));
    expect(ZSnapshot.safeParse({ ...s, seq: 1 }).success).toBe(false);
  });
});
