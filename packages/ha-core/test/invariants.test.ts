import type { TTags } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import { VERDICTS } from '../src/types.ts';
import type { Action, ActionType, ControlState, Decision, Observation, PeerView } from '../src/types.ts';
import type { ObservationBuilder } from './builders.ts';
import { LSN, SYSID, aPeer, anObservation } from './builders.ts';

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
const tags: Dim<TTags> = [['no tags', {}], ['nofailover', { nofailover: true }], ['priority 0', { failover_priority: 0 }]];
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
                        let b = anObservation()
                          .withLeader('b', 2) // b's member key carries timeline 2; the lock is set below
                          .withSettings({ pause: p })
                          .withTags(t)
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

const cases = [...combinations()];

const types = (d: Decision): ActionType[] => d.actions.map((a: Action) => a.type);
const has = (d: Decision, t: ActionType): boolean => types(d).includes(t);
const leaderOf = (o: Observation): string | null => (o.dcs.ok ? o.dcs.cluster.leader : null);
const runningPrimary = (o: Observation): boolean => o.pg.running && o.pg.role === 'primary';
const tagsForbid = (o: Observation): boolean => o.me.tags.nofailover === true || (o.me.tags.failover_priority ?? 1) <= 0;
const LONG: ActionType[] = ['bootstrap', 'clone', 'reinitialize', 'rewind', 'startPrimary', 'startReplica'];

/** Every case that breaks `rule`, shown as "inputs => verdict [actions]" (first 5). */
function violations(rule: (c: Case) => boolean): string[] {
  return cases
    .filter((c) => !rule(c))
    .slice(0, 5)
    .map((c) => `${c.label} => ${c.d.verdict} [${types(c.d).join(', ')}]`);
}

describe('decide() invariants over every combination of the discrete inputs', () => {
  it(`covers ${cases.length} combinations`, () => {
    expect(cases.length).toBe(2 * 4 * 3 * 2 * 5 * 3 * 2 * 2 * 2 * 5 * 2 * 2);
  });

  it('reaches the verdicts these inputs can reach, so the rules below are not vacuous', () => {
    const reached = new Set(cases.map((c) => c.d.verdict));
    expect(VERDICTS.filter((v) => !reached.has(v))).toEqual([]);
  });

  it('never promotes unless the same decision acquires the lock first or the member already holds it', () => {
    expect(
      violations(({ obs, d }) => {
        const t = types(d);
        const p = t.indexOf('promote');
        if (p < 0) return true;
        const a = t.indexOf('acquireLock');
        return (a >= 0 && a < p) || leaderOf(obs) === obs.me.name;
      }),
    ).toEqual([]);
  });

  it('a running primary that cannot reach the DCS always demotes, whatever else is going on', () => {
    expect(violations(({ obs, d }) => obs.dcs.ok || !runningPrimary(obs) || has(d, 'demote'))).toEqual([]);
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
        return has(d, 'acquireLock') || has(d, 'demote');
      }),
    ).toEqual([]);
  });

  it('a member tagged nofailover or failover_priority <= 0 never acquires the lock, promotes or claims /initialize', () => {
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
  });

  it('never promotes and demotes in the same decision', () => {
    expect(violations(({ d }) => !(has(d, 'promote') && has(d, 'demote')))).toEqual([]);
  });

  it('writes nothing to the DCS while it cannot reach it', () => {
    const writes: ActionType[] = ['acquireLock', 'renewLock', 'releaseLock', 'claimInitialize', 'seedConfig'];
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

  it('paused, it never starts, promotes, rewinds, clones or bootstraps PostgreSQL (only a split-brain demote)', () => {
    const changes: ActionType[] = [...LONG, 'promote'];
    expect(violations(({ obs, d }) => !obs.settings.pause || !types(d).some((t) => changes.includes(t)))).toEqual([]);
  });

  it('starts no long action while one is in flight, and at most one otherwise', () => {
    expect(
      violations(({ obs, d }) => {
        const n = types(d).filter((t) => LONG.includes(t)).length;
        return obs.memory.inFlight === null ? n <= 1 : n === 0;
      }),
    ).toEqual([]);
  });

  it('a fatal action comes alone', () => {
    expect(violations(({ d }) => !has(d, 'fatal') || d.actions.length === 1)).toEqual([]);
  });
});
