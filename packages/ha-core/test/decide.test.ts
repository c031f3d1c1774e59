import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import type { Action, Verdict } from '../src/types.ts';
import type { ObservationBuilder } from './builders.ts';
import { LSN, NOW, SYSID, anObservation, aPeer } from './builders.ts';

function expectDecision(b: ObservationBuilder, verdict: Verdict, reason: string, actions: Action[] = []): void {
  expect(decide(b.build())).toEqual({ verdict, reason, actions });
}
// Manual failover and switchover (the `failover` key): switchover.test.ts.

const renewLock: Action = { type: 'renewLock' };
const acquireLock: Action = { type: 'acquireLock' };
const releaseLock: Action = { type: 'releaseLock' };
const promote: Action = { type: 'promote' };
const demote = (mode: 'immediate' | 'immediate-nolock' | 'offline'): Action => ({ type: 'demote', mode });
const MB = 1024 * 1024;

describe('A. the DCS is unreachable', () => {
  it('a primary that cannot reach the DCS demotes offline', () => {
    expectDecision(
      anObservation().asPrimary().dcsDown('etcd: deadline exceeded'),
      'dcs_unreachable_demote',
      'demoting self because DCS is not accessible and I was a leader (etcd: deadline exceeded)',
      [demote('offline')],
    );
  });

  it('a primary that cannot reach the DCS demotes even with an action in flight and even when paused', () => {
    expectDecision(
      anObservation().asPrimary().inFlight('restart').paused().dcsDown(),
      'dcs_unreachable_demote',
      'demoting self because DCS is not accessible and I was a leader (connection refused)',
      [demote('offline')],
    );
  });

  it('a replica that cannot reach the DCS does nothing', () => {
    expectDecision(anObservation().asReplica().dcsDown(), 'dcs_unreachable', 'no action. DCS is not accessible (connection refused)');
  });
});

describe('B. a long action is in flight', () => {
  it('a member cloning waits and names the action', () => {
    expectDecision(anObservation().withEmptyDataDir().withLeader('b').inFlight('clone'), 'action_in_progress', 'clone in progress');
  });

  it('the lock holder keeps renewing its lock while it starts as primary', () => {
    expectDecision(
      anObservation().withLeader('a').stopped('in crash recovery').inFlight('startPrimary'),
      'action_in_progress',
      'start as primary in progress',
      [renewLock],
    );
  });

  it('a running primary that sees another lock holder demotes even with an action in flight', () => {
    expectDecision(
      anObservation().withLeader('b').asPrimary().inFlight('restart'),
      'lost_lock_demote',
      'demoting self because (b) holds the lock and I was a primary',
      [demote('immediate-nolock')],
    );
  });

  it('a start as primary that overruns primary_start_timeout is stopped and the lock handed over', () => {
    expectDecision(
      anObservation()
        .withLeader('a')
        .stopped('in crash recovery')
        .inFlight('startPrimary')
        .withMemory({ pgDownSince: NOW - 301_000 }),
      'release_lock_start_timeout',
      'releasing the leader lock because PostgreSQL did not start within primary_start_timeout (300 s)',
      [demote('immediate')],
    );
  });
});

describe('C. the cluster is not initialized', () => {
  const fresh = anObservation().uninitialized().withEmptyDataDir();

  it('an empty member races to bootstrap a new cluster', () => {
    expectDecision(fresh, 'bootstrap_race', 'trying to bootstrap a new cluster', [
      { type: 'claimInitialize', value: '' },
      { type: 'bootstrap' },
    ]);
  });

  it('an empty member tagged nofailover waits for another member to bootstrap', () => {
    expectDecision(
      fresh.withTags({ nofailover: true }),
      'waiting_for_bootstrap',
      'waiting for another member to bootstrap the cluster because I am tagged nofailover',
    );
  });

  it('an empty member with failover_priority 0 waits for another member to bootstrap', () => {
    expectDecision(
      fresh.withTags({ failover_priority: 0 }),
      'waiting_for_bootstrap',
      'waiting for another member to bootstrap the cluster because I am tagged failover_priority 0',
    );
  });

  it('an explicit nofailover: false wins over failover_priority 0, as in Patroni', () => {
    expect(decide(fresh.withTags({ nofailover: false, failover_priority: 0 }).build()).verdict).toBe('bootstrap_race');
  });

  it('a paused member does not bootstrap', () => {
    expectDecision(fresh.paused(), 'paused', 'PAUSE: no action. The cluster is not initialized and I will not bootstrap it');
  });

  it('a member with existing data adopts it as the cluster', () => {
    expectDecision(
      anObservation().uninitialized().stopped('shut down'),
      'adopt_existing_data',
      `initializing the cluster from my existing data directory (system identifier ${SYSID})`,
      [{ type: 'claimInitialize', value: SYSID }],
    );
  });

  it('a member with existing data but tagged nofailover does not claim the cluster', () => {
    expectDecision(
      anObservation().uninitialized().withTags({ nofailover: true }),
      'waiting_for_bootstrap',
      'waiting for another member to bootstrap the cluster because I am tagged nofailover',
    );
  });

  it('a member whose system identifier cannot be read waits', () => {
    expectDecision(
      anObservation().uninitialized().stopped().withPg({ sysid: null }),
      'waiting_for_bootstrap',
      'waiting for another member to bootstrap the cluster because my system identifier is unknown',
    );
  });
});

describe('D. the system identifier does not match', () => {
  it('a data directory from another cluster is fatal, naming both identifiers', () => {
    const message = `system identifier mismatch: the cluster was initialized with ${SYSID} but my data directory has 7390000000000000999`;
    expectDecision(anObservation().withLeader('b').withPg({ sysid: '7390000000000000999' }), 'sysid_mismatch', message, [
      { type: 'fatal', message },
    ]);
  });
});

describe('E. another member is bootstrapping', () => {
  it('a member waits while another one bootstraps and has not taken the lock yet', () => {
    expectDecision(
      anObservation().bootstrapping().withEmptyDataDir(),
      'waiting_for_bootstrap',
      'waiting for another member to finish bootstrapping the cluster',
    );
  });
});

describe('F. the data directory is empty', () => {
  it('an empty member clones from the leader', () => {
    expectDecision(anObservation().withEmptyDataDir().withLeader('b'), 'clone', 'trying to bootstrap from leader (b)', [
      { type: 'clone', from: 'b' },
    ]);
  });

  it('an empty member prefers a running replica tagged clonefrom', () => {
    expectDecision(
      anObservation()
        .withEmptyDataDir()
        .withLeader('b')
        .withMember('c', { tags: { clonefrom: true } })
        .withMember('d', { tags: { clonefrom: true }, state: 'stopped' }),
      'clone',
      'trying to bootstrap from replica (c), tagged clonefrom',
      [{ type: 'clone', from: 'c' }],
    );
  });

  it('an empty member with no leader waits for one', () => {
    expectDecision(anObservation().withEmptyDataDir(), 'waiting_for_leader', 'waiting for a leader to clone from');
  });

  it('a lock holder whose data directory is empty releases the lock', () => {
    expectDecision(
      anObservation().withEmptyDataDir().withLeader('a'),
      'release_lock_empty_data_dir',
      'releasing the leader lock because my data directory is empty',
      [releaseLock],
    );
  });

  it('a paused empty member does not clone', () => {
    expectDecision(anObservation().withEmptyDataDir().withLeader('b').paused(), 'paused', 'PAUSE: no action. My data directory is empty');
  });
});

describe('G. PostgreSQL is not running', () => {
  it('the lock holder restarts its crashed primary in place', () => {
    expectDecision(
      anObservation().withLeader('a').stopped('in crash recovery').withMemory({ pgDownSince: NOW - 10_000 }),
      'start_primary_after_crash',
      'starting primary after failure',
      [renewLock, { type: 'startPrimary' }],
    );
  });

  it('the lock holder releases the lock once PostgreSQL has been down for primary_start_timeout', () => {
    expectDecision(
      anObservation().withLeader('a').stopped('in crash recovery').withMemory({ pgDownSince: NOW - 300_000 }),
      'release_lock_start_timeout',
      'releasing the leader lock because PostgreSQL did not start within primary_start_timeout (300 s)',
      [releaseLock],
    );
  });

  it('with primary_start_timeout 0 the lock holder hands over at once', () => {
    expectDecision(
      anObservation().withLeader('a').stopped('in production').withSettings({ primaryStartTimeout: 0 }).withMemory({ pgDownSince: NOW }),
      'release_lock_start_timeout',
      'releasing the leader lock because PostgreSQL did not start within primary_start_timeout (0 s)',
      [releaseLock],
    );
  });

  it('a paused lock holder releases the lock instead of starting PostgreSQL', () => {
    expectDecision(
      anObservation().withLeader('a').stopped('shut down').paused(),
      'paused',
      'PAUSE: releasing the leader lock because PostgreSQL is not running',
      [releaseLock],
    );
  });

  it('a stopped former primary rewinds from the leader when use_pg_rewind is on', () => {
    expectDecision(
      anObservation().withLeader('b').stopped('shut down in recovery').formerPrimary().withSettings({ useRewind: true }),
      'rewind',
      'running pg_rewind from (b) because I was a primary and may have diverged',
      [{ type: 'rewind', from: 'b' }],
    );
  });

  it("a stopped member whose control state says 'in production' is a former primary", () => {
    expectDecision(
      anObservation().withLeader('b').stopped('in production'),
      'reinitialize',
      'reinitializing from (b) because I was a primary and may have diverged and use_pg_rewind is off',
      [{ type: 'reinitialize', from: 'b' }],
    );
  });

  it('a stopped member whose last rewind failed reinitializes', () => {
    expectDecision(
      anObservation()
        .withLeader('b')
        .stopped('shut down in recovery')
        .withSettings({ useRewind: true })
        .withMemory({ formerPrimary: true, lastFailure: { kind: 'rewind', at: NOW - 1000, message: 'could not find common ancestor' } }),
      'reinitialize',
      'reinitializing from (b) because pg_rewind failed',
      [{ type: 'reinitialize', from: 'b' }],
    );
  });

  it('a stopped replica starts following the leader', () => {
    expectDecision(anObservation().withLeader('b').stopped('shut down in recovery'), 'start_replica', 'starting as a secondary following (b)', [
      { type: 'startReplica', leader: 'b' },
    ]);
  });

  it('a stopped member starts read-only when the cluster has no leader', () => {
    expectDecision(
      anObservation().stopped('in production').formerPrimary(),
      'start_replica',
      'starting as a secondary because the cluster has no leader yet',
      [{ type: 'startReplica', leader: null }],
    );
  });

  it('a paused stopped member stays stopped', () => {
    expectDecision(anObservation().withLeader('b').stopped().paused(), 'paused', 'PAUSE: no action. PostgreSQL is not running');
    expectDecision(
      anObservation().stopped().paused(),
      'paused',
      'PAUSE: no action. PostgreSQL is not running and the cluster has no leader',
    );
  });
});

describe('H. I hold the lock and PostgreSQL runs', () => {
  const leader = anObservation().withLeader('a').asPrimary().withPg({ slots: ['b', 'c'] });
  const OK = 'no action. I am (a), the leader with the lock';

  it('the leader with the lock renews it and does nothing else', () => {
    expectDecision(leader, 'leader_ok', OK, [renewLock]);
  });

  it('the leader creates the slots of new members and drops the others', () => {
    expectDecision(leader.withPg({ slots: ['b', 'gone', 'manual'] }).withMember('d-1'), 'leader_ok', OK, [
      renewLock,
      { type: 'syncSlots', create: ['c', 'd_1'], drop: ['gone', 'manual'] },
    ]);
  });

  it('the leader never drops a permanent physical slot nor one matched by ignore_slots', () => {
    const settings = { permanentSlots: { barman: { type: 'physical' as const } }, ignoreSlots: [{ name: 'manual' }] };
    expectDecision(leader.withPg({ slots: ['b', 'c', 'barman', 'manual', 'gone'] }).withSettings(settings), 'leader_ok', OK, [
      renewLock,
      { type: 'syncSlots', create: [], drop: ['gone'] },
    ]);
  });

  it('the leader leaves slots alone when use_slots is off', () => {
    expectDecision(leader.withPg({ slots: [] }).withSettings({ useSlots: false }), 'leader_ok', OK, [renewLock]);
  });

  it('the leader seeds /config after renewing when it is missing', () => {
    expectDecision(leader.withoutConfig(), 'leader_ok', OK, [renewLock, { type: 'seedConfig' }]);
  });

  it('the leader re-creates a deleted /initialize with its system identifier', () => {
    expectDecision(leader.uninitialized(), 'leader_ok', OK, [
      renewLock,
      { type: 'claimInitialize', value: SYSID },
    ]);
  });

  it('a replica holding the lock promotes itself and creates the member slots', () => {
    expectDecision(
      anObservation().withLeader('a').asReplica(),
      'leader_promote',
      'promoting self to leader because I have the session lock',
      [renewLock, promote, { type: 'syncSlots', create: ['b', 'c'], drop: [] }],
    );
  });

  it('a paused replica holding the lock releases it instead of promoting', () => {
    expectDecision(
      anObservation().withLeader('a').asReplica().paused(),
      'paused',
      'PAUSE: releasing the leader lock because I am no longer a primary',
      [releaseLock],
    );
  });

  it('a replica tagged nofailover that holds the lock releases it', () => {
    expectDecision(
      anObservation().withLeader('a').asReplica().withTags({ nofailover: true }),
      'not_allowed_to_promote',
      'releasing the leader lock because I am a secondary and tagged nofailover',
      [releaseLock],
    );
  });
});

describe('I. another member holds the lock and PostgreSQL runs', () => {
  it('a primary that sees another lock holder demotes without touching the lock', () => {
    expectDecision(
      anObservation().withLeader('b').asPrimary(),
      'lost_lock_demote',
      'demoting self because (b) holds the lock and I was a primary',
      [demote('immediate-nolock')],
    );
  });

  it('a primary demotes on lock loss even when paused (split brain beats pause)', () => {
    expect(decide(anObservation().withLeader('b').asPrimary().paused().build()).actions).toEqual([demote('immediate-nolock')]);
  });

  const diverged = anObservation()
    .withLeader('b', 2)
    .asReplica({ streaming: false })
    .formerPrimary()
    .following('b')
    .withSettings({ useRewind: true });

  it('a former primary that does not stream and is on an older timeline rewinds', () => {
    expectDecision(diverged, 'rewind', "running pg_rewind from (b) because I was a primary and my timeline 1 is behind the leader's 2", [
      { type: 'rewind', from: 'b' },
    ]);
  });

  it('a former primary that streams from the leader is left alone', () => {
    expectDecision(
      diverged.asReplica({ streaming: true }),
      'replica_ok',
      'no action. I am (a), a secondary, and following a leader (b)',
    );
  });

  it('a paused diverged former primary is left alone', () => {
    expectDecision(diverged.paused(), 'paused', "PAUSE: no action. I was a primary and my timeline 1 is behind the leader's 2");
  });

  it('a replica that follows another member switches to the leader', () => {
    expectDecision(anObservation().withLeader('b').asReplica().following('c'), 'follow_leader', 'following new leader (b)', [
      { type: 'follow', leader: 'b' },
    ]);
  });

  it('a replica tagged replicatefrom follows that running member (cascading replication)', () => {
    expectDecision(
      anObservation().withLeader('b').withTags({ replicatefrom: 'c' }).asReplica().following('b'),
      'follow_leader',
      'following (c) as tagged replicatefrom; the leader is (b)',
      [{ type: 'follow', leader: 'c' }],
    );
    expectDecision(
      anObservation().withLeader('b').withTags({ replicatefrom: 'c' }).asReplica().following('c'),
      'replica_ok',
      'no action. I am (a), a secondary, and following (c), which replicates from the leader (b)',
    );
  });

  it('a replica creates the slots of the members that cascade from it', () => {
    const obs = anObservation()
      .withLeader('b')
      .asReplica()
      .withPg({ slots: [] })
      .following('b')
      .withMember('c', { tags: { replicatefrom: 'a' } });
    expectDecision(obs, 'replica_ok', 'creating replication slots for the members that replicate from me (a)', [
      { type: 'syncSlots', create: ['c'], drop: [] },
    ]);
  });

  it('the leader keeps no slot for a member that cascades from a running replica', () => {
    const obs = anObservation()
      .withLeader('a')
      .asPrimary()
      .withPg({ slots: ['b', 'c'] })
      .withMember('c', { tags: { replicatefrom: 'b' } });
    expect(decide(obs.build()).actions).toContainEqual({ type: 'syncSlots', create: [], drop: ['c'] });
  });

  it('a replica tagged replicatefrom a member that is not running follows the leader', () => {
    const obs = anObservation().withLeader('b').withTags({ replicatefrom: 'zz' }).asReplica().following('zz');
    expectDecision(obs, 'follow_leader', 'following new leader (b)', [{ type: 'follow', leader: 'b' }]);
  });

  it('a replica following the leader does nothing', () => {
    expectDecision(
      anObservation().withLeader('b').asReplica().following('b'),
      'replica_ok',
      'no action. I am (a), a secondary, and following a leader (b)',
    );
  });
});

describe('J. nobody holds the lock and PostgreSQL runs', () => {
  const replica = anObservation().asReplica().withPg({ slots: [] });
  const race: Action[] = [acquireLock, promote, { type: 'syncSlots', create: ['b', 'c'], drop: [] }];

  it('a paused member does not race', () => {
    expectDecision(replica.paused(), 'paused', 'PAUSE: no action. I am (a) and the cluster has no leader');
  });

  it('a replica tagged nofailover does not race', () => {
    expectDecision(
      replica.withTags({ nofailover: true }),
      'not_allowed_to_promote',
      'no action. I am (a), a secondary, and tagged nofailover, so I do not race for the lock',
    );
  });

  it('a primary tagged failover_priority 0 demotes rather than run next to the winner', () => {
    expectDecision(
      anObservation().asPrimary().withTags({ failover_priority: 0 }),
      'not_allowed_to_promote',
      'demoting self because the cluster has no leader and I am tagged failover_priority 0',
      [demote('immediate-nolock')],
    );
  });

  it('the healthiest replica races for the lock, promotes and creates the member slots', () => {
    expectDecision(
      replica.withPeers(aPeer('b', { lsn: LSN - 100 }), aPeer('c', { lsn: LSN })),
      'race_for_lock',
      'racing for the leader lock and promoting: I am the healthiest member',
      race,
    );
  });

  it('a replica whose lag exceeds maximum_lag_on_failover does not race', () => {
    expectDecision(
      replica.withOptime(LSN + Math.round(3.2 * MB)),
      'not_healthiest',
      'I am not the healthiest member: lag 3.2 MB exceeds maximum_lag_on_failover 1 MB',
    );
  });

  it('with check_timeline a replica behind the cluster timeline does not race', () => {
    expectDecision(
      replica.withSettings({ checkTimeline: true }).withHistory([[1, LSN, 'no recovery target specified']]),
      'not_healthiest',
      'I am not the healthiest member: timeline 1 is behind cluster timeline 2',
    );
  });

  it('a replica does not race while a reachable primary is still alive', () => {
    expectDecision(
      replica.withPeers(aPeer('b', { role: 'master' })),
      'not_healthiest',
      'I am not the healthiest member: primary (b) is still alive',
    );
  });

  it('a replica does not race against a peer with a higher WAL position', () => {
    expectDecision(
      replica.withPeers(aPeer('b', { lsn: LSN + 16 })),
      'not_healthiest',
      'I am not the healthiest member: (b) has a higher WAL position (0/5000010 > 0/5000000)',
    );
  });

  it('a replica does not race against a peer at the same position with a higher failover_priority', () => {
    expectDecision(
      replica.withPeers(aPeer('b', { tags: { failover_priority: 2 } })),
      'not_healthiest',
      'I am not the healthiest member: (b) has the same WAL position and a higher failover_priority (2 > 1)',
    );
  });

  it('equal position and equal priority: both race and the DCS decides', () => {
    expect(decide(replica.withPeers(aPeer('b')).build()).verdict).toBe('race_for_lock');
  });

  it('a peer that may not promote, or is unreachable, or is not running, does not hold a replica back', () => {
    const d = decide(
      replica
        .withPeers(
          aPeer('b', { lsn: LSN + 16, tags: { nofailover: true } }),
          aPeer('c', { lsn: LSN + 16, reachable: false, role: 'primary' }),
          aPeer('d', { lsn: LSN + 16, state: 'stopped' }),
        )
        .build(),
    );
    expect(d.verdict).toBe('race_for_lock');
  });

  it('a failover intent naming an unreachable member is ignored', () => {
    const obs = replica.withPeers(aPeer('b', { reachable: false })).withFailover({ candidate: 'b' }).build();
    expect(decide(obs).verdict).toBe('race_for_lock');
  });

  it('a replica does not race when the peers were not gathered', () => {
    expectDecision(replica.withoutPeers(), 'not_healthiest', 'I am not the healthiest member: peer statuses were not gathered');
  });

  it('a primary whose lease expired takes the lock back without comparing itself to replicas', () => {
    expectDecision(
      anObservation().asPrimary().withPeers(aPeer('b', { lsn: LSN + 16, tags: { failover_priority: 5 } })),
      'race_for_lock',
      'racing for the leader lock as the running primary',
      [acquireLock],
    );
  });

  it('a primary behind the cluster timeline demotes instead of taking the lock back (check_timeline off)', () => {
    expectDecision(
      anObservation().asPrimary().withHistory([[1, LSN, 'no recovery target specified']]),
      'not_healthiest',
      'demoting self because I am not the healthiest member: timeline 1 is behind cluster timeline 2',
      [demote('immediate-nolock')],
    );
  });

  it('a primary that sees another primary alive demotes', () => {
    expectDecision(
      anObservation().asPrimary().withPeers(aPeer('b', { role: 'primary' })),
      'not_healthiest',
      'demoting self because I am not the healthiest member: primary (b) is still alive',
      [demote('immediate-nolock')],
    );
  });
});
