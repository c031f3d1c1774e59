import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import { resolveSettingsExplained, standbyClusterOf } from '../src/settings.ts';
import { REMOTE_UPSTREAM } from '../src/standby.ts';
import type { Action, Decision, StandbyClusterView } from '../src/types.ts';
import type { ObservationBuilder } from './builders.ts';
import { LSN, anObservation, aPeer } from './builders.ts';

// A standby cluster (standby_cluster in /config): its leader is a standby leader that follows the other
// site and never promotes while standby_cluster is set; the other members follow the standby leader.

const SITE: StandbyClusterView = { host: '10.0.0.5', port: 5433, restoreCommand: false };
const standby = (b: ObservationBuilder, s: StandbyClusterView = SITE) => b.withSettings({ standbyCluster: s });
const types = (d: Decision) => d.actions.map((a) => a.type);
const neverPromotes = (d: Decision) => expect(types(d)).not.toContain('promote');
const followRemote: Action = { type: 'follow', leader: REMOTE_UPSTREAM };

describe('standby_cluster in the settings', () => {
  it('is read from /config with Patroni defaults and turns synchronous_mode off', () => {
    const r = resolveSettingsExplained({ standby_cluster: { host: 'site-a', port: 6543 }, synchronous_mode: true });
    expect(r.settings.standbyCluster).toEqual({ host: 'site-a', port: 6543, restoreCommand: false });
    expect(r.settings.synchronousMode).toBe(false);
    expect(r.notes.join()).toMatch(/synchronous_mode: ignored in a standby cluster/);
    expect(standbyClusterOf({ restore_command: 'cp /a/%f %p' })).toEqual({ host: null, port: 5432, restoreCommand: true });
  });

  it('is not a standby cluster when the section is empty or null (promote-cluster removes it)', () => {
    expect(standbyClusterOf({})).toBeNull();
    expect(standbyClusterOf(null)).toBeNull();
    expect(resolveSettingsExplained({ standby_cluster: null }).settings.standbyCluster).toBeUndefined();
  });
});

describe('the standby leader (holds the lock, runs as a replica)', () => {
  it('never promotes while standby_cluster is set: it follows the other site instead', () => {
    const d = decide(standby(anObservation().withLeader('a').asReplica()).build());
    expect(d.verdict).toBe('standby_leader_follow');
    expect(d.reason).toBe('promoted self to a standby leader because I had the session lock: following 10.0.0.5:5433');
    expect(d.actions[0]).toEqual({ type: 'renewLock' });
    expect(d.actions).toContainEqual(followRemote);
    neverPromotes(d);
  });

  it('already following the other site: renews the lock and does nothing else', () => {
    const d = decide(standby(anObservation().withLeader('a').asReplica().following(REMOTE_UPSTREAM)).build());
    expect(d).toMatchObject({ verdict: 'standby_leader_ok', reason: 'no action. I am (a), the standby leader with the lock, following 10.0.0.5:5433' });
    expect(types(d)).toEqual(['renewLock', 'syncSlots']); // slots for the members cascading from it
  });

  it('without standby_cluster the same member promotes (promote-cluster)', () => {
    const d = decide(anObservation().withLeader('a').asReplica().following(REMOTE_UPSTREAM).build());
    expect(d.verdict).toBe('leader_promote');
    expect(types(d).slice(0, 2)).toEqual(['renewLock', 'promote']);
  });

  it('a primary holding the lock when standby_cluster appears (demote-cluster) stops, keeping the lock', () => {
    const d = decide(standby(anObservation().withLeader('a').asPrimary()).build());
    expect(d.verdict).toBe('demote_to_standby_leader');
    expect(d.actions).toEqual([{ type: 'renewLock' }, { type: 'demote', mode: 'standby' }]);
  });

  it('PostgreSQL down: starts again as the standby leader, never as a primary', () => {
    const d = decide(standby(anObservation().withLeader('a').stopped('shut down in recovery')).build());
    expect(d).toMatchObject({ verdict: 'start_replica', reason: 'starting as the standby leader following 10.0.0.5:5433' });
    expect(d.actions).toEqual([{ type: 'renewLock' }, { type: 'startReplica', leader: REMOTE_UPSTREAM }]);
  });

  it('describes an archive-only source', () => {
    const d = decide(standby(anObservation().withLeader('a').asReplica(), { host: null, port: 5432, restoreCommand: true }).build());
    expect(d.reason).toMatch(/following the archive \(restore_command\)$/);
  });
});

describe('the other members of a standby cluster', () => {
  it('follow the standby leader (cascading), not the other site', () => {
    const d = decide(standby(anObservation().withLeader('b').asReplica()).build());
    expect(d).toMatchObject({ verdict: 'follow_leader', actions: [{ type: 'follow', leader: 'b' }] });
  });

  it('start as replicas of the standby leader', () => {
    const d = decide(standby(anObservation().withLeader('b').stopped('shut down in recovery')).build());
    expect(d.actions).toEqual([{ type: 'startReplica', leader: 'b' }]);
  });

  it('the healthiest takes the lock and follows the other site when the standby leader is gone (failover)', () => {
    const d = decide(standby(anObservation().withoutLeader().asReplica().withPeers(aPeer('b', { lsn: LSN - 100 }))).build());
    expect(d.verdict).toBe('race_for_lock');
    expect(d.reason).toMatch(/to become the standby leader following 10\.0\.0\.5:5433/);
    expect(d.actions.slice(0, 2)).toEqual([{ type: 'acquireLock' }, followRemote]);
    neverPromotes(d);
  });

  it('a member behind a peer does not race', () => {
    const d = decide(standby(anObservation().withoutLeader().asReplica().withPeers(aPeer('b', { lsn: LSN + 100 }))).build());
    expect(d.verdict).toBe('not_healthiest');
  });

  it('a primary with no leader in a standby cluster stops at once instead of racing', () => {
    const d = decide(standby(anObservation().withoutLeader().asPrimary().withPeers()).build());
    expect(d).toMatchObject({ verdict: 'demote_to_standby_leader', actions: [{ type: 'demote', mode: 'immediate-nolock' }] });
  });

  it('an empty cluster bootstraps from the other site', () => {
    const d = decide(standby(anObservation().uninitialized().withEmptyDataDir()).build());
    expect(d).toMatchObject({ verdict: 'bootstrap_race', reason: 'trying to bootstrap a standby cluster from 10.0.0.5:5433' });
  });
});

describe('switchover inside a standby cluster: a new standby leader, never a promotion', () => {
  const request = { leader: 'a', member: 'b' };

  it('the standby leader hands over to a streaming candidate', () => {
    const d = decide(
      standby(anObservation().withLeader('a').asReplica().following(REMOTE_UPSTREAM))
        .withFailover(request)
        .withReplication(['b', 'streaming'])
        .withPeers(aPeer('b'), aPeer('c'))
        .build(),
    );
    expect(d.verdict).toBe('switchover_demote');
    expect(d.actions).toEqual([{ type: 'renewLock' }, { type: 'demote', mode: 'graceful', candidate: 'b' }]);
  });

  it('the candidate takes the lock and follows the other site, without waiting for a shutdown checkpoint', () => {
    const d = decide(
      standby(anObservation('b').withoutLeader().asReplica({ streaming: false }))
        .withOptime(LSN + 1_000_000)
        .withFailover(request)
        .withPeers(aPeer('a', { role: 'replica', state: 'stopped', reachable: true }), aPeer('c'))
        .build(),
    );
    expect(d.verdict).toBe('failover_promote');
    expect(d.reason).toBe('switchover: taking the leader lock as the new standby leader: I am the requested candidate');
    expect(types(d).slice(0, 3)).toEqual(['acquireLock', 'follow', 'clearFailover']);
    neverPromotes(d);
    expect(d.actions[1]).toEqual(followRemote);
  });
});
