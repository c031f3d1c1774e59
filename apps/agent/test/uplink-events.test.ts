import type { Decision, Observation } from '@keel/ha-core';
import { ZAgentEvent, type TFailoverValue, type TNodeStatus } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { deriveEvents, track, type TEventBody, type Tracked } from '../src/uplink/events.ts';
import { buildSnapshot } from '../src/uplink/snapshot.ts';
import { MB, T0, cluster, decision, observation, primaryStatus, replicaStatus, settings, stoppedStatus, type ClusterOpts } from './uplink-builders.ts';

interface Tick {
  status?: TNodeStatus;
  cluster?: ClusterOpts | null;
  dcsError?: string;
  decision?: Decision;
}

/** Run iterations 10 s apart as the agent would and return the events of each (the first has none). */
function run(ticks: Tick[], thresholdBytes = 1 * MB): TEventBody[][] {
  let prev: Tracked | null = null;
  return ticks.map((t, i) => {
    const now = T0 + i * 10_000;
    const status = t.status ?? replicaStatus();
    const c = t.cluster === null ? null : cluster(t.cluster);
    const obs: Observation = observation({
      now,
      cluster: c,
      dcsError: t.dcsError,
      running: status.state === 'running',
      role: status.role === 'primary' ? 'primary' : 'replica',
    });
    const d = t.decision ?? decision();
    const snapshot = buildSnapshot({ now, me: 'pg1', status, obs, decision: d, cluster: c, settings: settings(), leaderPositions: [], actions: [] });
    const cur = track(prev, { me: 'pg1', now, snapshot, obs, decision: d, thresholdBytes });
    const events = deriveEvents(prev, cur);
    prev = cur;
    for (const e of events) expect(ZAgentEvent.safeParse({ ...e, seq: 1 }).success, JSON.stringify(e)).toBe(true);
    return events;
  });
}

const names = (events: TEventBody[]) => events.map((e) => e.event);
const race = decision('race_for_lock', [{ type: 'acquireLock' }, { type: 'promote' }]);
const leaderless: ClusterOpts = { leader: null };

describe('deriveEvents', () => {
  it('says nothing on the first iteration, or while nothing changes', () => {
    const out = run([{ status: replicaStatus({ pending_restart: true, pending_restart_reason: { a: { old_value: '1', new_value: '2' } } }) }, {}, {}]);
    expect(out[0]).toEqual([]);
    expect(out[2]).toEqual([]);
  });

  it('automatic failover: a leaderless race won, then PostgreSQL reports primary', () => {
    const out = run([{}, { cluster: leaderless, decision: race }, { status: primaryStatus(), cluster: { leader: 'pg1' }, decision: decision('leader_ok') }]);
    expect(out[1]).toEqual([]);
    expect(names(out[2]!)).toEqual(['role_change', 'failover']);
    expect(out[2]![0]).toMatchObject({ details: { from: 'replica', to: 'primary' }, summary: 'pg1: replica -> primary' });
    expect(out[2]![1]).toMatchObject({ details: { previousLeader: 'pg0', timeline: 3, manual: false }, summary: 'failover from pg0 to pg1, timeline 3' });
  });

  it('automatic failover seen through within the same iteration (the usual case: the snapshot after the actions already says primary)', () => {
    const out = run([{}, { status: primaryStatus(), cluster: leaderless, decision: race }]);
    expect(names(out[1]!)).toEqual(['role_change', 'failover']);
    expect(out[1]![1]).toMatchObject({ details: { previousLeader: 'pg0', manual: false } });
  });

  it('switchover: promoted while a /failover key with a leader named me', () => {
    const intent: TFailoverValue = { leader: 'pg0', member: 'pg1' };
    const out = run([{}, { cluster: { leader: null, failover: intent }, decision: race }, { status: primaryStatus(), cluster: { leader: 'pg1' } }]);
    expect(names(out[2]!)).toEqual(['role_change', 'switchover']);
    expect(out[2]![1]).toMatchObject({ details: { previousLeader: 'pg0', timeline: 3, scheduledAt: null }, summary: 'switchover from pg0 to pg1, timeline 3' });
  });

  it('switchover to the healthiest: a /failover key with a leader and no candidate', () => {
    const out = run([{}, { cluster: { leader: null, failover: { leader: 'pg0' } }, decision: race }, { status: primaryStatus(), cluster: { leader: 'pg1' } }]);
    expect(names(out[2]!)).toEqual(['role_change', 'switchover']);
  });

  it('manual failover: a /failover key naming me without a leader', () => {
    const out = run([{}, { cluster: { leader: null, failover: { candidate: 'pg1' } }, decision: race }, { status: primaryStatus(), cluster: { leader: 'pg1' } }]);
    expect(out[2]![1]).toMatchObject({ event: 'failover', details: { manual: true }, summary: 'manual failover from pg0 to pg1, timeline 3' });
  });

  it('a race lost to another member is forgotten: a later promotion is not blamed on it', () => {
    const out = run([
      {},
      { cluster: leaderless, decision: race },
      { cluster: { leader: 'pg2' } },
      { status: primaryStatus(), cluster: { leader: 'pg1' }, decision: decision('leader_ok') },
    ]);
    expect(names(out[3]!)).toEqual(['role_change']);
  });

  it('promoting while already holding the lock is a role change, not a failover', () => {
    const out = run([{ cluster: { leader: 'pg1' } }, { cluster: { leader: 'pg1' }, decision: decision('leader_promote', [{ type: 'renewLock' }, { type: 'promote' }]) }, { status: primaryStatus(), cluster: { leader: 'pg1' } }]);
    expect(names(out[2]!)).toEqual(['role_change']);
  });

  it('postgres down and up, with how long it was down; the role change shows once it runs again', () => {
    const out = run([{ status: primaryStatus(), cluster: { leader: 'pg1' } }, { status: stoppedStatus('crashed'), cluster: leaderless }, { status: stoppedStatus('stopped') }, { status: replicaStatus(), cluster: { leader: 'pg2' } }]);
    expect(out[1]).toEqual([expect.objectContaining({ event: 'postgres_down', details: { state: 'crashed', wasRole: 'primary' } })]);
    expect(out[2]).toEqual([]);
    expect(names(out[3]!)).toEqual(['postgres_up', 'role_change']);
    expect(out[3]![0]).toMatchObject({ details: { role: 'replica', downSeconds: 20 } });
    expect(out[3]![1]).toMatchObject({ details: { from: 'primary', to: 'replica' } });
  });

  it('DCS unreachable and back, with how long', () => {
    const out = run([{}, { dcsError: 'deadline exceeded' }, { dcsError: 'deadline exceeded' }, {}]);
    expect(out[1]).toEqual([expect.objectContaining({ event: 'dcs_unreachable', details: { error: 'deadline exceeded' }, summary: 'pg1 cannot reach the DCS: deadline exceeded' })]);
    expect(out[2]).toEqual([]);
    expect(out[3]).toEqual([expect.objectContaining({ event: 'dcs_back', details: { unreachableSeconds: 20 } })]);
  });

  it('lag above the threshold and back, once each way', () => {
    const out = run([{}, { status: replicaStatus({ received: 98 * MB, replayed: 98 * MB }) }, { status: replicaStatus({ received: 97 * MB, replayed: 97 * MB }) }, { status: stoppedStatus() }, {}]);
    expect(out[1]).toEqual([expect.objectContaining({ event: 'lag_above_threshold', details: { lagBytes: 2 * MB, thresholdBytes: 1 * MB } })]);
    expect(out[2]).toEqual([]);
    // Down in between: the lag is unknown, so no lag event until it is known again.
    expect(names(out[3]!)).toEqual(['postgres_down']);
    expect(names(out[4]!)).toEqual(['postgres_up', 'lag_back']);
  });

  it('pending restart: when a parameter newly needs a restart, not while it keeps needing one', () => {
    const one = { max_connections: { old_value: '100', new_value: '200' } };
    const two = { ...one, shared_buffers: { old_value: '128MB', new_value: '256MB' } };
    const out = run([
      {},
      { status: replicaStatus({ pending_restart: true, pending_restart_reason: one }) },
      { status: replicaStatus({ pending_restart: true, pending_restart_reason: one }) },
      { status: replicaStatus({ pending_restart: true, pending_restart_reason: two }) },
      {},
    ]);
    expect(out[1]).toEqual([expect.objectContaining({ event: 'pending_restart', details: { reasons: one }, summary: 'pg1 needs a restart to apply max_connections' })]);
    expect(out[2]).toEqual([]);
    expect(out[3]).toEqual([expect.objectContaining({ summary: 'pg1 needs a restart to apply shared_buffers', details: { reasons: two } })]);
    expect(out[4]).toEqual([]);
  });

  it('orders events of one iteration: DCS, PostgreSQL, role, takeover', () => {
    const out = run([{}, { cluster: leaderless, decision: race, dcsError: undefined }, { dcsError: 'lost', status: stoppedStatus() }, { status: primaryStatus(), cluster: { leader: 'pg1' } }]);
    expect(names(out[2]!)).toEqual(['dcs_unreachable', 'postgres_down']);
    expect(names(out[3]!)).toEqual(['dcs_back', 'postgres_up', 'role_change', 'failover']);
  });
});
