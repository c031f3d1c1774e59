import { describe, expect, it } from 'vitest';
import { CLONE_RETRY_CAP_MS, cloneRetryDelayMs } from '../src/backoff.ts';
import { decide } from '../src/decide.ts';
import type { Action, Decision, Verdict } from '../src/types.ts';
import type { ObservationBuilder } from './builders.ts';
import { LSN, NOW, anObservation, aPeer } from './builders.ts';

// Decisions that make Keel behave as Patroni 3.0.2 in the agent's lifecycle: the watchdog in
// required mode, the clone backoff, and a running primary in pause taking the lock.

function expectDecision(b: ObservationBuilder, verdict: Verdict, reason: string, actions: Action[] = [], retryInMs?: number): void {
  const want: Decision = retryInMs === undefined ? { verdict, reason, actions } : { verdict, reason, actions, retryInMs };
  expect(decide(b.build())).toEqual(want);
}

const acquireLock: Action = { type: 'acquireLock' };
const releaseLock: Action = { type: 'releaseLock' };
const NO_DEVICE = 'watchdog.mode is required and /dev/watchdog cannot be used: it does not exist';

describe('watchdog.mode required without a usable device: never the leader (Patroni)', () => {
  const noWatchdog = (b: ObservationBuilder) => b.withoutWatchdog(NO_DEVICE);

  it('a replica does not race for the lock, and says why', () => {
    expectDecision(
      noWatchdog(anObservation().asReplica().withPeers(aPeer('b', { lsn: LSN - 100 }))),
      'not_allowed_to_promote',
      `no action. I am (a), a secondary, and without a usable watchdog (${NO_DEVICE}), so I do not race for the lock`,
    );
  });

  it('a member does not bootstrap a new cluster', () => {
    expectDecision(
      noWatchdog(anObservation().uninitialized().withEmptyDataDir()),
      'waiting_for_bootstrap',
      `waiting for another member to bootstrap the cluster because I am without a usable watchdog (${NO_DEVICE})`,
    );
  });

  it('a replica that finds its name in the leader key releases it instead of promoting', () => {
    expectDecision(
      noWatchdog(anObservation().asReplica().withLeader('a')),
      'not_allowed_to_promote',
      `releasing the leader lock because I am a secondary and without a usable watchdog (${NO_DEVICE})`,
      [releaseLock],
    );
  });

  it('a primary holding the lock demotes (Patroni: "Demoting self because watchdog could not be activated")', () => {
    expectDecision(
      noWatchdog(anObservation().asPrimary().withLeader('a')),
      'watchdog_unusable',
      `demoting self because watchdog could not be activated: I am without a usable watchdog (${NO_DEVICE})`,
      [{ type: 'demote', mode: 'immediate' }],
    );
  });

  it('in pause the watchdog is not enforced on the running primary holding the lock', () => {
    const d = decide(noWatchdog(anObservation().asPrimary().withLeader('a').paused()).build());
    expect(d.verdict).toBe('leader_ok');
  });

  it('is not a manual failover candidate either', () => {
    const d = decide(noWatchdog(anObservation().asReplica().withFailover({ member: 'a' }).withPeers(aPeer('b'))).build());
    expect(d.actions.map((a) => a.type)).not.toContain('acquireLock');
  });

  it('without the problem (automatic/off, or a usable device) the healthiest replica races as before', () => {
    const d = decide(anObservation().asReplica().withPg({ slots: [] }).withPeers(aPeer('b', { lsn: LSN - 100 })).build());
    expect(d.verdict).toBe('race_for_lock');
  });
});

describe('a failing clone is retried with backoff', () => {
  const empty = anObservation().withEmptyDataDir().withLeader('b');
  const failed = (attempts: number, agoMs: number, kind: 'clone' | 'reinitialize' = 'clone') =>
    empty.withMemory({ lastFailure: { kind, at: NOW - agoMs, message: 'pg_basebackup failed', attempts } });

  it('doubles from 1 s up to a 60 s cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 100].map(cloneRetryDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    expect(cloneRetryDelayMs(1e9)).toBe(CLONE_RETRY_CAP_MS);
  });

  it('waits after the first failure, and wakes the loop when the wait is over', () => {
    expectDecision(failed(1, 200), 'clone_backoff', 'waiting 1 s before cloning again: 1 attempt in a row failed', [], 800);
  });

  it('waits longer after more failures in a row', () => {
    expectDecision(failed(4, 1000), 'clone_backoff', 'waiting 7 s before cloning again: 4 attempts in a row failed', [], 7000);
  });

  it('a failed reinitialize (which ends in a clone) backs off too', () => {
    expectDecision(failed(3, 0, 'reinitialize'), 'clone_backoff', 'waiting 4 s before cloning again: 3 attempts in a row failed', [], 4000);
  });

  it('clones again once the backoff is over', () => {
    expectDecision(failed(4, 8000), 'clone', 'trying to bootstrap from leader (b)', [{ type: 'clone', from: 'b' }]);
  });

  it('a failure of another kind does not delay a clone', () => {
    const d = decide(empty.withMemory({ lastFailure: { kind: 'startReplica', at: NOW, message: 'x', attempts: 5 } }).build());
    expect(d.verdict).toBe('clone');
  });

  it('pause still wins: no clone, no backoff message', () => {
    expectDecision(failed(2, 0).paused(), 'paused', 'PAUSE: no action. My data directory is empty');
  });
});

describe('pause: the running primary takes a free lock (Patroni: in pause only the leader is healthiest)', () => {
  it('acquires the lock, without promoting anything', () => {
    expectDecision(anObservation().asPrimary().paused(), 'race_for_lock', 'PAUSE: acquiring the leader lock as the running primary', [acquireLock]);
  });

  it('a replica in pause still does not race', () => {
    expectDecision(anObservation().asReplica().paused(), 'paused', 'PAUSE: no action. I am (a) and the cluster has no leader');
  });

  it('a primary tagged nofailover in pause does not take it', () => {
    expectDecision(anObservation().asPrimary().withTags({ nofailover: true }).paused(), 'paused', 'PAUSE: no action. I am (a) and the cluster has no leader');
  });
});
