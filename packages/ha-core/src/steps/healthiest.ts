import type { Facts } from '../facts.ts';
import { isPrimaryRole } from '../facts.ts';
import { lsnText } from '../failover.ts';
import { failsafeRaceBlocker } from '../failsafe.ts';
import { isAhead, rankCandidates } from '../rank.ts';
import type { RankedCandidate } from '../rank.ts';
import { quorumVoteProblem } from '../quorum.ts';
import { mayRaceInSyncMode, syncActive } from '../sync.ts';
import type { PeerView } from '../types.ts';

/**
 * Why I should not race for the lock, or null when I am the healthiest member (Patroni's
 * is_healthiest_node). Checks in order, the first failure wins:
 *  1-2. my own eligibility (lag against /status.optime; timeline when check_timeline is on),
 *  3.   a reachable peer still runs as primary,
 *  4-5. an eligible peer has a higher WAL position, or the same one and a higher failover_priority.
 * Unreachable peers are ignored: they may be dead. A running primary (lease expired, DCS back) has no
 * replica to compare with, so 4-5 are skipped and its timeline must always be >= the cluster's.
 * The former leader of a requested switchover is no rival (4-5): it does not race (manual-failover.ts).
 * A requested candidate does not get here (it takes over without comparing itself).
 * synchronous_mode with a /sync key: only its leader and its sync standbys may race, and are compared
 * among themselves only; a sync standby skips the lag check; the last leader is no rival (4-5).
 */
export function whyNotHealthiest(f: Facts): string | null {
  const peers = f.obs.peers;
  if (peers === null) return 'peer statuses were not gathered';
  const failsafe = failsafeRaceBlocker(f);
  if (failsafe !== null) return failsafe;
  // Sync mode: only the last leader and the synchronous standbys in /sync may race; a sync standby
  // has every acknowledged transaction, so it skips the lag check.
  const sync = syncActive(f.settings, f.cluster);
  const quorum = sync && f.settings.quorumCommit;
  // Quorum mode: anyone may race, but must gather the quorum's votes (below).
  if (sync && !quorum && !mayRaceInSyncMode(f.cluster, f.me)) return 'not a synchronous standby';
  const others = peers.filter((p) => p.name !== f.me && (!sync || mayRaceInSyncMode(f.cluster, p.name)));
  const primary = f.pg.role === 'primary';
  const maxLag = sync && f.cluster.sync?.syncStandby.includes(f.me) ? Number.MAX_SAFE_INTEGER : f.settings.maximumLagOnFailover;
  const ranked = rankCandidates({
    candidates: [selfAsCandidate(f), ...others],
    cluster: f.cluster,
    settings: { maximumLagOnFailover: maxLag, checkTimeline: f.settings.checkTimeline || primary },
  });
  const mine = ranked.find((c) => c.name === f.me);
  if (mine === undefined) return 'I am not among the candidates';
  if (!mine.eligible) return mine.reasons[0] ?? 'not eligible';

  const alive = peers.find((p) => p.name !== f.me && p.reachable && isPrimaryRole(p.role) && p.state === 'running');
  if (alive !== undefined) return `primary (${alive.name}) is still alive`;

  if (!primary) {
    const formerLeader = f.activeRequest?.leader ?? null;
    // In sync mode the last leader may still answer, even be ahead: it does not disqualify me (Patroni).
    const lastLeader = sync ? (f.cluster.sync?.leader ?? null) : null;
    const rival = ranked.find((c) => c.name !== f.me && c.name !== formerLeader && c.name !== lastLeader && c.eligible && isAhead(c, mine));
    if (rival !== undefined) return rivalReason(rival, mine);
  }
  if (quorum && f.cluster.sync !== null) {
    const { leader, syncStandby, quorum: q } = f.cluster.sync;
    return quorumVoteProblem({ me: f.me, myLsn: f.pg.lsn, sync: { leader, voters: syncStandby, quorum: q ?? 0 }, peers });
  }
  return null;
}

function selfAsCandidate(f: Facts): PeerView {
  return {
    name: f.me,
    reachable: true,
    role: f.pg.role,
    state: 'running',
    lsn: f.pg.lsn,
    timeline: f.pg.timeline,
    tags: f.obs.me.tags,
  };
}

function rivalReason(rival: RankedCandidate, mine: RankedCandidate): string {
  if (rival.lsn !== mine.lsn) {
    return `(${rival.name}) has a higher WAL position (${lsnText(rival.lsn)} > ${lsnText(mine.lsn)})`;
  }
  return `(${rival.name}) has the same WAL position and a higher failover_priority (${rival.priority} > ${mine.priority})`;
}
