import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import type { Action, Verdict } from '../src/types.ts';
import type { ObservationBuilder } from './builders.ts';
import { FAILOVER_REV, LSN, NOW, anObservation, aPeer } from './builders.ts';

/**
 * Planned switchover and manual failover through the `failover` key: the leader hands over (H'), the
 * requested candidate takes over (J'), the others defer, and the former leader rejoins without
 * pg_rewind (G). Members a, b, c; the tests speak as the member each scenario is about.
 */

function expectDecision(b: ObservationBuilder, verdict: Verdict, reason: string, actions: Action[] = [], retryInMs?: number): void {
  const expected = retryInMs === undefined ? { verdict, reason, actions } : { verdict, reason, actions, retryInMs };
  expect(decide(b.build())).toEqual(expected);
}

const renewLock: Action = { type: 'renewLock' };
const acquireLock: Action = { type: 'acquireLock' };
const promote: Action = { type: 'promote' };
/** The candidate (or the former leader) removing a request: nothing to report. */
const clearFailover: Action = { type: 'clearFailover', revision: FAILOVER_REV, outcome: null };

/** The leader refuses the request: it removes exactly the revision it judged and publishes the reason as its outcome. */
function expectRefusal(b: ObservationBuilder, reason: string): void {
  expectDecision(b, 'failover_invalid', reason, [renewLock, { type: 'clearFailover', revision: FAILOVER_REV, outcome: reason }]);
}
const graceful = (candidate: string | null): Action => ({ type: 'demote', mode: 'graceful', candidate });
const MB = 1024 * 1024;

/** Where the former leader's shutdown checkpoint record starts (its /status.optime after the demote)... */
const CKPT = LSN + 0x28;
/** ...and where it ends: a replica that received it reports this position. */
const PAST_CKPT = CKPT + 0x68;
/** "2023-11-14T22:13:20+00:00" style, as Patroni writes scheduled_at. */
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', '+00:00');

describe("H'. the leader is asked to hand over", () => {
  // b and c stream from me (pg_stat_replication): a graceful demote needs the candidate to stream.
  const leader = anObservation('a')
    .withLeader('a')
    .asPrimary()
    .withPg({ slots: ['b', 'c'] })
    .withReplication(['b', 'async'], ['c', 'async'])
    .withPeers(aPeer('b'), aPeer('c'));
  const switchover = leader.withFailover({ leader: 'a', member: 'b' });

  it('demotes gracefully in favour of an eligible requested candidate', () => {
    expectDecision(switchover, 'switchover_demote', 'switchover: demoting myself in favour of (b)', [renewLock, graceful('b')]);
  });

  it('a manual failover (no leader named) to an eligible candidate is carried out the same way', () => {
    expectDecision(leader.withFailover({ member: 'b' }), 'switchover_demote', 'manual failover: demoting myself in favour of (b)', [
      renewLock,
      graceful('b'),
    ]);
  });

  it("reads Keel's older `candidate` field when `member` is absent", () => {
    expect(decide(leader.withFailover({ leader: 'a', candidate: 'c' }).build()).actions).toEqual([renewLock, graceful('c')]);
  });

  it('without a candidate it demotes in favour of the healthiest replica', () => {
    expectDecision(leader.withFailover({ leader: 'a' }), 'switchover_demote', 'switchover: demoting myself in favour of the healthiest replica', [
      renewLock,
      graceful(null),
    ]);
  });

  it('removes a request that names another leader as stale', () => {
    expectRefusal(
      leader.withFailover({ leader: 'c', member: 'b' }),
      'switchover: leader name (c) does not match (a); removing the stale request',
    );
  });

  it('removes a request that names itself as the candidate', () => {
    expectRefusal(
      leader.withFailover({ member: 'a' }),
      'manual failover: I am (a), the requested candidate, and already the leader; removing the request',
    );
  });

  it('removes a request whose candidate is not eligible, giving every reason the ranking found', () => {
    expectRefusal(
      switchover
        .withSettings({ checkTimeline: true })
        .withHistory([[1, LSN, 'no recovery target specified']])
        .withOptime(LSN)
        .withPeers(aPeer('b', { lsn: LSN - Math.round(3.2 * MB) }), aPeer('c', { timeline: 2 })),
      'switchover: candidate (b) is not eligible: lag 3.2 MB exceeds maximum_lag_on_failover 1 MB; timeline 1 is behind cluster timeline 2; removing the request',
    );
  });

  it('judges a candidate that did not answer by what the DCS says about it', () => {
    expectRefusal(
      switchover.withMember('b', { tags: { nofailover: true } }).withPeers(aPeer('c')),
      'switchover: candidate (b) is not eligible: unreachable; tagged nofailover; removing the request',
    );
  });

  it('removes a request whose candidate is not a member of the cluster', () => {
    expectRefusal(
      leader.withFailover({ leader: 'a', member: 'z' }),
      'switchover: candidate (z) is not a member of the cluster; removing the request',
    );
  });

  it('without a candidate and no eligible member, removes the request with the reasons per member', () => {
    expectRefusal(
      leader.withFailover({ leader: 'a' }).withPeers(aPeer('b', { tags: { nofailover: true } }), aPeer('c', { state: 'stopped', lsn: null })),
      'switchover: no good candidates have been found (b: tagged nofailover; c: not running (state: stopped)); removing the request',
    );
  });

  it('in a one-member cluster, removes the request', () => {
    expectRefusal(
      leader.withMembers('a').withPeers().withFailover({ leader: 'a' }),
      'switchover: the cluster has no members except the leader; removing the request',
    );
  });

  describe('waits for the candidate to stream from it before shutting down', () => {
    const notStreaming = switchover.withReplication(['c', 'async']);

    it('a candidate absent from pg_stat_replication: waits, keeping its lock, and looks again soon', () => {
      expectDecision(notStreaming, 'waiting_for_candidate', 'switchover: waiting for (b) to stream from me (5 s left)', [renewLock], 250);
    });

    it('counts from when it first saw the request (observation.now), never from a clock of its own', () => {
      expectDecision(
        notStreaming.requestSeenAt(NOW - 3_200),
        'waiting_for_candidate',
        'switchover: waiting for (b) to stream from me (2 s left)',
        [renewLock],
        250,
      );
    });

    it('a candidate still catching up is not streaming yet', () => {
      expectDecision(
        switchover.withReplicationStates(['b', 'catchup'], ['c', 'streaming']).requestSeenAt(NOW - 4_900),
        'waiting_for_candidate',
        'switchover: waiting for (b) to stream from me (1 s left)',
        [renewLock],
        100,
      );
    });

    it('demotes as soon as the candidate streams, however long it waited', () => {
      expectDecision(switchover.requestSeenAt(NOW - 4_000), 'switchover_demote', 'switchover: demoting myself in favour of (b)', [renewLock, graceful('b')]);
    });

    it('after 5 s, refuses: removes that revision of the request and publishes the reason as its outcome', () => {
      expectRefusal(notStreaming.requestSeenAt(NOW - 5_000), 'switchover: candidate (b) does not stream from me; removing the request');
    });

    it('a newer request (another revision) starts a new wait', () => {
      expectDecision(
        notStreaming.requestSeenAt(NOW - 60_000, FAILOVER_REV - 1),
        'waiting_for_candidate',
        'switchover: waiting for (b) to stream from me (5 s left)',
        [renewLock],
        250,
      );
    });

    it('without a candidate, any eligible replica that streams will do; none after 5 s is a refusal', () => {
      const healthiest = leader.withFailover({ leader: 'a' });
      expectDecision(healthiest.withReplication(['c', 'async']), 'switchover_demote', 'switchover: demoting myself in favour of the healthiest replica', [
        renewLock,
        graceful(null),
      ]);
      const nobody = healthiest.withReplication();
      expectDecision(nobody, 'waiting_for_candidate', 'switchover: waiting for an eligible replica to stream from me (5 s left)', [renewLock], 250);
      expectRefusal(nobody.requestSeenAt(NOW - 5_000), 'switchover: no eligible replica streams from me; removing the request');
    });

    it('a replica that streams but is not eligible does not count', () => {
      const healthiest = leader.withFailover({ leader: 'a' }).withPeers(aPeer('b'), aPeer('c', { tags: { nofailover: true } }));
      expectDecision(
        healthiest.withReplication(['c', 'async']),
        'waiting_for_candidate',
        'switchover: waiting for (b) to stream from me (5 s left)',
        [renewLock],
        250,
      );
    });

    it('a scheduled switchover waits from its scheduled time, not from when the request was written', () => {
      const at = NOW - 1_000;
      expectDecision(
        notStreaming.withFailover({ leader: 'a', member: 'b', scheduled_at: iso(at) }).requestSeenAt(NOW - 3_600_000),
        'waiting_for_candidate',
        'switchover: waiting for (b) to stream from me (4 s left)',
        [renewLock],
        250,
      );
    });
  });

  it('waits for the peer statuses before judging the candidate, keeping its lock and chores', () => {
    expectDecision(
      switchover.withoutPeers().withoutConfig(),
      'leader_ok',
      'no action. I am (a), the leader with the lock; the switchover waits for the peer statuses',
      [renewLock, { type: 'seedConfig' }],
    );
  });

  it("ignores the `{}` Patroni leaves behind when it clears a request", () => {
    expectDecision(leader.withFailover({}), 'leader_ok', 'no action. I am (a), the leader with the lock', [renewLock]);
  });

  describe('scheduled', () => {
    const at = (ms: number) => switchover.withFailover({ leader: 'a', member: 'b', scheduled_at: iso(ms) });

    it('waits for its time, still renewing the lock and doing its chores, and wakes up at that time', () => {
      expectDecision(
        at(NOW + 90_000).withPg({ slots: [] }),
        'switchover_scheduled',
        'switchover to (b) scheduled at 2023-11-14T22:14:50+00:00',
        [renewLock, { type: 'syncSlots', create: ['b', 'c'], drop: [] }],
        90_000,
      );
    });

    it('names the healthiest replica when no candidate is given', () => {
      const d = decide(leader.withFailover({ leader: 'a', scheduled_at: '2023-11-14T23:13:20+01:00' }).at(NOW - 500).build());
      expect(d).toMatchObject({ verdict: 'switchover_scheduled', reason: 'switchover to the healthiest replica scheduled at 2023-11-14T23:13:20+01:00', retryInMs: 500 });
    });

    it('runs once its time has come', () => {
      expectDecision(at(NOW - 1_000), 'switchover_demote', 'switchover: demoting myself in favour of (b)', [renewLock, graceful('b')]);
    });

    it('is dropped when its time passed more than 1.5 loop_wait ago (the moment is gone)', () => {
      expectRefusal(
        at(NOW - 16_000),
        'switchover: its scheduled time (2023-11-14T22:13:04+00:00) passed more than 1.5 loop_wait (15 s) ago; removing the request',
      );
    });

    it('is removed when scheduled_at has no timezone', () => {
      expectRefusal(
        switchover.withFailover({ leader: 'a', member: 'b', scheduled_at: '2023-11-14T22:14:50' }),
        'switchover: scheduled_at (2023-11-14T22:14:50) has no timezone; removing the request',
      );
    });

    it('is removed when scheduled_at is not a time', () => {
      expectRefusal(
        switchover.withFailover({ leader: 'a', member: 'b', scheduled_at: 'tomorrow' }),
        'switchover: scheduled_at (tomorrow) is not an ISO 8601 time; removing the request',
      );
    });

    it('a stale leader name is reported before the schedule is looked at', () => {
      expect(decide(at(NOW + 90_000).withFailover({ leader: 'c', scheduled_at: iso(NOW + 90_000) }).build()).verdict).toBe('failover_invalid');
    });
  });

  describe('paused', () => {
    it('a switchover to a named candidate still runs, as in Patroni', () => {
      expectDecision(switchover.paused(), 'switchover_demote', 'switchover: demoting myself in favour of (b)', [renewLock, graceful('b')]);
    });

    it('a switchover without a candidate is removed', () => {
      expectRefusal(
        leader.paused().withFailover({ leader: 'a' }),
        'switchover: only a switchover to a named candidate is possible while the cluster is paused; removing the request',
      );
    });

    it('a scheduled switchover is removed', () => {
      expectRefusal(
        switchover.paused().withFailover({ leader: 'a', member: 'b', scheduled_at: iso(NOW + 60_000) }),
        'switchover: a scheduled switchover cannot run while the cluster is paused; removing the request',
      );
    });
  });

  it('a requested candidate that holds the lock but is still a replica promotes and clears the request, even paused', () => {
    expectDecision(
      anObservation('b').withLeader('b').asReplica().paused().withFailover({ member: 'b' }),
      'leader_promote',
      'promoting self to leader because I have the session lock and I am the requested candidate',
      [renewLock, promote, clearFailover, { type: 'syncSlots', create: ['a', 'c'], drop: [] }],
    );
  });
});

describe("J'. no leader: the requested candidate takes over", () => {
  // b is the candidate; a, the former leader, shut down and wrote its checkpoint location to /status.
  const formerLeaderDown = aPeer('a', { state: 'stopped', lsn: null });
  const candidate = anObservation('b')
    .asReplica()
    .withFailover({ leader: 'a', member: 'b' })
    .withOptime(CKPT)
    .withPg({ lsn: PAST_CKPT })
    .withPeers(formerLeaderDown, aPeer('c', { lsn: PAST_CKPT }));
  const takeOver: Action[] = [acquireLock, promote, clearFailover, { type: 'syncSlots', create: ['a', 'c'], drop: [] }];

  it("past the former leader's shutdown checkpoint, takes the lock, promotes, clears the request and creates the slots", () => {
    expectDecision(
      candidate,
      'failover_promote',
      "switchover: taking the leader lock and promoting: I am the requested candidate (past the former leader's shutdown checkpoint 0/5000028)",
      takeOver,
    );
  });

  it('does not compare itself with the others: it was chosen', () => {
    const d = decide(candidate.withPeers(formerLeaderDown, aPeer('c', { lsn: PAST_CKPT + 16, tags: { failover_priority: 9 } })).build());
    expect(d.verdict).toBe('failover_promote');
  });

  it('still streaming and not past the checkpoint, looks again in 50 ms', () => {
    expectDecision(
      candidate.withPg({ lsn: CKPT }),
      'waiting_for_shutdown_checkpoint',
      "switchover: waiting to promote: my WAL position 0/5000028 has not passed the former leader's shutdown checkpoint 0/5000028",
      [],
      50,
    );
  });

  it('no longer streaming and not past the checkpoint, withdraws the request rather than lose WAL', () => {
    expectDecision(
      candidate.asReplica({ streaming: false }).withPg({ lsn: LSN }),
      'failover_abandoned',
      "switchover: my WAL position 0/5000000 has not passed the former leader's shutdown checkpoint 0/5000028 and I no longer stream WAL; removing the request so that the healthiest member takes over",
      [clearFailover],
    );
  });

  it('in a manual failover (no leader named) promotes at once: there is no checkpoint to wait for', () => {
    expectDecision(
      candidate.withFailover({ member: 'b' }).asReplica({ streaming: false }).withPg({ lsn: LSN }),
      'failover_promote',
      'manual failover: taking the leader lock and promoting: I am the requested candidate',
      takeOver,
    );
  });

  it('does not take over while a primary is still alive', () => {
    expectDecision(
      candidate.withPeers(aPeer('a', { role: 'primary' })),
      'not_healthiest',
      'switchover: I am the requested candidate but primary (a) is still alive',
      [],
      100,
    );
  });

  it('does not take over without the peer statuses', () => {
    expectDecision(candidate.withoutPeers(), 'not_healthiest', 'switchover: I am the requested candidate but the peer statuses were not gathered');
  });

  it('tagged nofailover, does not take over', () => {
    expectDecision(
      candidate.withTags({ nofailover: true }),
      'not_allowed_to_promote',
      'no action. I am (b), a secondary, and tagged nofailover, so I do not race for the lock',
    );
  });

  it('paused, still takes over: a manual switchover is allowed in pause', () => {
    expectDecision(
      candidate.paused(),
      'failover_promote',
      "switchover: taking the leader lock and promoting: I am the requested candidate (past the former leader's shutdown checkpoint 0/5000028)",
      takeOver,
    );
  });
});

describe("J'. no leader: the other members", () => {
  const other = anObservation('c')
    .asReplica()
    .withFailover({ leader: 'a', member: 'b' })
    .withOptime(CKPT)
    .withPg({ lsn: PAST_CKPT });
  const formerLeader = aPeer('a', { state: 'stopped', lsn: null });

  it('defer to the requested candidate while it can take over', () => {
    expectDecision(
      other.withPeers(formerLeader, aPeer('b', { lsn: CKPT })),
      'not_healthiest',
      'I am not the healthiest member: a switchover to (b) is requested',
    );
  });

  it('race when the candidate cannot act, ignoring the former leader as a rival', () => {
    expectDecision(
      other.withPeers(aPeer('a', { lsn: PAST_CKPT + 16 }), aPeer('b', { reachable: false })).withPg({ slots: [] }),
      'race_for_lock',
      'racing for the leader lock and promoting: I am the healthiest member',
      [acquireLock, promote, { type: 'syncSlots', create: ['a', 'b'], drop: [] }],
    );
  });

  it("wait 50 ms before racing while they stream and are not past the former leader's checkpoint", () => {
    expectDecision(
      other.withFailover({ leader: 'a' }).withPg({ lsn: CKPT - 8 }).withPeers(formerLeader),
      'waiting_for_shutdown_checkpoint',
      "switchover: waiting before racing for the lock: my WAL position 0/5000020 has not passed the former leader's shutdown checkpoint 0/5000028",
      [],
      50,
    );
  });

  it("do not race when they no longer stream and are not past the former leader's checkpoint", () => {
    expectDecision(
      other.withFailover({ leader: 'a' }).asReplica({ streaming: false }).withPg({ lsn: CKPT }).withPeers(formerLeader),
      'not_healthiest',
      "I am not the healthiest member: my WAL position 0/5000028 has not passed the former leader's shutdown checkpoint 0/5000028",
    );
  });

  it('paused, do nothing', () => {
    expectDecision(other.paused().withPeers(formerLeader), 'paused', 'PAUSE: no action. I am (c) and the cluster has no leader');
  });

  it('a request scheduled for later does not hold up the race: its former leader, still primary, takes its lock back', () => {
    expectDecision(
      anObservation('a').asPrimary().withFailover({ leader: 'a', member: 'b', scheduled_at: iso(NOW + 3_600_000) }),
      'race_for_lock',
      'racing for the leader lock as the running primary',
      [acquireLock],
    );
  });
});

describe("J' and G. no leader: the former leader of the switchover", () => {
  const switchover = { leader: 'a', member: 'b' };
  const candidateReady = aPeer('b', { lsn: PAST_CKPT });
  const stoppedLeader = anObservation('a').stopped('shut down', CKPT).formerPrimary().withFailover(switchover).withOptime(CKPT);

  it('stays stopped after its graceful demote until the candidate takes over, looking again in 200 ms', () => {
    expectDecision(
      stoppedLeader.withPeers(candidateReady, aPeer('c', { lsn: PAST_CKPT })),
      'waiting_for_switchover',
      'switchover: waiting for (b) to take over before starting as a secondary',
      [],
      200,
    );
  });

  it('without a candidate, waits for whoever can take over', () => {
    expectDecision(
      stoppedLeader.withFailover({ leader: 'a' }).withPeers(candidateReady, aPeer('c', { lsn: PAST_CKPT })),
      'waiting_for_switchover',
      'switchover: waiting for (b, c) to take over before starting as a secondary',
      [],
      200,
    );
  });

  it('withdraws the request when nobody can take over, so that the normal race (itself included) resumes', () => {
    expectDecision(
      stoppedLeader.withPeers(aPeer('b', { reachable: false }), aPeer('c', { lsn: CKPT, tags: { nofailover: true } })),
      'failover_abandoned',
      'switchover: no other member can take over (b: unreachable; c: tagged nofailover, WAL position 0/5000028 has not passed the shutdown checkpoint 0/5000028); removing the request',
      [clearFailover],
    );
  });

  it('starts as usual when the peer statuses were not gathered', () => {
    expectDecision(stoppedLeader.withoutPeers(), 'start_replica', 'starting as a secondary because the cluster has no leader yet', [
      { type: 'startReplica', leader: null },
    ]);
  });

  it('after a manual failover (which does not name it), a member that shut down cleanly waits as well', () => {
    expectDecision(
      stoppedLeader.withFailover({ member: 'b' }).withPeers(aPeer('b', { lsn: LSN })),
      'waiting_for_switchover',
      'manual failover: waiting for (b) to take over before starting as a secondary',
      [],
      200,
    );
  });

  it('running, does not race while another member can take over', () => {
    expectDecision(
      anObservation('a').asReplica({ streaming: false }).withFailover(switchover).withOptime(CKPT).withPeers(candidateReady),
      'not_healthiest',
      'I am not the healthiest member: I am the former leader of the switchover and (b) can take over',
    );
  });

  it('running, withdraws the request when nobody can take over', () => {
    expectDecision(
      anObservation('a').asReplica().withFailover(switchover).withOptime(CKPT).withPeers(aPeer('b', { state: 'stopped' }), aPeer('c', { lsn: CKPT })),
      'failover_abandoned',
      'switchover: no other member can take over (b: not running (state: stopped); c: WAL position 0/5000028 has not passed the shutdown checkpoint 0/5000028); removing the request',
      [clearFailover],
    );
  });

  it('running as primary without the lock, demotes while another member can take over', () => {
    expectDecision(
      anObservation('a').asPrimary().withFailover(switchover).withOptime(CKPT).withPeers(candidateReady),
      'not_healthiest',
      'demoting self because I am not the healthiest member: I am the former leader of the switchover and (b) can take over',
      [{ type: 'demote', mode: 'immediate-nolock' }],
    );
  });
});

describe('G. the former primary rejoins after a clean switchover', () => {
  const fork = (at: number): [number, number, string, string, string] => [1, at, 'no recovery target specified', iso(NOW - 1_000), 'b'];
  const oldPrimary = anObservation('a').withLeader('b', 2).stopped('shut down', CKPT).formerPrimary();

  it('follows the new leader without pg_rewind or a new clone when it shut down before the fork, even with use_pg_rewind off', () => {
    expectDecision(
      oldPrimary.withHistory([fork(PAST_CKPT)]),
      'follow_after_clean_switchover',
      'following new leader (b) without pg_rewind: I shut down cleanly at 0/5000028, before timeline 1 ended at 0/5000090',
      [{ type: 'startReplica', leader: 'b' }],
    );
  });

  it('finishes a switchover done in pause: follows the new leader (only this clean case starts PostgreSQL in pause)', () => {
    expect(decide(oldPrimary.paused().withHistory([fork(PAST_CKPT)]).build()).verdict).toBe('follow_after_clean_switchover');
    expect(decide(oldPrimary.paused().withHistory([fork(CKPT)]).build()).verdict).toBe('paused');
  });

  it('follows through later timelines too (the history says where timeline 1 ended)', () => {
    expect(decide(oldPrimary.withLeader('b', 3).withHistory([fork(PAST_CKPT), [2, PAST_CKPT + 4096, 'no recovery target specified']]).build()).verdict).toBe(
      'follow_after_clean_switchover',
    );
  });

  it('has diverged when its shutdown checkpoint is at or past the fork: re-clone when use_pg_rewind is off', () => {
    expectDecision(
      oldPrimary.withHistory([fork(CKPT)]),
      'reinitialize',
      'reinitializing from (b) because I was a primary and may have diverged and use_pg_rewind is off',
      [{ type: 'reinitialize', from: 'b' }],
    );
  });

  it('waits 200 ms for the new leader to record the fork while it is still promoting', () => {
    expectDecision(
      oldPrimary.withMember('b', { role: 'replica', timeline: 1 }),
      'waiting_for_leader',
      'waiting for the new leader (b) to record where timeline 1 ended before following it',
      [],
      200,
    );
  });

  it('does not wait for a fork the leader will not record (it already runs on a newer timeline): rewinds', () => {
    expectDecision(
      oldPrimary.withSettings({ useRewind: true }),
      'rewind',
      'running pg_rewind from (b) because I was a primary and may have diverged',
      [{ type: 'rewind', from: 'b' }],
    );
  });

  it('a primary that crashed is not clean: it is rewound even before the fork', () => {
    expect(decide(oldPrimary.stopped('in production', CKPT).withHistory([fork(PAST_CKPT)]).build()).verdict).toBe('reinitialize');
  });
});
