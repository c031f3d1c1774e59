/**
 * Quorum commit (synchronous_mode: quorum, Patroni 4). Two settings together say who has every
 * acknowledged commit:
 *  - synchronous_standby_names = 'ANY n (S)': PostgreSQL acknowledges a commit once n of S flushed it;
 *  - /sync = {leader, sync_standby: V, quorum: q}: after the leader is gone, a candidate may promote
 *    only when q + 1 members of V ∪ {leader} (itself included when it is one) are known not to be
 *    ahead of it (quorumVotes).
 * The invariant: every acknowledged commit is missing on at most q members of V. Then any q + 1 of
 * them include one that has it, so a candidate that none of them is ahead of has it too. V = ∅ is
 * always safe: only the last leader can then promote (it has everything).
 *
 * What the leader knows: commits acknowledged since synchronous_standby_names last changed are on n
 * members of S; everything before that change is on each member of S that has caught up since
 * (`confirmed`: flushed past the primary's position taken after the change). So every commit is on at
 * least g = min(n, |confirmed|) members of S, and (with worst-case placement) is missing on at most
 * |V ∪ S| - g members of V. Hence the two rules that every step below is checked against:
 *  - writing /sync (q', V') is safe when V' = ∅ or |V' ∪ S| - g <= q' < |V'|;
 *  - changing synchronous_standby_names to ANY n' (S') is safe when V = ∅ or |V ∪ S'| - n' <= q
 *    (the commits acknowledged before the change stay covered by the /sync that covered them, and the
 *    new ones are on n' of S').
 * The target for the active standbys A and synchronous_node_count w: S = V = A, n = min(w, |A|),
 * q = |A| - n. nextQuorumStep() walks there one step at a time, each step checked by the rules; when
 * a /sync step needs more standbys to catch up it answers `wait`; when nothing safe makes progress it
 * empties /sync's voters (always safe) and starts again from there.
 */

export interface QuorumState {
  /** /sync (its leader is me): quorum and voters. */
  quorum: number;
  voters: readonly string[];
  /** synchronous_standby_names: ANY numsync (sync). '' is 0 of none; strict's placeholder is 1 of none. */
  numsync: number;
  sync: readonly string[];
  /** Members of `sync` that caught up since synchronous_standby_names last changed. */
  confirmed: readonly string[];
}

export interface QuorumTarget {
  /** The standbys that should vote and acknowledge (streaming, eligible, not lagging). */
  active: readonly string[];
  /** synchronous_node_count. */
  wanted: number;
  /** synchronous_mode_strict: never go asynchronous. */
  strict: boolean;
}

export type QuorumStep =
  | { kind: 'writeSync'; quorum: number; voters: string[]; why: string }
  | { kind: 'setStandbyNames'; numsync: number; sync: string[]; why: string }
  | { kind: 'wait'; why: string }
  | { kind: 'done' };

const set = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();
const union = (a: readonly string[], b: readonly string[]): string[] => set([...a, ...b]);
const minus = (a: readonly string[], b: readonly string[]): string[] => a.filter((x) => !b.includes(x));
const subset = (a: readonly string[], b: readonly string[]): boolean => a.every((x) => b.includes(x));
const same = (a: readonly string[], b: readonly string[]): boolean => subset(a, b) && subset(b, a);

/** How many members of `sync` every acknowledged commit is known to be on. */
export function guaranteed(s: QuorumState): number {
  return Math.min(s.numsync, s.confirmed.filter((n) => s.sync.includes(n)).length);
}

/** May /sync become (quorum, voters) now? */
export function syncWriteSafe(s: QuorumState, quorum: number, voters: readonly string[]): boolean {
  if (voters.length === 0) return quorum === 0;
  return quorum >= 0 && quorum < voters.length && union(voters, s.sync).length - guaranteed(s) <= quorum;
}

/** May synchronous_standby_names become ANY numsync (sync) now? */
export function standbyNamesChangeSafe(s: QuorumState, numsync: number, sync: readonly string[]): boolean {
  if (numsync < 0 || numsync > Math.max(sync.length, 1)) return false;
  if (s.voters.length === 0) return true;
  return union(s.voters, sync).length - (sync.length === 0 ? 0 : numsync) <= s.quorum;
}

/** The state the leader wants for these active standbys. */
export function quorumTarget(t: QuorumTarget): { quorum: number; voters: string[]; numsync: number; sync: string[] } {
  const active = set(t.active);
  const numsync = Math.min(Math.max(1, t.wanted), active.length);
  return { quorum: active.length - numsync, voters: active, numsync, sync: active };
}

export function nextQuorumStep(state: QuorumState, t: QuorumTarget): QuorumStep {
  const s: QuorumState = { ...state, voters: set(state.voters), sync: set(state.sync), confirmed: set(state.confirmed) };
  const V = [...s.voters];
  const S = [...s.sync];
  const { quorum: q, numsync: n } = s;
  const A = set(t.active);
  const g = guaranteed(s);
  const reset: QuorumStep = { kind: 'writeSync', quorum: 0, voters: [], why: 'no safe step keeps voters: only the leader votes until the standbys are confirmed' };
  const ssn = (numsync: number, sync: string[], why: string): QuorumStep | null =>
    standbyNamesChangeSafe(s, numsync, sync) ? { kind: 'setStandbyNames', numsync, sync, why } : null;
  // /sync with at least `quorum`, raised to what the knowledge requires (a later step lowers it).
  const dcs = (quorum: number, voters: string[], why: string): QuorumStep | null => {
    const q2 = voters.length === 0 ? 0 : Math.max(quorum, union(voters, S).length - g);
    if (q2 === q && same(voters, V)) return { kind: 'wait', why: 'standbys to catch up' };
    return syncWriteSafe(s, q2, voters) ? { kind: 'writeSync', quorum: q2, voters, why } : null;
  };

  if (A.length === 0) {
    if (t.strict) {
      // Keep commits waiting: the names as they are, or the placeholder when there are none.
      return S.length === 0 && n === 0 ? (ssn(1, [], 'strict: no standby, commits wait') ?? reset) : { kind: 'done' };
    }
    if (V.length > 0) return reset;
    return S.length > 0 || n > 0 ? { kind: 'setStandbyNames', numsync: 0, sync: [], why: 'no standby streams: asynchronous' } : { kind: 'done' };
  }
  const target = quorumTarget(t);

  if (V.length > 0 && !subset(V, S) && !subset(S, V)) return reset;

  if (V.length === 0) {
    if (!same(S, A) || n !== target.numsync) return ssn(target.numsync, A, 'standbys to acknowledge commits') ?? reset;
    if (g === 0) return { kind: 'wait', why: `(${A.join(', ')}) to catch up` };
    return dcs(A.length - g, A, 'voters caught up') ?? { kind: 'wait', why: 'more standbys to catch up' };
  }

  if (!same(V, S)) {
    if (subset(S, V)) {
      // Voters that PostgreSQL does not wait for: start waiting for the live ones, drop the others.
      const live = V.filter((x) => !S.includes(x) && A.includes(x));
      if (live.length > 0) {
        const sync = union(S, live);
        const numsync = Math.max(n, union(V, sync).length - q);
        if (numsync <= sync.length) {
          const step = ssn(numsync, sync, `voters (${live.join(', ')}) acknowledge commits`);
          if (step !== null) return step;
        }
      }
      if (S.length === 0 || g === 0) return S.some((x) => A.includes(x)) ? { kind: 'wait', why: 'standbys to catch up' } : reset;
      return dcs(S.length - g, S, `dropping voters (${minus(V, S).join(', ')})`) ?? { kind: 'wait', why: 'standbys to catch up' };
    }
    // S ⊃ V: names PostgreSQL waits for that do not vote.
    const dead = minus(S, V).filter((x) => !A.includes(x));
    if (dead.length > 0) {
      const sync = minus(S, dead);
      const step = ssn(Math.min(n, sync.length), sync, `(${dead.join(', ')}) gone`);
      if (step !== null) return step;
      return dcs(q + 1, V, 'making room to drop gone standbys') ?? reset;
    }
    if (g === 0) return { kind: 'wait', why: `(${minus(S, V).join(', ')}) to catch up` };
    return dcs(Math.max(S.length - g, 0), S, `(${minus(S, V).join(', ')}) vote`) ?? { kind: 'wait', why: 'standbys to catch up' };
  }

  // Steady shape: V = S = B.
  const B = V;
  const dead = minus(B, A);
  if (dead.length > 0) {
    const x = dead[dead.length - 1]!;
    if (B.length === 1) return reset;
    const sync = minus(B, [x]);
    return (
      ssn(Math.max(1, Math.min(n, sync.length)), sync, `(${x}) gone`) ??
      dcs(q + 1, B, `making room to drop (${x})`) ??
      reset
    );
  }
  const joining = minus(A, B);
  if (joining.length > 0) {
    const y = joining[0]!;
    if (n < target.numsync) return ssn(n + 1, union(B, [y]), `(${y}) acknowledges commits`) ?? reset;
    return dcs(q + 1, union(B, [y]), `(${y}) votes`) ?? { kind: 'wait', why: 'standbys to catch up before another votes' };
  }
  if (n < target.numsync) return ssn(target.numsync, B, `replication factor ${target.numsync}`) ?? reset;
  if (n > target.numsync) {
    if (q + n > B.length) return ssn(n - 1, B, `replication factor ${n - 1}`) ?? reset;
    return dcs(q + 1, B, `lowering the replication factor to ${n - 1}`) ?? { kind: 'wait', why: 'standbys to catch up' };
  }
  if (q !== target.quorum) return dcs(target.quorum, B, `quorum ${target.quorum}`) ?? { kind: 'wait', why: 'standbys to catch up' };
  return { kind: 'done' };
}

/** Quorum mode's race: how many members of /sync's voting set (voters and its leader) back `me`. */
export interface QuorumVoteInput {
  me: string;
  myLsn: number | null;
  sync: { leader: string | null; voters: readonly string[]; quorum: number };
  /** Reachable members' answers (GET /patroni). */
  peers: readonly { name: string; reachable: boolean; state: string | null; lsn: number | null }[];
}

/**
 * Patroni's rule: a candidate may promote when, counting itself if it is in the voting set, q + 1 of
 * the voting set are known not to be ahead of it (running, a WAL position <= mine). The former leader
 * may also promote when nobody is ahead of it. null: it may; else why not.
 */
export function quorumVoteProblem(v: QuorumVoteInput): string | null {
  const voting = new Set([...(v.sync.leader !== null ? [v.sync.leader] : []), ...v.sync.voters]);
  const mine = v.myLsn ?? -1;
  let votes = voting.has(v.me) ? 1 : 0;
  let ahead = 0;
  for (const p of v.peers) {
    if (p.name === v.me || !p.reachable || p.state !== 'running' || p.lsn === null) continue;
    if (p.lsn > mine) ahead += 1;
    else if (voting.has(p.name)) votes += 1;
  }
  const needed = v.sync.quorum + 1;
  if (votes >= needed) return null;
  if (v.sync.leader === v.me && ahead === 0) return null;
  return `quorum not reached: ${votes} of the voting set (${[...voting].sort().join(', ')}) are not ahead of me, ${needed} needed`;
}
