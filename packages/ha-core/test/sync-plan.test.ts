import { describe, expect, it } from 'vitest';
import { decide } from '../src/decide.ts';
import { nextPriorityStep, type PriorityState, type PriorityStep } from '../src/sync-plan.ts';
import { parseStandbyNames, quorumStandbyNamesFor } from '../src/sync.ts';
import type { Action, Decision, ReplicationView } from '../src/types.ts';
import { LSN, aPeer, anObservation } from './builders.ts';

const MB = 1024 * 1024;
const syncActionOf = (d: Decision): Action | null => d.actions.find((x) => x.type === 'syncStandbys' || x.type === 'quorumSync') ?? null;
const row = (name: string, syncState: string, lag: number, col: 'flush' | 'replay' = 'flush'): ReplicationView => ({
  name,
  state: 'streaming',
  syncState,
  flushLsn: col === 'flush' ? LSN - lag : LSN,
  writeLsn: LSN,
  replayLsn: col === 'replay' ? LSN - lag : LSN,
});
const leaderA = () => anObservation('a').withLeader('a').asPrimary().syncMode().withPg({ lsn: LSN });

describe('maximum_lag_on_syncnode (Patroni: measured from the most advanced replica, the column synchronous_commit waits for)', () => {
  it('a synchronous standby lagging beyond it is swapped for the healthy one', () => {
    const obs = leaderA()
      .withSettings({ maximumLagOnSyncnode: 16 * MB })
      .withSync('a', 'b')
      .withPg({ syncStandbyNames: 'b', replication: [row('b', 'sync', 20 * MB), row('c', 'async', 0)] });
    expect(syncActionOf(decide(obs.build()))).toEqual({ type: 'syncStandbys', names: ['c'], standbyNames: 'c' });
  });
  it('off (-1, Patroni default): the current one is kept however far behind', () => {
    const obs = leaderA()
      .withSync('a', 'b')
      .withPg({ syncStandbyNames: 'b', replication: [row('b', 'sync', 20 * MB), row('c', 'async', 0)] });
    expect(syncActionOf(decide(obs.build()))).toBeNull();
  });
  it('under it: the current one is kept (stability)', () => {
    const obs = leaderA()
      .withSettings({ maximumLagOnSyncnode: 16 * MB })
      .withSync('a', 'b')
      .withPg({ syncStandbyNames: 'b', replication: [row('b', 'sync', 8 * MB), row('c', 'async', 0)] });
    expect(syncActionOf(decide(obs.build()))).toBeNull();
  });
  it('replay lag counts only with synchronous_commit = remote_apply', () => {
    const base = leaderA().withSettings({ maximumLagOnSyncnode: 16 * MB }).withSync('a', 'b');
    const rows = [row('b', 'sync', 20 * MB, 'replay'), row('c', 'async', 0)];
    expect(syncActionOf(decide(base.withPg({ syncStandbyNames: 'b', replication: rows }).build()))).toBeNull();
    expect(syncActionOf(decide(base.withPg({ syncStandbyNames: 'b', replication: rows, synchronousCommit: 'remote_apply' }).build()))).toEqual({
      type: 'syncStandbys',
      names: ['c'],
      standbyNames: 'c',
    });
  });
  it('a single replica is measured against the primary: lagging, it is dropped (non-strict: asynchronous)', () => {
    const obs = leaderA()
      .withSettings({ maximumLagOnSyncnode: 16 * MB })
      .withSync('a', 'b')
      .withPg({ syncStandbyNames: 'b', replication: [row('b', 'sync', 20 * MB)] });
    expect(syncActionOf(decide(obs.build()))).toEqual({ type: 'syncStandbys', names: [], standbyNames: '' });
  });
  it('all replicas equally stuck: nobody is swapped (the most advanced is the reference)', () => {
    const obs = leaderA()
      .withSettings({ maximumLagOnSyncnode: 16 * MB })
      .withSync('a', 'b')
      .withPg({ syncStandbyNames: 'b', replication: [row('b', 'sync', 20 * MB), row('c', 'async', 20 * MB)] });
    expect(syncActionOf(decide(obs.build()))).toBeNull();
  });
});

describe('priority mode: the order of synchronous_standby_names and /sync changes', () => {
  const base: PriorityState = { listed: ['b'], owned: true, standbyNames: 'b', picked: ['c'], streaming: ['b', 'c'], ready: [], strict: false };
  /** Applies steps the way the executor does, with `c` becoming ready once PostgreSQL waits for it. */
  function walk(start: PriorityState): PriorityStep[] {
    let s = start;
    const steps: PriorityStep[] = [];
    for (let i = 0; i < 10; i++) {
      const step = nextPriorityStep(s);
      steps.push(step);
      // the invariant: /sync lists only standbys PostgreSQL waits for and that are ready or were listed
      const inSsn = parseStandbyNames(s.standbyNames)?.names ?? [];
      expect(s.listed.every((n) => inSsn.includes(n))).toBe(true);
      if (step.kind === 'done') return steps;
      if (step.kind === 'wait') s = { ...s, ready: [...new Set([...s.ready, ...step.names])] };
      if (step.kind === 'writeSync') {
        expect(step.names.every((n) => s.listed.includes(n) || s.ready.includes(n))).toBe(true);
        s = { ...s, listed: step.names };
      }
      if (step.kind === 'setStandbyNames') s = { ...s, standbyNames: step.value, ready: [] };
    }
    throw new Error('no end');
  }
  const show = (steps: PriorityStep[]) =>
    steps.map((x) => (x.kind === 'writeSync' ? `/sync [${x.names.join(',')}]` : x.kind === 'setStandbyNames' ? `ssn ${x.value}` : x.kind));

  it('swapping a lagging standby that still streams: add the new one to ssn, wait, /sync both, /sync new, ssn new', () => {
    expect(show(walk(base))).toEqual(['ssn 2 (b,c)', 'wait', '/sync [b,c]', '/sync [c]', 'ssn c', 'done']);
  });
  it('a standby that stopped streaming leaves /sync first', () => {
    expect(show(walk({ ...base, streaming: ['c'] }))).toEqual(['/sync []', 'ssn c', 'wait', '/sync [c]', 'done']);
  });
  it('no candidate left (non-strict): /sync emptied before ssn', () => {
    expect(show(walk({ ...base, picked: [] }))).toEqual(['/sync []', 'ssn ', 'done']);
  });
  it('strict with no candidate: the placeholder', () => {
    expect(show(walk({ ...base, picked: [], strict: true }))).toEqual(['/sync []', 'ssn *', 'done']);
  });
  it('/sync of another leader is claimed with no standby first', () => {
    expect(nextPriorityStep({ ...base, owned: false, listed: [] })).toMatchObject({ kind: 'writeSync', names: [] });
  });
  it('from quorum mode: /sync emptied first (a voter may lack commits), then the pick enters as a new standby', () => {
    expect(show(walk({ ...base, listed: ['b', 'c'], standbyNames: 'ANY 1 (b,c)', picked: ['b'] }))).toEqual(['/sync []', 'ssn b', 'wait', '/sync [b]', 'done']);
  });
  it('nothing to do', () => {
    expect(nextPriorityStep({ ...base, picked: ['b'] })).toEqual({ kind: 'done' });
  });
});

describe('synchronous_standby_names text', () => {
  it.each([
    ['', { kind: 'off', num: 0, names: [], star: false }],
    ['b', { kind: 'priority', num: 1, names: ['b'], star: false }],
    ['2 (b,c)', { kind: 'priority', num: 2, names: ['b', 'c'], star: false }],
    ['FIRST 1 (b, "Node-1")', { kind: 'priority', num: 1, names: ['b', 'Node-1'], star: false }],
    ['ANY 1 (b,c)', { kind: 'quorum', num: 1, names: ['b', 'c'], star: false }],
    ['any 2 (B , c)', { kind: 'quorum', num: 2, names: ['b', 'c'], star: false }],
    ['*', { kind: 'priority', num: 1, names: [], star: true }],
  ])('%j', (text, parsed) => {
    expect(parseStandbyNames(text)).toEqual(parsed);
  });
  it.each(['a,', '2 (,)', 'ANY 2 (a b)'])('%j is not in the grammar', (text) => {
    expect(parseStandbyNames(text)).toBeNull();
  });
  it('quorum mode writes ANY k (...) as Patroni does', () => {
    expect([quorumStandbyNamesFor(1, ['c', 'b'], false), quorumStandbyNamesFor(0, [], false), quorumStandbyNamesFor(1, [], true)]).toEqual([
      'ANY 1 (b,c)',
      '',
      '*',
    ]);
  });
});

describe('quorum mode in decide()', () => {
  const quorumLeader = () => leaderA().withSettings({ quorumCommit: true });
  it('the leader asks for both streaming replicas as voters', () => {
    const obs = quorumLeader().withSync('a').withPg({ syncStandbyNames: '', replication: [row('b', 'async', 0), row('c', 'async', 0)] });
    expect(syncActionOf(decide(obs.build()))).toEqual({ type: 'quorumSync', active: ['b', 'c'], wanted: 1, strict: false });
  });
  it('nothing to do when ANY 1 (b,c) and /sync {b,c} quorum 1 are in place', () => {
    const obs = quorumLeader()
      .withQuorumSync('a', ['b', 'c'], 1)
      .withPg({ syncStandbyNames: 'ANY 1 (b,c)', replication: [row('b', 'quorum', 0), row('c', 'quorum', 0)] });
    expect(syncActionOf(decide(obs.build()))).toBeNull();
  });
  const race = (me: string) =>
    anObservation(me)
      .withoutLeader()
      .asReplica()
      .syncMode()
      .withSettings({ quorumCommit: true })
      .withQuorumSync('a', ['b', 'c'], 1)
      .withOptime(LSN);
  it('a voter that sees the other voter not ahead races', () => {
    expect(decide(race('b').withPeers(aPeer('a', { reachable: false }), aPeer('c')).build()).verdict).toBe('race_for_lock');
  });
  it('a voter that cannot see another voter does not (quorum 1)', () => {
    const d = decide(race('b').withPeers(aPeer('a', { reachable: false }), aPeer('c', { reachable: false })).build());
    expect([d.verdict, d.reason]).toEqual(['not_healthiest', 'I am not the healthiest member: quorum not reached: 1 of the voting set (a, b, c) are not ahead of me, 2 needed']);
  });
  it('no early takeover in quorum mode: what makes a priority-mode sync standby take over does not move a voter', () => {
    const obs = (quorumCommit: boolean) =>
      anObservation('b')
        .withLeader('a')
        .asReplica()
        .syncMode()
        .withSettings({ quorumCommit })
        .withQuorumSync('a', ['b', 'c'], 1)
        .withRevisions({})
        .withPg({ streaming: false })
        .withTakeover({ leader: 'a', lease: '7587', leaseTtl: { state: 'gone' }, pgUnreachable: true })
        .withPeers(aPeer('a', { reachable: false }), aPeer('c', { reachable: false }))
        .build();
    expect(decide(obs(false)).verdict).toBe('sync_takeover');
    expect(decide(obs(true)).verdict).not.toBe('sync_takeover');
  });
});

describe('switchover requests in quorum mode (Patroni: any replica, not only a voter)', () => {
  it('a replica outside /sync is accepted as a candidate in quorum mode and refused in priority mode', async () => {
    const { checkSwitchoverRequest } = await import('../src/switchover-check.ts');
    const { aMember } = await import('./builders.ts');
    const input = (quorumCommit: boolean) => ({
      kind: 'switchover' as const,
      leader: 'a',
      candidate: 'c',
      now: 0,
      cluster: { leader: 'a', members: [aMember('a'), aMember('b'), aMember('c')], optime: LSN, history: [], sync: { leader: 'a', syncStandby: ['b'], quorum: 0 } },
      peers: [aPeer('b'), aPeer('c')],
      settings: { pause: false, maximumLagOnFailover: MB, checkTimeline: false, synchronousMode: true, quorumCommit },
    });
    expect(checkSwitchoverRequest(input(false))).toMatchObject({ ok: false, status: 412 });
    expect(checkSwitchoverRequest(input(true))).toMatchObject({ ok: true });
  });
});
