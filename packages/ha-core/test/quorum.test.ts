import { describe, expect, it } from 'vitest';
import { nextQuorumStep, quorumTarget, quorumVoteProblem, type QuorumState, type QuorumStep, type QuorumTarget } from '../src/quorum.ts';

/**
 * The resolver against a model that knows nothing of its rules: every acknowledged commit is a class
 * {on at least k of `among` (placed as badly as possible), and on every one of `holders`}. A class is
 * added whenever synchronous_standby_names changes; catching up adds holders. The invariant checked
 * after every step: for every class and every worst-case placement, at most `quorum` voters lack it
 * (so any quorum + 1 of the voting set include a member that has it). Voters = ∅: only the leader.
 */
interface AckClass {
  k: number;
  among: string[];
  holders: Set<string>;
}

function subsetsOf<T>(xs: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let mask = 0; mask < 1 << xs.length; mask++) out.push(xs.filter((_, i) => (mask & (1 << i)) !== 0));
  return out;
}

function covered(classes: readonly AckClass[], quorum: number, voters: readonly string[]): boolean {
  if (voters.length === 0) return true;
  for (const c of classes) {
    const k = Math.min(c.k, c.among.length);
    for (const placed of subsetsOf(c.among).filter((x) => x.length === k)) {
      const has = new Set([...c.holders, ...placed]);
      const lacking = voters.filter((v) => !has.has(v)).length;
      if (lacking > quorum) return false;
    }
  }
  return true;
}

interface Sim {
  s: QuorumState;
  classes: AckClass[];
}

function confirm(sim: Sim, active: readonly string[]): boolean {
  const now = sim.s.sync.filter((x) => active.includes(x));
  const grew = now.some((x) => !sim.s.confirmed.includes(x));
  sim.s = { ...sim.s, confirmed: [...new Set([...sim.s.confirmed, ...now])] };
  for (const c of sim.classes) for (const x of now) c.holders.add(x);
  return grew;
}

function apply(sim: Sim, step: QuorumStep): void {
  if (step.kind === 'writeSync') sim.s = { ...sim.s, quorum: step.quorum, voters: step.voters };
  if (step.kind === 'setStandbyNames') {
    sim.s = { ...sim.s, numsync: step.numsync, sync: step.sync, confirmed: [] };
    sim.classes.push({ k: step.sync.length === 0 ? 0 : step.numsync, among: step.sync, holders: new Set() });
  }
}

/** Runs the resolver to the end; returns the steps, or throws with the path when a step breaks the invariant. */
function run(start: QuorumState, t: QuorumTarget, eager: boolean): QuorumStep[] {
  const sim: Sim = { s: start, classes: [{ k: start.sync.length === 0 ? 0 : start.numsync, among: [...start.sync], holders: new Set(start.confirmed) }] };
  const steps: QuorumStep[] = [];
  for (let i = 0; i < 40; i++) {
    const step = nextQuorumStep(sim.s, t);
    steps.push(step);
    if (step.kind === 'done') return steps;
    if (step.kind === 'wait') {
      if (!confirm(sim, t.active)) throw new Error(`stuck waiting: ${JSON.stringify({ start, t, steps })}`);
      continue;
    }
    apply(sim, step);
    if (!covered(sim.classes, sim.s.quorum, sim.s.voters)) throw new Error(`invariant broken: ${JSON.stringify({ start, t, steps, now: sim.s })}`);
    if (eager) confirm(sim, t.active);
  }
  throw new Error(`no end after 40 steps: ${JSON.stringify({ start, t, steps: steps.slice(-6) })}`);
}

function* startStates(nodes: readonly string[]): Generator<QuorumState> {
  for (const voters of subsetsOf(nodes)) {
    for (const sync of subsetsOf(nodes)) {
      const quorums = voters.length === 0 ? [0] : Array.from({ length: voters.length }, (_, i) => i);
      const numsyncs = sync.length === 0 ? [0, 1] : Array.from({ length: sync.length }, (_, i) => i + 1);
      for (const quorum of quorums) for (const numsync of numsyncs) for (const confirmed of subsetsOf(sync)) yield { quorum, voters, numsync, sync, confirmed };
    }
  }
}

const NODES = ['a', 'b', 'c'];

describe('quorum resolver: exhaustively, over every safe start and every target (3 standbys)', () => {
  it('every step keeps every acknowledged commit on a voter of any quorum + 1, and it reaches the target', () => {
    let runs = 0;
    let steps = 0;
    for (const start of startStates(NODES)) {
      const initial = [{ k: start.sync.length === 0 ? 0 : start.numsync, among: [...start.sync], holders: new Set(start.confirmed) }];
      if (!covered(initial, start.quorum, start.voters)) continue; // only states that are safe to begin with
      for (const active of subsetsOf(NODES)) {
        // confirmed members stream (they were seen caught up)
        if (!start.confirmed.every((x) => active.includes(x))) continue;
        for (const wanted of [1, 2, 3]) {
          for (const strict of [false, true]) {
            const t = { active, wanted, strict };
            for (const eager of [false, true]) {
              const path = run(start, t, eager);
              runs += 1;
              steps += path.length;
              const end = path.reduce<QuorumState>((s, step) => {
                if (step.kind === 'writeSync') return { ...s, quorum: step.quorum, voters: step.voters };
                if (step.kind === 'setStandbyNames') return { ...s, numsync: step.numsync, sync: step.sync };
                return s;
              }, start);
              if (active.length > 0) {
                const want = quorumTarget(t);
                expect({ q: end.quorum, v: [...end.voters].sort(), n: end.numsync, s: [...end.sync].sort() }).toEqual({ q: want.quorum, v: want.voters, n: want.numsync, s: want.sync });
              } else if (strict) {
                expect(end.numsync).toBeGreaterThanOrEqual(1);
              } else {
                expect({ v: end.voters, s: end.sync, n: end.numsync }).toEqual({ v: [], s: [], n: 0 });
              }
            }
          }
        }
      }
    }
    expect(runs).toBeGreaterThan(10000);
    expect(steps).toBeGreaterThan(runs);
  });
});

describe('quorum resolver: the usual transitions, step by step', () => {
  const steady = (names: string[], numsync: number): QuorumState => ({ quorum: names.length - numsync, voters: names, numsync, sync: names, confirmed: names });
  const kinds = (path: QuorumStep[]) =>
    path.map((s) => (s.kind === 'writeSync' ? `sync q=${s.quorum} [${s.voters.join(',')}]` : s.kind === 'setStandbyNames' ? `ssn ANY ${s.numsync} [${s.sync.join(',')}]` : s.kind));

  it('from asynchronous: ANY 1 (b,c) first, the voters once a standby caught up', () => {
    expect(kinds(run({ quorum: 0, voters: [], numsync: 0, sync: [], confirmed: [] }, { active: ['b', 'c'], wanted: 1, strict: false }, false))).toEqual([
      'ssn ANY 1 [b,c]',
      'wait',
      'sync q=1 [b,c]',
      'done',
    ]);
  });
  it('a third standby joins at factor 1: it votes first (quorum up), then acknowledges', () => {
    expect(kinds(run(steady(['b', 'c'], 1), { active: ['b', 'c', 'd'], wanted: 1, strict: false }, false))).toEqual(['sync q=2 [b,c,d]', 'ssn ANY 1 [b,c,d]', 'done']);
  });
  it('a standby is gone: PostgreSQL stops waiting for it, then it stops voting once the rest caught up', () => {
    expect(kinds(run(steady(['b', 'c', 'd'], 1), { active: ['b', 'c'], wanted: 1, strict: false }, false))).toEqual(['ssn ANY 1 [b,c]', 'wait', 'sync q=1 [b,c]', 'done']);
  });
  it('raising synchronous_node_count: PostgreSQL waits for more first, the quorum drops after', () => {
    expect(kinds(run(steady(['b', 'c'], 1), { active: ['b', 'c'], wanted: 2, strict: false }, false))).toEqual(['ssn ANY 2 [b,c]', 'wait', 'sync q=0 [b,c]', 'done']);
  });
  it('lowering it: the quorum rises first, PostgreSQL waits for fewer after', () => {
    expect(kinds(run(steady(['b', 'c'], 2), { active: ['b', 'c'], wanted: 1, strict: false }, false))).toEqual(['sync q=1 [b,c]', 'ssn ANY 1 [b,c]', 'done']);
  });
  it('the only standby is gone, non-strict: voters emptied before asynchronous commit', () => {
    expect(kinds(run(steady(['b'], 1), { active: [], wanted: 1, strict: false }, false))).toEqual(['sync q=0 []', 'ssn ANY 0 []', 'done']);
  });
  it('the only standby is gone, strict: commits keep waiting for it', () => {
    expect(kinds(run(steady(['b'], 1), { active: [], wanted: 1, strict: true }, false))).toEqual(['done']);
  });
});

describe('quorum race (Patroni is_healthiest_node in quorum mode)', () => {
  const sync = { leader: 'a', voters: ['b', 'c'], quorum: 1 };
  const peer = (name: string, lsn: number | null, reachable = true) => ({ name, reachable, state: 'running', lsn });
  it('a voter that another voter is not ahead of may promote', () => {
    expect(quorumVoteProblem({ me: 'b', myLsn: 100, sync, peers: [peer('c', 90)] })).toBeNull();
  });
  it('a voter alone (the other unreachable, the leader dead) may not', () => {
    expect(quorumVoteProblem({ me: 'b', myLsn: 100, sync, peers: [peer('c', 120, false)] })).toMatch(/quorum not reached: 1 .* 2 needed/);
  });
  it('a voter behind another does not count that one', () => {
    expect(quorumVoteProblem({ me: 'b', myLsn: 100, sync, peers: [peer('c', 120)] })).not.toBeNull();
  });
  it('a member outside the voting set needs quorum + 1 voters', () => {
    expect(quorumVoteProblem({ me: 'd', myLsn: 100, sync, peers: [peer('b', 90)] })).not.toBeNull();
    expect(quorumVoteProblem({ me: 'd', myLsn: 100, sync, peers: [peer('b', 90), peer('c', 100)] })).toBeNull();
  });
  it('the former leader may take the lock back when nobody is ahead', () => {
    expect(quorumVoteProblem({ me: 'a', myLsn: 100, sync, peers: [] })).toBeNull();
    expect(quorumVoteProblem({ me: 'a', myLsn: 100, sync, peers: [peer('b', 101)] })).not.toBeNull();
  });
});
