import type { Facts } from '../facts.ts';
import { isPrimaryRole } from '../facts.ts';
import { lsnText } from '../failover.ts';
import { isAhead, rankCandidates } from '../rank.ts';
import type { RankedCandidate } from '../rank.ts';
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
 */
export function whyNotHealthiest(f: Facts): string | null {
  const peers = f.obs.peers;
  if (peers === null) return 'peer statuses were not gathered';
  const others = peers.filter((p) => p.name !== f.me);
  const primary = f.pg.role === 'primary';
  const ranked = rankCandidates({
    candidates: [selfAsCandidate(f), ...others],
    cluster: f.cluster,
    settings: { maximumLagOnFailover: f.settings.maximumLagOnFailover, checkTimeline: f.settings.checkTimeline || primary },
  });
  const mine = ranked.find((c) => c.name === f.me);
  if (mine === undefined) return 'I am not among the candidates';
  if (!mine.eligible) return mine.reasons[0] ?? 'not eligible';

  const alive = others.find((p) => p.reachable && isPrimaryRole(p.role) && p.state === 'running');
  if (alive !== undefined) return `primary (${alive.name}) is still alive`;

  if (!primary) {
    const formerLeader = f.activeRequest?.leader ?? null;
    const rival = ranked.find((c) => c.name !== f.me && c.name !== formerLeader && c.eligible && isAhead(c, mine));
    if (rival !== undefined) return rivalReason(rival, mine);
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
