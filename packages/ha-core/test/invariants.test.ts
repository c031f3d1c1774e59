import type { TFailoverValue, THistory, TTags } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import { failoverRequest, isPending } from '../src/failover.ts';
import { rankCandidates } from '../src/rank.ts';
import { REMOTE_UPSTREAM } from '../src/standby.ts';
import { VERDICTS } from '../src/types.ts';
import type { Action, ActionType, ControlState, Decision, FailsafeCheck, Observation, PeerView, TakeoverProbe } from '../src/types.ts';
import type { ObservationBuilder } from './builders.ts';
import { LSN, NOW, SYSID, aPeer, anObservation, deepFreeze } from './builders.ts';

/**
 * decide() over every combination of the discrete inputs, checked against the rules that must hold
 * whatever the branch. Physically odd combinations (an "empty" data directory next to a running
 * postmaster, a clone in flight on a running primary) are kept on purpose: decide() must stay safe
 * on a glitched probe too.
 */

type Dim<T> = ReadonlyArray<readonly [string, T]>;
type Step = (b: ObservationBuilder) => ObservationBuilder;

const same: Step = (b) => b;

const dcs: Dim<Step> = [['dcs ok', same], ['dcs down', (b) => b.dcsDown()]];
const initialize: Dim<Step> = [
  ['init none', (b) => b.uninitialized()],
  ['init ""', (b) => b.bootstrapping()],
  ['init sysid', (b) => b.initializedWith(SYSID)],
  ['init other sysid', (b) => b.initializedWith('7390000000000000999')],
];
const leader: Dim<string | null> = [['no leader', null], ['leader me', 'a'], ['leader b', 'b']];
const dataDir: Dim<Step> = [['data initialized', same], ['data empty', (b) => b.withEmptyDataDir()]];
const stoppedIn = (s: ControlState | null): Step => (b) => b.stopped(s);
const pg: Dim<Step> = [
  ['stopped (no control state)', stoppedIn(null)],
  ['stopped in production', stoppedIn('in production')],
  ['stopped shut down in recovery', stoppedIn('shut down in recovery')],
  ['running primary', (b) => b.asPrimary()],
  ['running replica', (b) => b.asReplica({ streaming: false })],
];
const tags: Dim<Step> = [
  ['no tags', (b) => b.withTags({})],
  ['nofailover', (b) => b.withTags({ nofailover: true })],
  ['priority 0', (b) => b.withTags({ failover_priority: 0 })],
];
const pause: Dim<boolean> = [['running', false], ['paused', true]];
const inFlight: Dim<Step> = [['idle', same], ['clone in flight', (b) => b.inFlight('clone')]];
const formerPrimary: Dim<boolean> = [['never primary', false], ['former primary', true]];
const peerAnswers: Dim<PeerView[]> = [
  ['no peers', []],
  ['primary alive', [aPeer('b', { role: 'primary' })]],
  ['peer ahead', [aPeer('b', { lsn: LSN + 1000 })]],
  ['peer behind', [aPeer('b', { lsn: LSN - 1000 })]],
  ['peer unreachable', [aPeer('b', { reachable: false, role: 'primary', lsn: LSN + 1000 })]],
];
const peers: Dim<Step> = peerAnswers.map(([label, answers]) => [label, (b: ObservationBuilder) => b.withPeers(...answers)] as const);
const lag: Dim<number> = [['lag within', LSN + 1000], ['lag over', LSN + 2 * 1024 * 1024]];
const memory: Dim<Step> = [
  ['fresh memory', same],
  [
    'following b, down past primary_start_timeout, use_pg_rewind on',
    (b) => b.following('b').withMemory({ pgDownSince: 0 }).withSettings({ useRewind: true }),
  ],
];

interface Case {
  label: string;
  obs: Observation;
  d: Decision;
}

function* combinations(): Generator<Case> {
  for (const [l1, withDcs] of dcs)
    for (const [l2, withInit] of initialize)
      for (const [l3, lockHolder] of leader)
        for (const [l4, withData] of dataDir)
          for (const [l5, withPg] of pg)
            for (const [l6, t] of tags)
              for (const [l7, p] of pause)
                for (const [l8, withFlight] of inFlight)
                  for (const [l9, fp] of formerPrimary)
                    for (const [l10, withPeers] of peers)
                      for (const [l11, optime] of lag)
                        for (const [l12, withMemory] of memory) {
                        let b = t(anObservation())
                          .withLeader('b', 2) // b's member key carries timeline 2; the lock is set below
                          .withSettings({ pause: p })
                          .withOptime(optime)
                          .withMemory({ formerPrimary: fp });
                        b = lockHolder === null ? b.withoutLeader() : b.withLeader(lockHolder);
                        b = withPg(withData(withInit(b)));
                        b = withMemory(withFlight(b));
                        // Peers are gathered only when the cluster has no leader (types.ts).
                        if (lockHolder === null) b = withPeers(b);
                        b = withDcs(b);
                        const obs = b.build();
                        const label = [l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12].join(' / ');
                        yield { label, obs, d: decide(obs) };
                      }
}

/**
 * The agent's lifecycle: the watchdog in required mode and the clone backoff, over the base space's
 * cluster and PostgreSQL dimensions (kept apart so the base space does not grow).
 */
const watchdog: Dim<Step> = [['watchdog fine', same], ['watchdog required, unusable', (b) => b.withoutWatchdog()]];
const failures: Dim<Step> = [
  ['no failure', same],
  ['clone failed twice 0.5 s ago', (b) => b.withMemory({ lastFailure: { kind: 'clone', at: NOW - 500, message: 'pg_basebackup failed', attempts: 2 } })],
  ['clone failed twice 5 s ago', (b) => b.withMemory({ lastFailure: { kind: 'clone', at: NOW - 5000, message: 'pg_basebackup failed', attempts: 2 } })],
];

function* lifecycleCombinations(): Generator<Case> {
  for (const [l1, withDcs] of dcs)
    for (const [l2, withInit] of initialize)
      for (const [l3, lockHolder] of leader)
        for (const [l4, withData] of dataDir)
          for (const [l5, withPg] of pg)
            for (const [l6, withWatchdog] of watchdog)
              for (const [l7, p] of pause)
                for (const [l8, withFailure] of failures)
                  for (const [l9, fp] of formerPrimary) {
                    let b = withWatchdog(anObservation()).withLeader('b', 2).withSettings({ pause: p }).withMemory({ formerPrimary: fp });
                    b = lockHolder === null ? b.withoutLeader() : b.withLeader(lockHolder);
                    b = withFailure(withPg(withData(withInit(b))));
                    if (lockHolder === null) b = b.withPeers(aPeer('b', { lsn: LSN - 1000 }));
                    b = withDcs(b);
                    const obs = b.build();
                    const label = [l1, l2, l3, l4, l5, l6, l7, l8, l9].join(' / ');
                    yield { label, obs, d: decide(obs) };
                  }
}

/**
 * The `failover` key: a second space over what a manual failover or switchover touches (who holds the
 * lock, my PostgreSQL, the request, my WAL position against the former leader's shutdown checkpoint,
 * the history, the peers), with the DCS up, the cluster initialized and no action in flight.
 */
const CKPT = LSN + 0x28;
const PAST_CKPT = CKPT + 0x68;
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', '+00:00');
const fLeader: Dim<Step> = [
  ['no leader', (b) => b.withoutLeader()],
  ['leader me', (b) => b.withLeader('a')],
  ['leader b on timeline 2', (b) => b.withLeader('b', 2)],
  ['leader b still promoting', (b) => b.withLeader('b').withMember('b', { role: 'replica', timeline: 1 })],
  ['leader c on timeline 2', (b) => b.withLeader('c', 2)],
];
const fPg: Dim<Step> = [
  ['running primary', (b) => b.asPrimary()],
  ['running primary, b and c stream from it', (b) => b.asPrimary().withReplication(['b', 'async'], ['c', 'async'])],
  ['running primary, nobody streams for 5 s', (b) => b.asPrimary().requestSeenAt(NOW - 5_000)],
  ['streaming replica', (b) => b.asReplica()],
  ['replica not streaming', (b) => b.asReplica({ streaming: false })],
  ['stopped clean', (b) => b.stopped('shut down', CKPT)],
  ['stopped in recovery', (b) => b.stopped('shut down in recovery', CKPT)],
  ['stopped crashed', (b) => b.stopped('in production', CKPT)],
];
const fTags: Dim<TTags> = [['no tags', {}], ['nofailover', { nofailover: true }]];
const requests: Dim<TFailoverValue> = [
  ['switchover a -> b', { leader: 'a', member: 'b' }],
  ['switchover b -> a', { leader: 'b', member: 'a' }],
  ['switchover a -> healthiest', { leader: 'a' }],
  ['switchover c -> b', { leader: 'c', member: 'b' }],
  ['failover to a', { member: 'a' }],
  ['failover to b', { member: 'b' }],
  ['switchover a -> z (not a member)', { leader: 'a', member: 'z' }],
  ['switchover a -> b later', { leader: 'a', member: 'b', scheduled_at: iso(NOW + 60_000) }],
  ['switchover a -> b due', { leader: 'a', member: 'b', scheduled_at: iso(NOW - 1_000) }],
  ['switchover a -> b long past', { leader: 'a', member: 'b', scheduled_at: iso(NOW - 60_000) }],
  ['switchover a -> b without timezone', { leader: 'a', member: 'b', scheduled_at: '2023-11-14T22:14:20' }],
  ['cleared ({})', {}],
];
const fLsn: Dim<number> = [['past the checkpoint', PAST_CKPT], ['at the checkpoint', CKPT], ['2 MB behind', CKPT - 2 * 1024 * 1024]];
const fHistory: Dim<THistory> = [
  ['no history', []],
  ['timeline 1 ended after my checkpoint', [[1, PAST_CKPT, 'no recovery target specified']]],
  ['timeline 1 ended at my checkpoint', [[1, CKPT, 'no recovery target specified']]],
];
const fPeers: Dim<PeerView[] | null> = [
  ['peers not gathered', null],
  ['no peer answers', []],
  ['b and c past the checkpoint', [aPeer('b', { lsn: PAST_CKPT }), aPeer('c', { lsn: PAST_CKPT })]],
  ['b behind, c nofailover', [aPeer('b', { lsn: CKPT - 2 * 1024 * 1024 }), aPeer('c', { lsn: PAST_CKPT, tags: { nofailover: true } })]],
  ['b a running primary', [aPeer('b', { role: 'primary', lsn: PAST_CKPT })]],
  ['b stopped, c at the checkpoint', [aPeer('b', { state: 'stopped', lsn: null }), aPeer('c', { lsn: CKPT })]],
];

function* failoverCombinations(): Generator<Case> {
  for (const [l1, withLock] of fLeader)
    for (const [l2, withPg] of fPg)
      for (const [l3, t] of fTags)
        for (const [l4, p] of pause)
          for (const [l5, request] of requests)
            for (const [l6, lsn] of fLsn)
              for (const [l7, history] of fHistory)
                for (const [l8, answers] of fPeers) {
                  let b = withPg(withLock(anObservation()));
                  b = b.withTags(t).withSettings({ pause: p }).withFailover(request).withOptime(CKPT).withHistory(history);
                  b = b.withPg({ lsn });
                  b = answers === null ? b.withoutPeers() : b.withPeers(...answers);
                  const obs = b.build();
                  const label = [l1, l2, l3, l4, l5, l6, l7, l8].join(' / ');
                  yield { label, obs, d: decide(obs) };
                }
}

/**
 * synchronous_mode: a third space over who holds the lock, /sync, my PostgreSQL, the peers and a
 * request, with the DCS up, the cluster initialized and no action in flight.
 */
const sLeader: Dim<Step> = [
  ['no leader', (b) => b.withoutLeader()],
  ['leader me', (b) => b.withLeader('a')],
  ['leader b', (b) => b.withLeader('b', 2)],
];
const sSync: Dim<Step> = [
  ['no /sync', (b) => b.withSync(null)],
  ['/sync b -> c', (b) => b.withSync('b', 'c')],
  ['/sync b -> a', (b) => b.withSync('b', 'a')],
  ['/sync a -> b', (b) => b.withSync('a', 'b')],
  ['/sync b -> none', (b) => b.withSync('b')],
  ['/sync c -> b,a', (b) => b.withSync('c', 'b', 'a')],
];
const sMode: Dim<Step> = [
  ['sync on', (b) => b.syncMode()],
  ['sync strict', (b) => b.syncMode({ strict: true })],
  ['sync off', same],
];
const sPg: Dim<Step> = [
  ['running primary', (b) => b.asPrimary().withReplication(['b', 'sync'], ['c', 'async']).withPg({ syncStandbyNames: 'b' })],
  ['running primary alone', (b) => b.asPrimary()],
  ['streaming replica', (b) => b.asReplica()],
  ['stopped', (b) => b.stopped('shut down in recovery')],
];
const sPeers: Dim<PeerView[]> = [
  ['no peers', []],
  ['b dead, c ahead', [aPeer('b', { reachable: false }), aPeer('c', { lsn: LSN + 1000 })]],
  ['b ahead, c behind', [aPeer('b', { lsn: LSN + 1000 }), aPeer('c', { lsn: LSN - 1000 })]],
  ['b primary alive', [aPeer('b', { role: 'primary' })]],
];
const sRequests: Dim<TFailoverValue | null> = [
  ['no request', null],
  ['switchover b -> a', { leader: 'b', member: 'a' }],
  ['switchover a -> c', { leader: 'a', member: 'c' }],
  ['switchover b -> healthiest', { leader: 'b' }],
  ['failover to a', { member: 'a' }],
];

function* syncCombinations(): Generator<Case> {
  for (const [l1, withLock] of sLeader)
    for (const [l2, withSync] of sSync)
      for (const [l3, withMode] of sMode)
        for (const [l4, withPg] of sPg)
          for (const [l5, answers] of sPeers)
            for (const [l6, request] of sRequests)
              for (const [l7, optime] of lag)
                for (const [l8, p] of pause) {
                  let b = withMode(withSync(withPg(withLock(anObservation()))));
                  b = b.withFailover(request).withOptime(optime).withSettings({ pause: p }).withPeers(...answers);
                  const obs = b.build();
                  const label = [l1, l2, l3, l4, l5, l6, l7, l8].join(' / ');
                  yield { label, obs, d: decide(obs) };
                }
}

// failsafe_mode (failsafe.ts): the POST /failsafe round of a primary without the DCS, the /failsafe key,
// and a POST /failsafe this member accepted, with the DCS up or down.
const FS_URLS = { a: 'http://a:8008/patroni', b: 'http://b:8008/patroni', c: 'http://c:8008/patroni' };
const fsChecks: Dim<FailsafeCheck | null> = [
  ['not asked', null],
  ['all accepted', { startedAt: NOW - 1000, problem: null, accepted: ['b', 'c'], refused: [] }],
  ['c refused', { startedAt: NOW - 1000, problem: null, accepted: ['b'], refused: [{ name: 'c', reason: 'unreachable' }] }],
  ['not listed', { startedAt: NOW - 1000, problem: 'I am not listed in /failsafe', accepted: [], refused: [] }],
];
const fsKeys: Dim<Record<string, string> | null> = [['no key', null], ['key lists all', FS_URLS], ['key without me', { b: FS_URLS.b, c: FS_URLS.c }]];
const fsAccepted: Dim<string | null> = [['accepted nobody', null], ['accepted b', 'b']];
const fsPg: Dim<Step> = [
  ['running primary', (b) => b.asPrimary()],
  ['streaming replica', (b) => b.asReplica()],
  ['stopped', (b) => b.stopped('shut down in recovery')],
];
const fsLeader: Dim<Step> = [['no leader', (b) => b.withoutLeader()], ['leader me', (b) => b.withLeader('a')], ['leader b', (b) => b.withLeader('b')]];

function* failsafeCombinations(): Generator<Case> {
  for (const [l1, mode] of [['failsafe on', true], ['failsafe off', false]] as const)
    for (const [l2, withDcs] of dcs)
      for (const [l3, withPg] of fsPg)
        for (const [l4, withLock] of fsLeader)
          for (const [l5, failsafe] of fsChecks)
            for (const [l6, key] of fsKeys)
              for (const [l7, accepted] of fsAccepted)
                for (const [l8, p] of pause) {
                  const built = withDcs(withLock(withPg(anObservation().withSettings({ failsafeMode: mode, pause: p })))).withPeers(aPeer('b'), aPeer('c')).build();
                  const obs: Observation = deepFreeze({
                    ...built,
                    me: { ...built.me, apiUrl: FS_URLS.a },
                    dcs: built.dcs.ok ? { ok: true as const, cluster: { ...built.dcs.cluster, failsafe: key } } : built.dcs,
                    failsafe,
                    failsafeLeader: accepted,
                  });
                  const label = [l1, l2, l3, l4, l5, l6, l7, l8].join(' / ');
                  yield { label, obs, d: decide(obs) };
                }
}

/**
 * Synchronous mode's early takeover: what a synchronous standby gathered when the leader's heartbeat
 * looked stopped, over who leads, /sync, the mode, my PostgreSQL, the peers and pause.
 */
const tProbes: Dim<TakeoverProbe | null> = [
  ['no probe', null],
  ['b dead', { leader: 'b', lease: '7587', leaseTtl: { state: 'alive', ttl: 20, grantedTtl: 30 }, pgUnreachable: true }],
  ['b lease gone', { leader: 'b', lease: '7587', leaseTtl: { state: 'gone' }, pgUnreachable: true }],
  ['b heartbeats', { leader: 'b', lease: '7587', leaseTtl: { state: 'alive', ttl: 29, grantedTtl: 30 }, pgUnreachable: true }],
  ['b heartbeat unknown', { leader: 'b', lease: '7587', leaseTtl: { state: 'unknown' }, pgUnreachable: true }],
  ['b pg answers', { leader: 'b', lease: '7587', leaseTtl: { state: 'gone' }, pgUnreachable: false }],
];
const tPg: Dim<Step> = [
  ['replica not streaming', (b) => b.asReplica({ streaming: false })],
  ['streaming replica', (b) => b.asReplica()],
  ['running primary', (b) => b.asPrimary()],
  ['stopped', (b) => b.stopped('shut down in recovery')],
];
const tPeers: Dim<PeerView[] | null> = [
  ['peers not gathered', null],
  ['b and c dead', [aPeer('b', { reachable: false }), aPeer('c', { reachable: false })]],
  ['c streams', [aPeer('b', { reachable: false }), aPeer('c', { streaming: true })]],
  ['b answers', [aPeer('b', { role: 'primary' }), aPeer('c', { streaming: false })]],
];

function* takeoverCombinations(): Generator<Case> {
  for (const [l1, withLock] of sLeader)
    for (const [l2, withSync] of sSync)
      for (const [l3, withMode] of sMode)
        for (const [l4, withPg] of tPg)
          for (const [l5, probe] of tProbes)
            for (const [l6, answers] of tPeers)
              for (const [l7, p] of pause) {
                let b = withMode(withSync(withPg(withLock(anObservation()))));
                b = b.withRevisions({}).withTakeover(probe).withSettings({ pause: p });
                b = answers === null ? b.withoutPeers() : b.withPeers(...answers);
                const obs = b.build();
                const label = [l1, l2, l3, l4, l5, l6, l7].join(' / ');
                yield { label, obs, d: decide(obs) };
              }
}

/**
 * A standby cluster (standby_cluster set): the failover space with the lock, PostgreSQL, the request and
 * the peers, plus an uninitialized empty member, so every path a standby leader can take is covered.
 */
const STANDBY = { host: 'site-a', port: 5432, restoreCommand: true } as const;
const standbyRequests: Dim<TFailoverValue | null> = [['no request', null], ...requests];
const sData: Dim<Step> = [
  ['initialized', same],
  ['initialized, following the other site', (b) => b.following(REMOTE_UPSTREAM)],
  ['uninitialized, empty', (b) => b.uninitialized().withEmptyDataDir()],
];

function* standbyCombinations(): Generator<Case> {
  for (const [l1, withLock] of fLeader)
    for (const [l2, withPg] of fPg)
      for (const [l3, t] of fTags)
        for (const [l4, p] of pause)
          for (const [l5, request] of standbyRequests)
            for (const [l6, withData] of sData)
              for (const [l7, answers] of fPeers) {
                let b = withData(withPg(withLock(anObservation())));
                b = b.withTags(t).withSettings({ pause: p, standbyCluster: STANDBY }).withFailover(request).withOptime(CKPT);
                b = answers === null ? b.withoutPeers() : b.withPeers(...answers);
                const obs = b.build();
                yield { label: ['standby cluster', l1, l2, l3, l4, l5, l6, l7].join(' / '), obs, d: decide(obs) };
              }
}

const baseCases = [...combinations()];
const standbyCases = [...standbyCombinations()];
const failsafeCases = [...failsafeCombinations()];
const failoverCases = [...failoverCombinations()];
const syncCases = [...syncCombinations()];
const lifecycleCases = [...lifecycleCombinations()];
const takeoverCases = [...takeoverCombinations()];
const cases = [...baseCases, ...failoverCases, ...syncCases, ...lifecycleCases, ...takeoverCases, ...failsafeCases, ...standbyCases];

const types = (d: Decision): ActionType[] => d.actions.map((a: Action) => a.type);
const has = (d: Decision, t: ActionType): boolean => types(d).includes(t);
const leaderOf = (o: Observation): string | null => (o.dcs.ok ? o.dcs.cluster.leader : null);
const runningPrimary = (o: Observation): boolean => o.pg.running && o.pg.role === 'primary';
const tagsForbid = (o: Observation): boolean =>
  o.me.tags.nofailover === true || (o.me.tags.failover_priority ?? 1) <= 0 || Boolean(o.me.watchdogProblem);
const LONG: ActionType[] = ['bootstrap', 'clone', 'reinitialize', 'rewind', 'startPrimary', 'startReplica'];
/** The request decide() acts on now: the key, unless empty or scheduled for later. */
const activeRequest = (o: Observation) => {
  const req = o.dcs.ok ? failoverRequest(o.dcs.cluster.failover) : null;
  return req !== null && !isPending(req, o.now) ? req : null;
};
const optimeOf = (o: Observation): number | null => (o.dcs.ok ? o.dcs.cluster.optime : null);

/** Every case that breaks `rule`, shown as "inputs => verdict [actions]" (first 5). */
function violations(rule: (c: Case) => boolean): string[] {
  return cases
    .filter((c) => !rule(c))
    .slice(0, 5)
    .map((c) => `${c.label} => ${c.d.verdict} [${types(c.d).join(', ')}]`);
}

describe('decide() invariants over every combination of the discrete inputs', () => {
  it(`covers ${cases.length} combinations`, () => {
    expect(baseCases.length).toBe(2 * 4 * 3 * 2 * 5 * 3 * 2 * 2 * 2 * 5 * 2 * 2);
    expect(lifecycleCases.length).toBe(2 * 4 * 3 * 2 * 5 * 2 * 2 * 3 * 2);
    expect(failoverCases.length).toBe(5 * 8 * 2 * 2 * 12 * 3 * 3 * 6);
    expect(syncCases.length).toBe(3 * 6 * 3 * 4 * 4 * 5 * 2 * 2);
    expect(failsafeCases.length).toBe(2 * 2 * 3 * 3 * 4 * 3 * 2 * 2);
    expect(takeoverCases.length).toBe(3 * 6 * 3 * 4 * 6 * 4 * 2);
  });

  it('a standby cluster never promotes nor starts a primary, and only the lock holder follows the other site', () => {
    expect(standbyCases.length).toBe(5 * 8 * 2 * 2 * 13 * 3 * 6);
    const bad = standbyCases.filter(({ obs, d }) => {
      const t = types(d);
      if (t.includes('promote') || t.includes('startPrimary')) return true;
      const remote = d.actions.some((a) => (a.type === 'follow' || a.type === 'startReplica') && a.leader === REMOTE_UPSTREAM);
      return remote && !(leaderOf(obs) === obs.me.name || t.includes('acquireLock'));
    });
    expect(bad.slice(0, 5).map((c) => `${c.label} => ${c.d.verdict} [${types(c.d).join(', ')}]`)).toEqual([]);
  });

  it('reaches the verdicts these inputs can reach, so the rules below are not vacuous', () => {
    const reached = new Set(cases.map((c) => c.d.verdict));
    expect(VERDICTS.filter((v) => !reached.has(v))).toEqual([]);
  });

  it('never promotes unless the same decision acquires (or takes over) the lock first or the member already holds it', () => {
    expect(
      violations(({ obs, d }) => {
        const t = types(d);
        const p = t.indexOf('promote');
        if (p < 0) return true;
        const a = Math.max(t.indexOf('acquireLock'), t.indexOf('takeOverLock'));
        return (a >= 0 && a < p) || leaderOf(obs) === obs.me.name;
      }),
    ).toEqual([]);
  });

  it('a running primary that cannot reach the DCS always demotes, whatever else is going on, unless failsafe_mode holds it', () => {
    expect(violations(({ obs, d }) => obs.dcs.ok || !runningPrimary(obs) || has(d, 'demote') || d.verdict === 'failsafe_active')).toEqual([]);
  });

  it('failsafe_mode holds a primary without the DCS only when every member in /failsafe accepted this round', () => {
    expect(
      violations(({ obs, d }) => {
        if (!has(d, 'holdFailsafe')) return true;
        const f = obs.failsafe ?? null;
        return obs.settings.failsafeMode && !obs.dcs.ok && runningPrimary(obs) && f !== null && f.problem === null && f.refused.length === 0;
      }),
    ).toEqual([]);
  });

  it('failsafe_mode: a member that accepted a POST /failsafe from another member, or is missing from a non-empty /failsafe, never races for the lock (unless paused: then only the running primary may, as in Patroni)', () => {
    expect(
      violations(({ obs, d }) => {
        if (!obs.settings.failsafeMode || !obs.dcs.ok || obs.dcs.cluster.failover !== null || obs.settings.pause) return true;
        const key = obs.dcs.cluster.failsafe ?? null;
        const left = key !== null && Object.keys(key).length > 0 && !Object.hasOwn(key, obs.me.name);
        const accepted = (obs.failsafeLeader ?? null) !== null && obs.failsafeLeader !== obs.me.name;
        return !(left || accepted) || !has(d, 'acquireLock');
      }),
    ).toEqual([]);
  });

  it('a running primary that sees another lock holder always demotes, even with an action in flight or paused', () => {
    // The one exception: a system identifier mismatch is fatal and touches nothing (not our database).
    expect(
      violations(({ obs, d }) => {
        const l = leaderOf(obs);
        if (d.verdict === 'sysid_mismatch') return true;
        return !runningPrimary(obs) || l === null || l === obs.me.name || has(d, 'demote');
      }),
    ).toEqual([]);
  });

  it('an idle running primary in an initialized cluster with no leader either races for the lock or demotes, unless paused', () => {
    // Before /initialize holds a system identifier the primary claims it (adopt) or waits for the
    // bootstrapping member; the race comes on a later tick.
    expect(
      violations(({ obs, d }) => {
        if (!obs.dcs.ok || !runningPrimary(obs) || leaderOf(obs) !== null || !obs.dcs.cluster.initialize) return true;
        if (d.verdict === 'sysid_mismatch') return true;
        if (obs.settings.pause || obs.memory.inFlight !== null) return true;
        // A former leader that withdraws a switchover nobody can take races on the next tick.
        return has(d, 'acquireLock') || has(d, 'demote') || d.verdict === 'failover_abandoned';
      }),
    ).toEqual([]);
  });

  it('a member tagged nofailover or failover_priority <= 0, or without a usable watchdog in required mode, never acquires the lock, promotes or claims /initialize', () => {
    expect(
      violations(({ obs, d }) => !tagsForbid(obs) || !(has(d, 'acquireLock') || has(d, 'promote') || has(d, 'claimInitialize'))),
    ).toEqual([]);
  });

  it('renewLock, when present, is the first action', () => {
    expect(violations(({ d }) => !has(d, 'renewLock') || types(d)[0] === 'renewLock')).toEqual([]);
  });

  it('every decision has a verdict from VERDICTS and a non-empty one-line reason', () => {
    const verdicts: readonly string[] = VERDICTS;
    expect(violations(({ d }) => verdicts.includes(d.verdict) && d.reason.trim().length > 0 && !d.reason.includes('\n'))).toEqual([]);
  });

  it('is deterministic and leaves its frozen input untouched', () => {
    expect(
      violations(({ obs, d }) => {
        const before = JSON.stringify(obs);
        const again = decide(obs);
        return Object.isFrozen(obs) && JSON.stringify(again) === JSON.stringify(d) && JSON.stringify(obs) === before;
      }),
    ).toEqual([]);
  }, 120_000); // ~190k decisions decided again and serialized three times: seconds, far more on a busy machine

  it('never clones again while the backoff after a failed clone runs (1 s doubling per failure)', () => {
    expect(
      violations(({ obs, d }) => {
        const f = obs.memory.lastFailure;
        const backingOff = f !== null && f.kind === 'clone' && obs.now - f.at < 1000 * 2 ** ((f.attempts ?? 1) - 1);
        return !backingOff || !has(d, 'clone');
      }),
    ).toEqual([]);
  });

  it('never promotes and demotes in the same decision', () => {
    expect(violations(({ d }) => !(has(d, 'promote') && has(d, 'demote')))).toEqual([]);
  });

  it('writes nothing to the DCS while it cannot reach it', () => {
    const writes: ActionType[] = ['acquireLock', 'renewLock', 'releaseLock', 'claimInitialize', 'seedConfig', 'setFailsafe'];
    expect(violations(({ obs, d }) => obs.dcs.ok || !types(d).some((t) => writes.includes(t)))).toEqual([]);
  });

  it("never touches another member's lock", () => {
    const lockOps: ActionType[] = ['acquireLock', 'renewLock', 'releaseLock'];
    expect(
      violations(({ obs, d }) => {
        const l = leaderOf(obs);
        return l === null || l === obs.me.name || !types(d).some((t) => lockOps.includes(t));
      }),
    ).toEqual([]);
  });

  it('paused, it never starts, rewinds, clones or bootstraps PostgreSQL (but finishes a clean switchover by following), and promotes only as the requested candidate', () => {
    expect(
      violations(({ obs, d }) => !obs.settings.pause || d.verdict === 'follow_after_clean_switchover' || !types(d).some((t) => LONG.includes(t))),
    ).toEqual([]);
    expect(violations(({ obs, d }) => !obs.settings.pause || d.verdict !== 'follow_after_clean_switchover' || types(d).join() === 'startReplica')).toEqual([]);
    expect(
      violations(({ obs, d }) => !obs.settings.pause || !has(d, 'promote') || activeRequest(obs)?.candidate === obs.me.name),
    ).toEqual([]);
  });

  it('no replica promotes during a switchover before it is past the former leader\'s shutdown checkpoint (/status.optime)', () => {
    expect(
      violations(({ obs, d }) => {
        const req = activeRequest(obs);
        const optime = optimeOf(obs);
        if (!has(d, 'promote') || !req?.leader || optime === null || leaderOf(obs) === obs.me.name) return true;
        return obs.pg.lsn !== null && obs.pg.lsn > optime;
      }),
    ).toEqual([]);
    // The brief's form, for the requested candidate: it never takes the lock before optime <= its position.
    expect(
      violations(({ obs, d }) => {
        const req = activeRequest(obs);
        const optime = optimeOf(obs);
        // A standby leader writes no shutdown checkpoint: its successor catches up from the other site.
        if (!has(d, 'acquireLock') || !req?.leader || req.candidate !== obs.me.name || optime === null || obs.settings.standbyCluster) return true;
        return obs.pg.role === 'primary' || (obs.pg.lsn !== null && optime <= obs.pg.lsn);
      }),
    ).toEqual([]);
  });

  it('the former leader named in a switchover never takes the lock while the request stands', () => {
    expect(violations(({ obs, d }) => activeRequest(obs)?.leader !== obs.me.name || !has(d, 'acquireLock'))).toEqual([]);
  });

  it('clearFailover comes only with a request to clear, and never before renewLock', () => {
    expect(
      violations(({ obs, d }) => {
        const t = types(d);
        const c = t.indexOf('clearFailover');
        if (c < 0) return true;
        const request = obs.dcs.ok ? failoverRequest(obs.dcs.cluster.failover) : null;
        const r = t.indexOf('renewLock');
        return request !== null && (r < 0 || r < c);
      }),
    ).toEqual([]);
  });

  it('clearFailover removes exactly the revision it judged, and only the lock holder publishes an outcome', () => {
    expect(
      violations(({ obs, d }) => {
        const c = d.actions.find((a) => a.type === 'clearFailover');
        if (c === undefined || c.type !== 'clearFailover' || !obs.dcs.ok) return true;
        const revisionOk = c.revision === (obs.dcs.cluster.failoverRevision ?? null);
        return revisionOk && (c.outcome === null || (obs.dcs.cluster.leader === obs.me.name && c.outcome === d.reason));
      }),
    ).toEqual([]);
  });

  it('a graceful demote comes only from the lock holder running as primary, in favour of an eligible member', () => {
    expect(
      violations(({ obs, d }) => {
        const demote = d.actions.find((a) => a.type === 'demote' && a.mode === 'graceful');
        if (demote === undefined) return true;
        if (leaderOf(obs) !== obs.me.name || !runningPrimary(obs) || !obs.dcs.ok || obs.peers === null) return false;
        const ranked = rankCandidates({
          candidates: obs.peers.filter((p) => p.name !== obs.me.name),
          cluster: obs.dcs.cluster,
          settings: obs.settings,
        });
        const wanted = demote.type === 'demote' && demote.mode === 'graceful' ? demote.candidate : null;
        return wanted === null ? ranked.some((c) => c.eligible) : ranked.some((c) => c.name === wanted && c.eligible);
      }),
    ).toEqual([]);
  });

  it('asks to be woken early only to wait, never after starting something, and never for less than nothing', () => {
    expect(
      violations(({ d }) => d.retryInMs === undefined || (Number.isInteger(d.retryInMs) && d.retryInMs > 0 && !types(d).some((t) => LONG.includes(t)))),
    ).toEqual([]);
  });

  it('starts no long action while one is in flight, and at most one otherwise', () => {
    expect(
      violations(({ obs, d }) => {
        const n = types(d).filter((t) => LONG.includes(t)).length;
        return obs.memory.inFlight === null ? n <= 1 : n === 0;
      }),
    ).toEqual([]);
  });

  it('in synchronous_mode nobody outside /sync (its sync standbys and its last leader) ever takes the lock', () => {
    // The one exception is Patroni's: a manual failover (no leader named) to a requested candidate is
    // the operator's override and bypasses the sync check.
    expect(
      violations(({ obs, d }) => {
        if (!obs.dcs.ok || !obs.settings.synchronousMode || !has(d, 'acquireLock')) return true;
        const sync = obs.dcs.cluster.sync;
        if (sync === null || sync.leader === null) return true;
        const req = activeRequest(obs);
        if (req !== null && req.leader === null && req.candidate === obs.me.name) return true;
        return sync.leader === obs.me.name || sync.syncStandby.includes(obs.me.name);
      }),
    ).toEqual([]);
  });

  it('the early takeover: only a replica listed in /sync, in synchronous mode, not paused, from the leader /sync names, after its heartbeat stopped, not streaming', () => {
    expect(
      violations(({ obs, d }) => {
        const t = d.actions.find((a) => a.type === 'takeOverLock');
        if (t === undefined || t.type !== 'takeOverLock') return d.verdict !== 'sync_takeover';
        if (!obs.dcs.ok) return false;
        const { cluster } = obs.dcs;
        const probe = obs.takeover ?? null;
        const stopped = probe !== null && (probe.leaseTtl.state === 'gone' || (probe.leaseTtl.state === 'alive' && probe.leaseTtl.grantedTtl - probe.leaseTtl.ttl > 2));
        return (
          obs.settings.synchronousMode &&
          !obs.settings.pause &&
          cluster.leader === t.oldLeader &&
          t.oldLeader !== obs.me.name &&
          cluster.sync?.leader === t.oldLeader &&
          cluster.sync.syncStandby.includes(obs.me.name) &&
          obs.pg.running &&
          obs.pg.role === 'replica' &&
          !obs.pg.streaming &&
          stopped &&
          probe.pgUnreachable &&
          types(d).join(',').startsWith('takeOverLock,promote')
        );
      }),
    ).toEqual([]);
  });

  it('in synchronous_mode a graceful demote only hands over to a sync standby', () => {
    expect(
      violations(({ obs, d }) => {
        const demote = d.actions.find((a) => a.type === 'demote' && a.mode === 'graceful');
        if (demote === undefined || !obs.dcs.ok || !obs.settings.synchronousMode) return true;
        const sync = obs.dcs.cluster.sync;
        if (sync === null || sync.leader === null) return true;
        const wanted = demote.type === 'demote' && demote.mode === 'graceful' ? demote.candidate : null;
        return wanted === null ? sync.syncStandby.length > 0 : sync.syncStandby.includes(wanted);
      }),
    ).toEqual([]);
  });

  it('syncStandbys comes only from the lock holder running as primary, after renewLock', () => {
    expect(
      violations(({ obs, d }) => {
        const t = types(d);
        const i = t.indexOf('syncStandbys');
        if (i < 0) return true;
        return leaderOf(obs) === obs.me.name && runningPrimary(obs) && t.indexOf('renewLock') === 0;
      }),
    ).toEqual([]);
  });

  it('a fatal action comes alone', () => {
    expect(violations(({ d }) => !has(d, 'fatal') || d.actions.length === 1)).toEqual([]);
  });
});
