import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import type { Action, FailsafeCheck, Observation } from '../src/types.ts';
import type { ObservationBuilder } from './builders.ts';
import { NOW, anObservation, aPeer } from './builders.ts';

/** failsafe_mode (failsafe.ts): the primary's decision without the DCS, the leader's /failsafe, the race. */

const URLS = { a: 'http://a:8008/patroni', b: 'http://b:8008/patroni', c: 'http://c:8008/patroni' };
const STARTED = NOW - 1500;

function obs(b: ObservationBuilder, extra: { failsafe?: FailsafeCheck | null; failsafeLeader?: string | null; key?: Record<string, string> | null } = {}): Observation {
  const o = b.build();
  const dcs = o.dcs.ok && extra.key !== undefined ? { ok: true as const, cluster: { ...o.dcs.cluster, failsafe: extra.key } } : o.dcs;
  return {
    ...o,
    me: { ...o.me, apiUrl: URLS.a },
    dcs,
    ...(extra.failsafe !== undefined ? { failsafe: extra.failsafe } : {}),
    ...(extra.failsafeLeader !== undefined ? { failsafeLeader: extra.failsafeLeader } : {}),
  };
}

const on = () => anObservation().withSettings({ failsafeMode: true });
const check = (accepted: string[], refused: Array<[string, string]> = [], problem: string | null = null): FailsafeCheck => ({
  startedAt: STARTED,
  problem,
  accepted,
  refused: refused.map(([name, reason]) => ({ name, reason })),
});
const demoteOffline: Action = { type: 'demote', mode: 'offline' };
const DCS = 'demoting self because DCS is not accessible and I was a leader (connection refused)';

describe('failsafe_mode: a primary that cannot reach the DCS', () => {
  it('keeps running while every member in /failsafe accepted, counting its fencing deadlines from the round start', () => {
    expect(decide(obs(on().asPrimary().dcsDown(), { failsafe: check(['b', 'c']) }))).toEqual({
      verdict: 'failsafe_active',
      reason:
        'continue to run as a leader because failsafe mode is enabled and all members are accessible (b, c); DCS is not accessible (connection refused)',
      actions: [{ type: 'holdFailsafe', since: STARTED }],
    });
  });

  it('a single-member cluster (nobody else listed) keeps running', () => {
    expect(decide(obs(on().asPrimary().dcsDown(), { failsafe: check([]) })).verdict).toBe('failsafe_active');
  });

  it('demotes offline when one member did not accept, naming it and why', () => {
    expect(decide(obs(on().asPrimary().dcsDown(), { failsafe: check(['b'], [['c', 'unreachable (ECONNREFUSED)']]) }))).toEqual({
      verdict: 'dcs_unreachable_demote',
      reason: `${DCS}; failsafe mode: not all members accepted: (c) unreachable (ECONNREFUSED)`,
      actions: [demoteOffline],
    });
  });

  it('demotes offline when a member runs as primary itself (it answers "Running as a leader")', () => {
    const d = decide(obs(on().asPrimary().dcsDown(), { failsafe: check(['c'], [['b', 'answered 500 "Running as a leader"']]) }));
    expect(d.actions).toEqual([demoteOffline]);
    expect(d.reason).toContain('(b) answered 500 "Running as a leader"');
  });

  it('demotes offline when it could not ask (not listed in /failsafe) or did not ask', () => {
    expect(decide(obs(on().asPrimary().dcsDown(), { failsafe: check([], [], 'I am not listed in /failsafe') }))).toEqual({
      verdict: 'dcs_unreachable_demote',
      reason: `${DCS}; failsafe mode: I am not listed in /failsafe`,
      actions: [demoteOffline],
    });
    expect(decide(obs(on().asPrimary().dcsDown(), { failsafe: null })).actions).toEqual([demoteOffline]);
  });

  it('failsafe_mode off: demotes as always, whatever the members answered', () => {
    expect(decide(obs(anObservation().asPrimary().dcsDown(), { failsafe: check(['b', 'c']) }))).toEqual({
      verdict: 'dcs_unreachable_demote',
      reason: DCS,
      actions: [demoteOffline],
    });
  });

  it('a replica without the DCS does nothing, in failsafe mode too', () => {
    expect(decide(obs(on().asReplica().dcsDown(), { failsafeLeader: 'b' })).verdict).toBe('dcs_unreachable');
  });
});

describe('failsafe_mode: the leader keeps /failsafe', () => {
  // Its replication slots match the members already, so /failsafe is the only chore.
  const leader = () => on().withLeader('a').asPrimary().withPg({ slots: ['b', 'c'] });

  it('writes every member with its api_url after renewing the lock', () => {
    const d = decide(obs(leader(), { key: null }));
    expect(d.verdict).toBe('leader_ok');
    expect(d.actions).toEqual([{ type: 'renewLock' }, { type: 'setFailsafe', value: URLS }]);
  });

  it('adds itself when its member key is missing, and leaves an up-to-date key alone', () => {
    const withoutMe = on().withMembers('b', 'c').withLeader('a').asPrimary().withPg({ slots: ['b', 'c'] });
    expect(decide(obs(withoutMe, { key: null })).actions).toContainEqual({ type: 'setFailsafe', value: URLS });
    expect(decide(obs(leader(), { key: { ...URLS } })).actions).toEqual([{ type: 'renewLock' }]);
  });

  it('rewrites it when a member left or changed its api_url', () => {
    const stale = { ...URLS, d: 'http://d:8008/patroni' };
    expect(decide(obs(leader(), { key: stale })).actions).toContainEqual({ type: 'setFailsafe', value: URLS });
  });

  it('deletes it when failsafe_mode is off; writes nothing when there is none', () => {
    const off = anObservation().withLeader('a').asPrimary().withPg({ slots: ['b', 'c'] });
    expect(decide(obs(off, { key: { ...URLS } })).actions).toEqual([{ type: 'renewLock' }, { type: 'setFailsafe', value: null }]);
    expect(decide(obs(off, { key: null })).actions).toEqual([{ type: 'renewLock' }]);
  });
});

describe('failsafe_mode: the leader race', () => {
  it('a replica that accepted a POST /failsafe less than ttl ago does not race: the primary is alive', () => {
    expect(decide(obs(on().asReplica().withPeers(aPeer('b', { reachable: false })), { failsafeLeader: 'b', key: { ...URLS } }))).toEqual({
      verdict: 'not_healthiest',
      reason: 'I am not the healthiest member: primary (b) is still alive: it called POST /failsafe less than ttl ago',
      actions: [],
    });
  });

  it('a member not listed in a non-empty /failsafe never races', () => {
    const d = decide(obs(on().asReplica(), { key: { b: URLS.b, c: URLS.c } }));
    expect(d).toEqual({ verdict: 'not_healthiest', reason: 'I am not the healthiest member: I am not listed in /failsafe', actions: [] });
  });

  it('the primary held by failsafe takes the free lock again once the DCS is back', () => {
    const d = decide(obs(on().asPrimary().withPeers(aPeer('b'), aPeer('c')), { key: { ...URLS } }));
    expect(d.verdict).toBe('race_for_lock');
    expect(d.actions).toEqual([{ type: 'acquireLock' }]);
  });

  it('a listed replica that accepted nothing races as usual; failsafe_mode off ignores both rules', () => {
    expect(decide(obs(on().asReplica(), { key: { ...URLS } })).verdict).toBe('race_for_lock');
    expect(decide(obs(anObservation().asReplica(), { failsafeLeader: 'b', key: { b: URLS.b } })).verdict).toBe('race_for_lock');
  });
});
