import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../src/settings.ts';
import { checkSwitchoverRequest } from '../src/switchover-check.ts';
import type { SwitchoverRequestInput } from '../src/switchover-check.ts';
import { LSN, NOW, aMember, aPeer } from './builders.ts';

const MB = 1024 * 1024;

/** Leader a, replicas b and c, both answering, running and caught up. */
function request(patch: Partial<SwitchoverRequestInput> = {}): SwitchoverRequestInput {
  return {
    kind: 'switchover',
    leader: 'a',
    now: NOW,
    cluster: { leader: 'a', members: ['a', 'b', 'c'].map((n) => aMember(n)), optime: LSN, history: [] },
    peers: [aPeer('b'), aPeer('c')],
    settings: resolveSettings(null),
    ...patch,
  };
}
const paused = { ...resolveSettings(null), pause: true };
const noLeader = { leader: null, members: ['a', 'b', 'c'].map((n) => aMember(n)), optime: LSN, history: [] };

describe('checkSwitchoverRequest: accepted', () => {
  it('a switchover to an eligible candidate', () => {
    expect(checkSwitchoverRequest(request({ candidate: 'b' }))).toEqual({ ok: true, action: 'switchover' });
  });

  it('a switchover to the healthiest replica when at least one is eligible', () => {
    expect(checkSwitchoverRequest(request({ peers: [aPeer('b', { reachable: false }), aPeer('c')] }))).toEqual({ ok: true, action: 'switchover' });
  });

  it('a scheduled switchover, whose members are judged when its time comes (as in Patroni)', () => {
    const r = request({ candidate: 'b', scheduledAt: '2023-11-14T23:00:00+00:00', peers: [aPeer('b', { reachable: false })] });
    expect(checkSwitchoverRequest(r)).toEqual({ ok: true, action: 'switchover' });
  });

  it('a switchover to a named candidate while paused', () => {
    expect(checkSwitchoverRequest(request({ candidate: 'b', settings: paused }))).toEqual({ ok: true, action: 'switchover' });
  });

  it('a failover that names the leader, which becomes a switchover', () => {
    expect(checkSwitchoverRequest(request({ kind: 'failover', candidate: 'b' }))).toEqual({ ok: true, action: 'switchover' });
  });

  it('a failover in a cluster with no leader to a lagging, stopped candidate: only reachability and tags count', () => {
    const r = request({ kind: 'failover', leader: undefined, candidate: 'b', cluster: noLeader, peers: [aPeer('b', { state: 'stopped', lsn: LSN - 50 * MB })] });
    expect(checkSwitchoverRequest(r)).toEqual({ ok: true, action: 'failover' });
  });
});

describe('checkSwitchoverRequest: refused', () => {
  const refusals: Array<[string, Partial<SwitchoverRequestInput>, number, string]> = [
    ['a failover without a candidate', { kind: 'failover', leader: undefined }, 400, 'Failover could be performed only to a specific candidate'],
    ['a switchover without a leader', { leader: undefined, candidate: 'b' }, 400, 'Switchover could be performed only from a specific leader'],
    ['an empty leader name', { leader: '', candidate: 'b' }, 400, 'Switchover could be performed only from a specific leader'],
    ['a scheduled failover', { kind: 'failover', candidate: 'b', scheduledAt: '2023-11-14T23:00:00+00:00' }, 400, "Failover can't be scheduled"],
    ['a scheduled switchover while paused', { candidate: 'b', scheduledAt: '2023-11-14T23:00:00+00:00', settings: paused }, 400, "Can't schedule switchover in the paused state"],
    ['a schedule without a timezone', { scheduledAt: '2023-11-14T23:00:00' }, 400, 'Timezone information is mandatory for the scheduled switchover'],
    ['a schedule that is not a time', { scheduledAt: 'soon' }, 422, 'Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601'],
    ['a schedule in the past', { scheduledAt: '2023-11-14T22:13:19+00:00' }, 422, 'Cannot schedule switchover in the past'],
    ['a switchover without a candidate while paused', { settings: paused }, 400, 'Switchover is possible only to a specific candidate in a paused state'],
    ['a switchover to the leader itself', { candidate: 'a' }, 400, 'Switchover target and source are the same'],
    ['a leader that is not the leader', { leader: 'b', candidate: 'c' }, 412, 'leader name does not match'],
    ['a switchover in a cluster with no leader', { candidate: 'b', cluster: noLeader }, 412, 'leader name does not match'],
    ['a scheduled switchover from a member that is not the leader', { leader: 'b', scheduledAt: '2023-11-14T23:00:00+00:00' }, 412, 'leader name does not match'],
    ['a candidate that is not a member', { candidate: 'z' }, 412, 'candidate (z) is not a member of the cluster'],
    ['a failover to the current leader', { kind: 'failover', leader: undefined, candidate: 'a' }, 412, 'candidate (a) is already the leader'],
    [
      'a switchover in a cluster of one',
      { cluster: { leader: 'a', members: [aMember('a')], optime: LSN, history: [] }, peers: [] },
      412,
      'switchover is not possible: cluster does not have members except leader',
    ],
  ];

  it.each(refusals)('%s', (_label, patch, status, message) => {
    expect(checkSwitchoverRequest(request(patch))).toEqual({ ok: false, status, message });
  });

  it('no eligible replica: 412 naming every member and why, in a sentence and as data', () => {
    const r = request({ peers: [aPeer('b', { lsn: LSN - Math.round(3.2 * MB) }), aPeer('c', { tags: { nofailover: true } })] });
    expect(checkSwitchoverRequest(r)).toEqual({
      ok: false,
      status: 412,
      message:
        'switchover is not possible: no good candidates have been found: b: lag 3.2 MB exceeds maximum_lag_on_failover 1 MB; c: tagged nofailover',
      members: [
        { name: 'b', eligible: false, reasons: ['lag 3.2 MB exceeds maximum_lag_on_failover 1 MB'] },
        { name: 'c', eligible: false, reasons: ['tagged nofailover'] },
      ],
    });
  });

  it('a named candidate that is not eligible: 412 with its reasons, by the same ranking as the HA loop', () => {
    const r = request({
      candidate: 'b',
      settings: { ...resolveSettings(null), checkTimeline: true },
      cluster: { leader: 'a', members: ['a', 'b', 'c'].map((n) => aMember(n)), optime: LSN, history: [[1, LSN - 100, 'no recovery target specified']] },
      peers: [aPeer('b', { state: 'starting' }), aPeer('c', { timeline: 2 })],
    });
    expect(checkSwitchoverRequest(r)).toEqual({
      ok: false,
      status: 412,
      message: 'switchover is not possible: no good candidates have been found: b: not running (state: starting), timeline 1 is behind cluster timeline 2',
      members: [{ name: 'b', eligible: false, reasons: ['not running (state: starting)', 'timeline 1 is behind cluster timeline 2'] }],
    });
  });

  it('a member that did not answer is judged by its DCS tags', () => {
    const r = request({ candidate: 'c', cluster: { leader: 'a', members: [aMember('a'), aMember('b'), aMember('c', { tags: { nofailover: true } })], optime: LSN, history: [] }, peers: [aPeer('b')] });
    expect(checkSwitchoverRequest(r)).toMatchObject({
      status: 412,
      message: 'switchover is not possible: no good candidates have been found: c: unreachable, tagged nofailover',
    });
  });

  it('a failover to a lagging candidate in a cluster that has a leader is judged like a switchover', () => {
    const r = request({ kind: 'failover', leader: undefined, candidate: 'b', peers: [aPeer('b', { lsn: LSN - 2 * MB })] });
    expect(checkSwitchoverRequest(r)).toMatchObject({
      status: 412,
      message: 'failover is not possible: no good candidates have been found: b: lag 2 MB exceeds maximum_lag_on_failover 1 MB',
    });
  });

  it('a failover in a cluster with no leader still needs a reachable candidate that may promote', () => {
    const base = { kind: 'failover' as const, leader: undefined, candidate: 'b', cluster: noLeader };
    expect(checkSwitchoverRequest(request({ ...base, peers: [aPeer('b', { reachable: false })] }))).toMatchObject({
      status: 412,
      message: 'failover is not possible: no good candidates have been found: b: unreachable',
    });
    expect(checkSwitchoverRequest(request({ ...base, peers: [aPeer('b', { tags: { failover_priority: 0 } })] }))).toMatchObject({
      status: 412,
      message: 'failover is not possible: no good candidates have been found: b: tagged failover_priority 0',
    });
  });
});
