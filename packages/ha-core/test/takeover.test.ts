import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import { heartbeatStopped, HEARTBEAT_STALL_SECONDS } from '../src/takeover.ts';
import type { Decision, LeaseView, Observation, TakeoverProbe } from '../src/types.ts';
import { aPeer, anObservation, type ObservationBuilder } from './builders.ts';

/**
 * Synchronous mode's early takeover: I am (a), the synchronous standby of leader (b); (c) is an
 * asynchronous replica. By default everything says b is dead: its heartbeat stopped, I no longer
 * stream, its PostgreSQL and REST API do not answer, c does not stream either.
 */
const stopped: LeaseView = { state: 'alive', ttl: 26, grantedTtl: 30 };
const probe = (p: Partial<TakeoverProbe> = {}): TakeoverProbe => ({ leader: 'b', lease: '7587', leaseTtl: stopped, pgUnreachable: true, ...p });
const deadPeers = [aPeer('b', { reachable: false, role: null, state: null, lsn: null }), aPeer('c', { streaming: false })];

const standbyOfB = (): ObservationBuilder =>
  anObservation('a')
    .withLeader('b')
    .syncMode()
    .withSync('b', 'a')
    .withRevisions({ leader: 100, lease: '7587', sync: 101 })
    .asReplica({ streaming: false })
    .following('b')
    .withPeers(...deadPeers)
    .withTakeover(probe());

const takes = (d: Decision) => d.verdict === 'sync_takeover';

describe('heartbeat', () => {
  it.each<[LeaseView, boolean]>([
    [{ state: 'alive', ttl: 29, grantedTtl: 30 }, false],
    [{ state: 'alive', ttl: 30 - HEARTBEAT_STALL_SECONDS, grantedTtl: 30 }, false],
    [{ state: 'alive', ttl: 30 - HEARTBEAT_STALL_SECONDS - 1, grantedTtl: 30 }, true],
    [{ state: 'alive', ttl: 0, grantedTtl: 30 }, true],
    [{ state: 'gone' }, true],
    [{ state: 'unknown' }, false],
  ])('%j stopped: %s', (lease, expected) => {
    expect(heartbeatStopped(lease)).toBe(expected);
  });
});

describe('early takeover in synchronous mode', () => {
  it('the sync standby takes the key over with the revisions it read, then promotes', () => {
    const d = decide(standbyOfB().build());
    expect(d.verdict).toBe('sync_takeover');
    expect(d.actions).toEqual([{ type: 'takeOverLock', oldLeader: 'b', leaderRevision: 100, syncRevision: 101 }, { type: 'promote' }]);
    expect(d.reason).toContain('taking over from (b) before its lease expires');
  });

  it('also when the lease is already gone but the snapshot still showed the key', () => {
    expect(takes(decide(standbyOfB().withTakeover(probe({ leaseTtl: { state: 'gone' } })).build()))).toBe(true);
  });

  const refusals: Array<[string, (b: ObservationBuilder) => ObservationBuilder, string | null]> = [
    ['the leader still heartbeats', (b) => b.withTakeover(probe({ leaseTtl: { state: 'alive', ttl: 29, grantedTtl: 30 } })), 'its heartbeat goes on'],
    ['the DCS cannot show the heartbeat (e.g. ZooKeeper)', (b) => b.withTakeover(probe({ leaseTtl: { state: 'unknown' } })), 'the DCS does not show its heartbeat'],
    ['I still stream from it', (b) => b.asReplica({ streaming: true }), 'I still stream from it'],
    ['its PostgreSQL answers', (b) => b.withTakeover(probe({ pgUnreachable: false })), 'its PostgreSQL accepts connections'],
    ['its REST API answers', (b) => b.withPeers(aPeer('b', { role: 'primary' }), aPeer('c', { streaming: false })), 'its REST API answers'],
    ['another member still streams from it', (b) => b.withPeers(deadPeers[0]!, aPeer('c', { streaming: true })), '(c) still streams from it'],
    ['another member runs as a primary', (b) => b.withPeers(deadPeers[0]!, aPeer('c', { role: 'primary' })), '(c) runs as a primary'],
    ['peers were not gathered', (b) => b.withoutPeers(), 'peer statuses were not gathered'],
    // Not even considered: the follower's own decision stands.
    ['asynchronous mode', (b) => b.withSettings({ synchronousMode: false }), null],
    ['I am not listed in /sync (an asynchronous replica)', (b) => b.withSync('b', 'c'), null],
    ['/sync names another leader', (b) => b.withSync('c', 'a'), null],
    ['no /sync key', (b) => b.withSync(null), null],
    ['paused', (b) => b.paused(), null],
    ['tagged nofailover', (b) => b.withTags({ nofailover: true }), null],
    ['the probe is about another lease', (b) => b.withTakeover(probe({ lease: '9999' })), null],
    ['the probe is about another leader', (b) => b.withTakeover(probe({ leader: 'c' })), null],
    ['nothing gathered (the heartbeat looked alive)', (b) => b.withTakeover(null), null],
  ];
  it.each(refusals)('no takeover when %s', (_name, tweak, phrase) => {
    const d = decide(tweak(standbyOfB()).build());
    expect(d.verdict).not.toBe('sync_takeover');
    expect(d.actions.some((a) => a.type === 'takeOverLock' || a.type === 'promote' || a.type === 'acquireLock')).toBe(false);
    if (phrase !== null) {
      expect(d.verdict).toBe('replica_ok');
      expect(d.reason).toContain(`not taking over before its lease expires: ${phrase}`);
    } else {
      expect(d.reason).not.toContain('taking over');
    }
  });

  it('a cascading member streaming from another replica does not count as the leader alive', () => {
    const d = decide(standbyOfB().withPeers(deadPeers[0]!, aPeer('c', { streaming: true, tags: { replicatefrom: 'a' } })).build());
    expect(d.verdict).toBe('sync_takeover');
  });

  it('a leader is never overtaken while its heartbeat goes on, whatever else is observed', () => {
    // Exhaustive over the other inputs: only a stopped heartbeat allows the takeover.
    const alive: LeaseView[] = [
      { state: 'alive', ttl: 30, grantedTtl: 30 },
      { state: 'alive', ttl: 28, grantedTtl: 30 },
      { state: 'unknown' },
    ];
    let n = 0;
    for (const leaseTtl of alive)
      for (const streaming of [true, false])
        for (const pgUnreachable of [true, false])
          for (const peers of [deadPeers, [], null])
            for (const strict of [true, false]) {
              const b = standbyOfB()
                .syncMode({ strict })
                .asReplica({ streaming })
                .withTakeover(probe({ leaseTtl, pgUnreachable }));
              const obs: Observation = (peers === null ? b.withoutPeers() : b.withPeers(...peers)).build();
              const d = decide(obs);
              expect(d.actions.some((a) => a.type === 'takeOverLock' || a.type === 'promote')).toBe(false);
              n++;
            }
    expect(n).toBe(3 * 2 * 2 * 3 * 2);
  });

  it('only a member listed in /sync takes the key over', () => {
    for (const listed of [['a'], ['c'], ['a', 'c'], []]) {
      const d = decide(standbyOfB().withSync('b', ...listed).build());
      expect(takes(d)).toBe(listed.includes('a'));
    }
  });

  it('the leader itself and a stopped member never take over', () => {
    expect(takes(decide(standbyOfB().withLeader('a').asPrimary().build()))).toBe(false);
    expect(takes(decide(standbyOfB().stopped().build()))).toBe(false);
  });
});
