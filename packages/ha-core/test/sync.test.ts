import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import { resolveSettings } from '../src/settings.ts';
import { checkSwitchoverRequest } from '../src/switchover-check.ts';
import type { SwitchoverRequestInput } from '../src/switchover-check.ts';
import { quoteIdent, standbyNamesFor } from '../src/sync.ts';
import type { Action, Decision } from '../src/types.ts';
import { LSN, NOW, aMember, aPeer, anObservation } from './builders.ts';

const renewLock: Action = { type: 'renewLock' };
const syncStandbys = (names: string[], standbyNames: string | null): Action => ({ type: 'syncStandbys', names, standbyNames });
const MB = 1024 * 1024;

/** Leader a (me), primary, sync mode on; b and c stream. */
const leaderA = () => anObservation('a').withLeader('a').asPrimary().syncMode();
const syncActionOf = (d: Decision) => d.actions.find((x) => x.type === 'syncStandbys') ?? null;

describe('synchronous_standby_names', () => {
  it.each([
    [[], false, ''],
    [[], true, '*'],
    [['b'], false, 'b'],
    [['c', 'b'], false, '2 (b,c)'],
    [['Node-1'], false, '"Node-1"'],
  ])('%j (strict %s) -> %j', (names, strict, expected) => {
    expect(standbyNamesFor(names, strict)).toBe(expected);
  });
  it('quotes what is not a plain lower-case identifier', () => {
    expect([quoteIdent('node2'), quoteIdent('a"b'), quoteIdent('2x')]).toEqual(['node2', '"a""b"', '"2x"']);
  });
});

describe('leader chores in synchronous_mode (Patroni process_sync_replication)', () => {
  const cases: Array<[string, ReturnType<typeof leaderA>, Action | null]> = [
    ['no /sync yet, b and c stream: pick one (by name at equal positions)', leaderA().withReplication(['b', 'async'], ['c', 'async']), syncStandbys(['b'], 'b')],
    [
      'the current sync standby is kept (stability) even when another sorts first',
      leaderA().withSync('a', 'c').withReplication(['b', 'async'], ['c', 'sync']).withPg({ syncStandbyNames: 'c' }),
      null,
    ],
    [
      'PostgreSQL already reports b sync but /sync does not list it: add it',
      leaderA().withSync('a').withReplication(['b', 'sync'], ['c', 'async']).withPg({ syncStandbyNames: 'b' }),
      syncStandbys(['b'], 'b'),
    ],
    [
      'the sync standby stopped streaming: move to c',
      leaderA().withSync('a', 'b').withReplication(['c', 'async']).withPg({ syncStandbyNames: 'b' }),
      syncStandbys(['c'], 'c'),
    ],
    ['nosync tags are never picked', leaderA().withMember('b', { tags: { nosync: true } }).withReplication(['b', 'async'], ['c', 'async']), syncStandbys(['c'], 'c')],
    ['sync_priority 0 behaves like nosync', leaderA().withMember('b', { tags: { sync_priority: 0 } }).withReplication(['b', 'async'], ['c', 'async']), syncStandbys(['c'], 'c')],
    ['synchronous_node_count 2 picks both', leaderA().syncMode({ count: 2 }).withReplication(['b', 'async'], ['c', 'async']), syncStandbys(['b', 'c'], '2 (b,c)')],
    ['no standby streams, non-strict: asynchronous', leaderA().withSync('a', 'b').withPg({ syncStandbyNames: 'b' }), syncStandbys([], '')],
    ['no standby streams, strict: keep writes blocked with *', leaderA().syncMode({ strict: true }).withSync('a', 'b').withPg({ syncStandbyNames: 'b' }), syncStandbys([], '*')],
    ['no standby, non-strict, already asynchronous: nothing to do', leaderA().withSync('a').withPg({ syncStandbyNames: '' }), null],
    ['/sync still names the previous leader: claim it', leaderA().withSync('b', 'a').withReplication(['b', 'sync']).withPg({ syncStandbyNames: 'b' }), syncStandbys(['b'], 'b')],
    ['synchronous_mode off with a /sync left by me: clean up', anObservation('a').withLeader('a').asPrimary().withSync('a', 'b'), syncStandbys([], null)],
    ['synchronous_mode off, no /sync: nothing', anObservation('a').withLeader('a').asPrimary(), null],
  ];
  it.each(cases)('%s', (_label, b, expected) => {
    const d = decide(b.build());
    expect(d.verdict).toBe('leader_ok');
    expect(d.actions[0]).toEqual(renewLock);
    expect(syncActionOf(d)).toEqual(expected);
  });
});

describe('the leader race in synchronous_mode', () => {
  const race = (me: string) =>
    anObservation(me).withoutLeader().asReplica().syncMode().withSync('a', 'b').withOptime(LSN).withPeers(aPeer('a', { reachable: false }), aPeer('b'), aPeer('c'));

  it('the sync standby races', () => {
    expect(decide(race('b').build()).verdict).toBe('race_for_lock');
  });
  it('a member not in /sync does not, even when it is ahead', () => {
    const d = decide(race('c').withPg({ lsn: LSN + 100 }).build());
    expect([d.verdict, d.reason, d.actions]).toEqual(['not_healthiest', 'I am not the healthiest member: not a synchronous standby', []]);
  });
  it('the sync standby ignores an async member that is ahead of it', () => {
    const d = decide(race('b').withPeers(aPeer('a', { reachable: false }), aPeer('c', { lsn: LSN + 100 })).build());
    expect(d.verdict).toBe('race_for_lock');
  });
  it('the sync standby skips the lag check', () => {
    const d = decide(race('b').withOptime(LSN + 100 * MB).build());
    expect(d.verdict).toBe('race_for_lock');
  });
  it('the last leader, still answering and ahead, does not disqualify the sync standby', () => {
    const d = decide(race('b').withPeers(aPeer('a', { role: 'replica', lsn: LSN + 100 }), aPeer('c')).build());
    expect(d.verdict).toBe('race_for_lock');
  });
  it('the last leader may race (a running primary whose lease expired)', () => {
    const d = decide(anObservation('a').withoutLeader().asPrimary().syncMode().withSync('a', 'b').withPeers(aPeer('b'), aPeer('c')).build());
    expect(d.verdict).toBe('race_for_lock');
  });
  it('without a /sync key (mode just enabled) everyone races as usual', () => {
    expect(decide(race('c').withSync(null).build()).verdict).toBe('race_for_lock');
  });
  it('synchronous_mode off: /sync is ignored', () => {
    expect(decide(race('c').withSettings({ synchronousMode: false }).build()).verdict).toBe('race_for_lock');
  });
});

describe('switchover requests in synchronous_mode', () => {
  it('the leader refuses a candidate that is not a sync standby, with Patroni\'s text', () => {
    const d = decide(leaderA().withSync('a', 'b').withFailover({ leader: 'a', member: 'c' }).withPeers(aPeer('b'), aPeer('c')).build());
    expect([d.verdict, d.reason]).toEqual(['failover_invalid', 'switchover: candidate name does not match with sync_standby (c); removing the request']);
  });
  it('the leader hands over to the sync standby', () => {
    const d = decide(leaderA().withSync('a', 'b').withReplication(['b', 'sync'], ['c', 'async']).withFailover({ leader: 'a', member: 'b' }).withPeers(aPeer('b'), aPeer('c')).build());
    expect(d.verdict).toBe('switchover_demote');
  });
  it('a switchover to the healthiest goes to the sync standby only', () => {
    const d = decide(leaderA().withSync('a').withFailover({ leader: 'a' }).withPeers(aPeer('b'), aPeer('c')).build());
    expect([d.verdict, d.reason]).toEqual(['failover_invalid', 'switchover: no synchronous standby can be found; removing the request']);
  });
  it('a stale switchover key to a non-sync member does not let it take the lock', () => {
    const d = decide(anObservation('c').withoutLeader().asReplica().syncMode().withSync('a', 'b').withFailover({ leader: 'a', member: 'c' }).withPeers(aPeer('a', { reachable: false }), aPeer('b')).build());
    expect(d.actions.map((x) => x.type)).not.toContain('acquireLock');
  });

  const input = (patch: Partial<SwitchoverRequestInput> = {}): SwitchoverRequestInput => ({
    kind: 'switchover',
    leader: 'a',
    now: NOW,
    cluster: { leader: 'a', members: ['a', 'b', 'c'].map((n) => aMember(n)), optime: LSN, history: [], sync: { leader: 'a', syncStandby: ['b'] } },
    peers: [aPeer('b'), aPeer('c')],
    settings: { ...resolveSettings(null), synchronousMode: true },
    ...patch,
  });
  it.each([
    ['switchover to the async replica', input({ candidate: 'c' }), { ok: false, status: 412, message: 'candidate name does not match with sync_standby' }],
    ['failover to the async replica while a leader runs', input({ kind: 'failover', leader: undefined, candidate: 'c' }), { ok: false, status: 412, message: 'candidate name does not match with sync_standby' }],
    ['switchover to the sync standby', input({ candidate: 'b' }), { ok: true, action: 'switchover' }],
    ['switchover to the healthiest', input(), { ok: true, action: 'switchover' }],
    [
      'switchover to the healthiest with no sync standby',
      input({ cluster: { leader: 'a', members: ['a', 'b', 'c'].map((n) => aMember(n)), optime: LSN, history: [], sync: { leader: 'a', syncStandby: [] } } }),
      { ok: false, status: 412, message: 'switchover is not possible: can not find sync_standby' },
    ],
    [
      'failover without a leader bypasses the sync check (Patroni)',
      input({ kind: 'failover', leader: undefined, candidate: 'c', cluster: { leader: null, members: ['a', 'b', 'c'].map((n) => aMember(n)), optime: LSN, history: [], sync: { leader: 'a', syncStandby: ['b'] } } }),
      { ok: true, action: 'failover' },
    ],
    ['synchronous_mode off', input({ candidate: 'c', settings: resolveSettings(null) }), { ok: true, action: 'switchover' }],
  ])('checkSwitchoverRequest: %s', (_label, req, expected) => {
    expect(checkSwitchoverRequest(req)).toEqual(expected);
  });
});
