/**
 * Failover readiness, computed in the control plane: which member would be promoted if the leader
 * died now, why each other member would not, how long the failover would take and how many bytes
 * it could lose. The ranking is ha-core's rankCandidates (the code the agents race with), run over
 * every member's latest snapshot rather than each member's opinion of itself; the control plane
 * only adds what the agents check besides it (the DCS reachable, /sync membership, pause). Pure.
 */
import { compareCandidates, formatBytes, isAhead, PATRONI_DEFAULTS, quorumVoteProblem, rankCandidates, syncActive, type PeerView, type RankedCandidate } from '@keel/ha-core';
import type { THaContext } from '@keel/protocol';
import type { TMemberView } from './member-view.ts';

/** What the estimate was computed from, shown beside it. */
export interface TReadinessBasis {
  /** The member whose reported settings are used (the leader when it reports them); null: Patroni's defaults. */
  settingsFrom: string | null;
  ttl: number;
  loopWait: number;
  retryTimeout: number;
  maximumLagOnFailover: number;
  checkTimeline: boolean;
  synchronousMode: boolean;
  /** The leader position lag is measured against: the newest of its own report and /status.optime. */
  leaderLsn: number | null;
  clusterTimeline: number | null;
  /** /sync's standbys when synchronous_mode (priority) restricts who may take over; null otherwise. */
  syncStandbys: string[] | null;
  /**
   * synchronous_mode: quorum with a /sync key: its last leader, voters and quorum. A candidate then needs
   * quorum + 1 of the voting set (voters and that leader) not ahead of it, as the agents check
   * (ha-core quorumVoteProblem); null otherwise.
   */
  quorum: { leader: string | null; voters: string[]; quorum: number } | null;
}

export interface TMemberReadiness {
  name: string;
  eligible: boolean;
  /** Empty when eligible: ha-core's phrases plus the control plane's ("not in /sync ..."). */
  reasons: string[];
  /** Bytes behind basis.leaderLsn; null: unknown. */
  lagBytes: number | null;
  /** Patroni's effective failover_priority. */
  priority: number;
}

export interface TEstimate {
  minSeconds: number;
  maxSeconds: number;
  basis: string;
}

export interface TReadiness {
  leader: string | null;
  /** Members taken as dead (the what-if). */
  without: string[];
  /** Who would be promoted; null: nobody (see blockers and members). */
  candidate: string | null;
  /** Eligible members at the candidate's position and priority: whoever takes the lock first. */
  tiesWith: string[];
  /** Every member but the leader and the dead, best first. */
  members: TMemberReadiness[];
  /** Cluster-wide reasons no member would be promoted. */
  blockers: string[];
  /** Things that make the failover slower or riskier without blocking it. */
  warnings: string[];
  /** Expected failover time: the leader's agent dies (PostgreSQL runs on), or its whole node dies. */
  rto: { agentDeath: TEstimate; nodeDeath: TEstimate } | null;
  /** Bytes at risk if the candidate is promoted. */
  rpo: { bytes: number | null; basis: string } | null;
  basis: TReadinessBasis;
  summary: string;
}

const LEADER_ROLES = new Set(['primary', 'standby_leader']);

/** Promotion, from taking the lock to answering /primary (measured 0.8–5 s on a loaded machine; ARCHITECTURE.md). */
const PROMOTION_SECONDS = { min: 1, max: 5 } as const;
/** keel-fence's fast path on agent death (measured 0.8–2.8 s, fault suite). */
const FENCE_FAST_PATH_SECONDS = { min: 1, max: 3 } as const;

function fresh(m: TMemberView): boolean {
  return !m.stale && m.role !== null;
}

/** The lock holder: as the newest fresh snapshot read it from the DCS, else the one fresh primary. */
export function leaderOf(members: readonly TMemberView[]): string | null {
  const reporting = members.filter(fresh).sort((a, b) => (b.snapshotAt ?? '').localeCompare(a.snapshotAt ?? ''));
  const newest = reporting[0];
  if (newest !== undefined && newest.leaderSeen !== null && members.some((m) => m.name === newest.leaderSeen)) return newest.leaderSeen;
  const primaries = reporting.filter((m) => m.role !== null && LEADER_ROLES.has(m.role) && m.pgRunning !== false);
  return primaries.length === 1 ? (primaries[0]?.name ?? null) : null;
}

function basisOf(members: readonly TMemberView[], leader: string | null): TReadinessBasis {
  const leaderView = members.find((m) => m.name === leader);
  const reporter = [leaderView, ...members.filter(fresh)].find((m): m is TMemberView & { ha: THaContext } => m !== undefined && m.ha !== null);
  const ha = reporter?.ha ?? null;
  const d = PATRONI_DEFAULTS;
  const known = [leaderView && !leaderView.stale ? leaderView.lsn : null, ha?.optime ?? null].filter((n): n is number => typeof n === 'number');
  const settings = { synchronousMode: ha?.synchronousMode ?? false };
  const sync = ha?.sync ? { sync: { leader: ha.sync.leader, syncStandby: ha.sync.syncStandby } } : { sync: null };
  const quorumSync = settings.synchronousMode && ha?.sync?.quorum !== undefined ? { leader: ha.sync.leader, voters: [...ha.sync.syncStandby], quorum: ha.sync.quorum } : null;
  return {
    settingsFrom: reporter?.name ?? null,
    ttl: ha?.ttl ?? d.ttl,
    loopWait: ha?.loopWait ?? d.loopWait,
    retryTimeout: ha?.retryTimeout ?? d.retryTimeout,
    maximumLagOnFailover: ha?.maximumLagOnFailover ?? d.maximumLagOnFailover,
    checkTimeline: ha?.checkTimeline ?? d.checkTimeline,
    synchronousMode: settings.synchronousMode,
    leaderLsn: known.length ? Math.max(...known) : null,
    clusterTimeline: ha?.clusterTimeline ?? leaderView?.timeline ?? null,
    syncStandbys: quorumSync === null && syncActive(settings, sync) ? [...(sync.sync?.syncStandby ?? [])] : null,
    quorum: quorumSync,
  };
}

/** Reachable: reporting (not stale) over an open connection (a killed agent's socket closes at once). */
function reachable(m: TMemberView): boolean {
  return fresh(m) && m.connected;
}

function peerOf(m: TMemberView): PeerView {
  return { name: m.name, reachable: reachable(m), role: m.role, state: m.state, lsn: m.lsn, timeline: m.timeline, tags: m.tags };
}

/** What the agents check besides rankCandidates before racing (the DCS reachable, /sync). `alive`: the members not taken as dead. */
function extraReasons(m: TMemberView, basis: TReadinessBasis, leader: string | null, alive: readonly TMemberView[]): string[] {
  const reasons: string[] = [];
  if (reachable(m) && m.dcsOk === false) reasons.push('cannot reach the DCS');
  if (reachable(m) && leader !== null && m.role !== null && LEADER_ROLES.has(m.role)) reasons.push(`reports itself ${m.role} while ${leader} holds the leader lock`);
  if (basis.syncStandbys !== null && !basis.syncStandbys.includes(m.name)) reasons.push('not a synchronous standby in /sync (synchronous_mode)');
  if (basis.quorum !== null) {
    // the leader is the one dying in this what-if: the votes come from the others
    const peers = alive.filter((p) => p.name !== leader).map((p) => ({ name: p.name, reachable: reachable(p), state: p.state, lsn: p.lsn }));
    const problem = quorumVoteProblem({ me: m.name, myLsn: m.lsn, sync: basis.quorum, peers });
    if (problem !== null) reasons.push(`${problem} (synchronous_mode: quorum)`);
  }
  return reasons;
}

/** "unreachable" from the ranking, said the way the control plane knows it. */
function explain(reason: string, m: TMemberView): string {
  if (reason !== 'unreachable') return reason;
  if (m.role === null) return 'unreachable (never reported)';
  return m.stale ? `unreachable (no report since ${m.lastSeenAt ?? 'never'})` : 'unreachable (agent disconnected)';
}

function rtoOf(basis: TReadinessBasis, leaderView: TMemberView | undefined): TReadiness['rto'] {
  const lease: TEstimate = {
    minSeconds: Math.max(0, basis.ttl - basis.loopWait) + PROMOTION_SECONDS.min,
    maxSeconds: basis.ttl + PROMOTION_SECONDS.max,
    basis:
      `the leader key expires with its lease: ttl ${basis.ttl} s after the last renewal, which is at most ` +
      `loop_wait ${basis.loopWait} s old, then ${PROMOTION_SECONDS.min}–${PROMOTION_SECONDS.max} s to promote`,
  };
  const fence = leaderView?.ha?.fence ?? null;
  const fast = fence !== null && fence.armed && fence.leaseKnown;
  const agentDeath: TEstimate = fast
    ? {
        minSeconds: FENCE_FAST_PATH_SECONDS.min,
        maxSeconds: FENCE_FAST_PATH_SECONDS.max + PROMOTION_SECONDS.max,
        basis: "keel-fence sees the agent die, stops PostgreSQL and revokes the leader's lease at once (measured 0.8–2.8 s)",
      }
    : { ...lease, basis: `the leader's fence cannot hand over early (${fence === null ? 'not reported' : !fence.armed ? 'not armed' : 'no lease id'}): ${lease.basis}` };
  return { agentDeath, nodeDeath: { ...lease, basis: `the node's fence dies with it: ${lease.basis}` } };
}

function rpoOf(basis: TReadinessBasis, winner: TMemberReadiness): TReadiness['rpo'] {
  if (basis.syncStandbys !== null && basis.syncStandbys.includes(winner.name)) {
    return { bytes: 0, basis: `${winner.name} is a synchronous standby in /sync: every commit acknowledged to a client reached it` };
  }
  if (basis.quorum !== null && basis.quorum.voters.length > 0) {
    return { bytes: 0, basis: `${basis.quorum.quorum + 1} of /sync's voting set are not ahead of ${winner.name}: one of them has every commit acknowledged to a client, so ${winner.name} has it too` };
  }
  const at = basis.leaderLsn === null ? 'unknown' : formatBytes(basis.leaderLsn);
  return {
    bytes: winner.lagBytes,
    basis: `asynchronous: ${winner.name}'s lag behind the leader's last reported position (${at} of WAL), as of their last reports; writes since then add to it`,
  };
}

/**
 * Readiness of the cluster with the members in `without` dead. Without anyone dead: who would be
 * promoted if the leader died now. With the leader dead: who takes over. With a replica dead: who would
 * be promoted if the leader died next.
 */
export function computeReadiness(members: readonly TMemberView[], opts: { without?: readonly string[] } = {}): TReadiness {
  const without = [...(opts.without ?? [])];
  const leader = leaderOf(members);
  const leaderView = members.find((m) => m.name === leader);
  const basis = basisOf(members, leader);
  const others = members.filter((m) => m.name !== leader && !without.includes(m.name));
  const history: [number, number, string][] = basis.clusterTimeline !== null && basis.clusterTimeline > 1 ? [[basis.clusterTimeline - 1, 0, 'control plane']] : [];
  const ranked: RankedCandidate[] = rankCandidates({
    candidates: others.map(peerOf),
    // rankCandidates reads the cluster timeline from /history (highest ended timeline + 1): one entry says it.
    cluster: { optime: basis.leaderLsn, history },
    settings: { maximumLagOnFailover: basis.maximumLagOnFailover, checkTimeline: basis.checkTimeline },
  });
  const judged = ranked
    .map((r) => {
      const m = others.find((o) => o.name === r.name) as TMemberView;
      const reasons = [...r.reasons.map((x) => explain(x, m)), ...extraReasons(m, basis, leader, others)];
      return { ...r, eligible: reasons.length === 0, reasons };
    })
    .sort(compareCandidates);
  const lagOf = (lsn: number | null): number | null => (lsn === null || basis.leaderLsn === null ? null : Math.max(0, basis.leaderLsn - lsn));
  const view: TMemberReadiness[] = judged.map((r) => ({ name: r.name, eligible: r.eligible, reasons: r.reasons, lagBytes: lagOf(r.lsn), priority: r.priority }));

  const blockers: string[] = [];
  const paused = members.filter(fresh).some((m) => m.paused);
  if (paused) blockers.push('the cluster is paused: no automatic failover');
  if (members.length <= 1) blockers.push('single member: nobody to fail over to');
  else if (view.length === 0) blockers.push('no other member');
  else if (!view.some((m) => m.eligible)) blockers.push('no eligible member');
  const best = judged.find((r) => r.eligible);
  const winner = blockers.length === 0 && best !== undefined ? view.find((v) => v.name === best.name) : undefined;
  const tiesWith = best && winner ? judged.filter((r) => r.eligible && r.name !== best.name && !isAhead(best, r) && !isAhead(r, best)).map((r) => r.name) : [];

  const warnings: string[] = [];
  const fence = leaderView?.ha?.fence ?? null;
  if (leader !== null && !without.includes(leader) && fence !== null && !(fence.armed && fence.leaseKnown)) {
    warnings.push(`${leader}'s fence is ${fence.armed ? 'armed but knows no lease to revoke' : 'not armed'}: if its agent dies, failover waits for the lease`);
  }
  if (basis.settingsFrom === null) warnings.push("no member reports its settings: Patroni's defaults assumed");
  if (leader === null) warnings.push('no leader now: the eligible members are racing for the lock');

  const rto = winner ? rtoOf(basis, leaderView) : null;
  const rpo = winner ? rpoOf(basis, winner) : null;
  const summary = winner
    ? `${winner.name} would be promoted${tiesWith.length ? ` (or ${tiesWith.join(', ')})` : ''}; ${rpo?.bytes === 0 ? 'no data at risk' : rpo?.bytes === null ? 'data at risk unknown' : `${formatBytes(rpo?.bytes ?? 0)} at risk`}`
    : `nobody would be promoted: ${[...blockers, ...view.filter((m) => !m.eligible).map((m) => `${m.name}: ${m.reasons.join(', ')}`)].join('; ') || 'no member'}`;
  return { leader, without, candidate: winner?.name ?? null, tiesWith, members: view, blockers, warnings, rto, rpo, basis, summary };
}

export interface TWhatIf {
  dies: string;
  /** `dies` leads now: its death is a failover. */
  failover: boolean;
  after: TReadiness;
  sentence: string;
}

/** "member X dies": who is promoted then (X leads) or who would be if the leader died next (X is a replica). */
export function whatIf(members: readonly TMemberView[], dies: string): TWhatIf {
  const now = computeReadiness(members);
  const failover = now.leader === dies;
  const after = computeReadiness(members, { without: [dies] });
  const cost = (r: TReadiness): string =>
    r.rto && r.rpo
      ? `${r.rto.nodeDeath.minSeconds}–${r.rto.nodeDeath.maxSeconds} s if its node crashes (${r.rto.agentDeath.minSeconds}–${r.rto.agentDeath.maxSeconds} s if only its agent dies), ${r.rpo.bytes === null ? 'unknown data' : formatBytes(r.rpo.bytes)} at risk`
      : '';
  let sentence: string;
  if (failover) {
    const who = `${after.candidate}${after.tiesWith.length ? ` (or ${after.tiesWith.join(', ')}, whichever takes the lock first)` : ''}`;
    sentence = after.candidate
      ? `If ${dies} dies, ${who} is promoted: ${cost(after)}.`
      : `If ${dies} dies, nobody is promoted and the cluster has no primary: ${after.summary.replace(/^nobody would be promoted: /, '')}.`;
  } else {
    const change = now.candidate === dies ? `the best candidate is gone` : 'no failover';
    sentence = after.candidate
      ? `If ${dies} dies, ${change}; should ${now.leader ?? 'the leader'} die next, ${after.candidate} would be promoted: ${cost(after)}.`
      : `If ${dies} dies, ${change}; should ${now.leader ?? 'the leader'} die next, nobody would be promoted.`;
  }
  return { dies, failover, after, sentence };
}
