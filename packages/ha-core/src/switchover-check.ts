import { byName, describeMembers, parseScheduledAt, rosterOf } from './failover.ts';
import { rankCandidates } from './rank.ts';
import { SYNC_MISMATCH, syncPool } from './sync.ts';
import { promotionBlocker } from './tags.ts';
import type { ClusterView, HaSettings, PeerView } from './types.ts';

/** A POST /switchover or POST /failover body, with what the API member knows when it arrives. */
export interface SwitchoverRequestInput {
  kind: 'switchover' | 'failover';
  leader?: string;
  candidate?: string;
  /** ISO 8601 with a timezone. */
  scheduledAt?: string;
  /** ms since epoch. */
  now: number;
  cluster: Pick<ClusterView, 'leader' | 'members' | 'optime' | 'history'> & Partial<Pick<ClusterView, 'sync'>>;
  /** GET /patroni of the members (the caller's own answer included when it is not the leader). */
  peers: readonly PeerView[];
  settings: Pick<HaSettings, 'pause' | 'maximumLagOnFailover' | 'checkTimeline'> & Partial<Pick<HaSettings, 'synchronousMode' | 'quorumCommit'>>;
}

export interface MemberEligibility {
  name: string;
  eligible: boolean;
  /** Empty when eligible. */
  reasons: string[];
}

export type SwitchoverCheck =
  /** Write the `failover` key. `action`: 'switchover' when a leader is named (Patroni turns such a failover into one). */
  | { ok: true; action: 'switchover' | 'failover' }
  /**
   * Refuse with this status and text (Patroni's texts where it has one). 400: a malformed request;
   * 412: not possible in this cluster now; 422: a schedule that cannot be parsed or lies in the past
   * (Patroni's parse_schedule answers 422 there). `members`, by name: why each member considered cannot lead.
   */
  | { ok: false; status: 400 | 412 | 422; message: string; members?: MemberEligibility[] };

/**
 * Patroni's do_POST_failover / is_failover_possible, pure. Candidates are judged by rankCandidates(),
 * the code the HA loop uses when it carries the request out, so the API does not accept what the leader
 * would then refuse. Two Patroni rules are kept: a scheduled request is checked for its names only (the
 * members' health is checked when its time comes), and a POST /failover (no leader) in a cluster with no
 * leader needs only a reachable candidate that may promote (no lag, timeline or state check: the
 * operator accepts the loss). The DCS write and its 503 are the caller's.
 */
export function checkSwitchoverRequest(input: SwitchoverRequestInput): SwitchoverCheck {
  const leader = nonEmpty(input.leader);
  const candidate = nonEmpty(input.candidate);
  const scheduledAt = nonEmpty(input.scheduledAt);
  const paused = input.settings.pause;

  if (input.kind === 'failover' && candidate === null) return refuse(400, 'Failover could be performed only to a specific candidate');
  if (input.kind === 'switchover' && leader === null) return refuse(400, 'Switchover could be performed only from a specific leader');
  if (scheduledAt !== null) {
    if (input.kind === 'failover') return refuse(400, "Failover can't be scheduled");
    if (paused) return refuse(400, "Can't schedule switchover in the paused state");
    const s = parseScheduledAt(scheduledAt);
    if (!s.ok && s.error === 'no_timezone') return refuse(400, 'Timezone information is mandatory for the scheduled switchover');
    if (!s.ok) return refuse(422, 'Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601');
    if (s.at < input.now) return refuse(422, 'Cannot schedule switchover in the past');
  }
  if (paused && candidate === null) return refuse(400, 'Switchover is possible only to a specific candidate in a paused state');
  const action = leader !== null ? 'switchover' : 'failover';
  if (leader !== null && leader === candidate) return refuse(400, 'Switchover target and source are the same');

  const current = input.cluster.leader;
  if (leader !== null && leader !== current) return refuse(412, 'leader name does not match');
  // synchronous_mode with a running leader: only a synchronous standby may take over (the leader would
  // refuse anyone else). Without a leader a failover bypasses the sync check (Patroni: data may be lost).
  // Quorum mode restricts nobody (Patroni): the candidate waits for the leader's shutdown checkpoint.
  const syncSettings = { synchronousMode: input.settings.synchronousMode === true, quorumCommit: input.settings.quorumCommit === true };
  const syncCluster = { sync: input.cluster.sync ?? null };
  const sync = current !== null ? syncPool(syncSettings, syncCluster, input.cluster.members) : { restricted: false, members: [] };
  if (candidate !== null && sync.restricted && !sync.members.some((m) => m.name === candidate)) return refuse(412, SYNC_MISMATCH);
  if (candidate !== null && !input.cluster.members.some((m) => m.name === candidate)) {
    return refuse(412, `candidate (${candidate}) is not a member of the cluster`);
  }
  if (candidate !== null && candidate === current) return refuse(412, `candidate (${candidate}) is already the leader`);
  if (scheduledAt !== null) return { ok: true, action };

  const roster = rosterOf(input.cluster, input.peers, [current]);
  const others = sync.restricted ? syncPool(syncSettings, syncCluster, roster).members : roster;
  if (sync.restricted && candidate === null && others.length === 0) return refuse(412, `${action} is not possible: can not find sync_standby`);
  const pool = candidate === null ? others : others.filter((p) => p.name === candidate);
  if (pool.length === 0) return refuse(412, `${action} is not possible: cluster does not have members except leader`);
  const members = current === null && action === 'failover' ? pool.map(bareEligibility) : ranked(pool, input);
  if (members.some((m) => m.eligible)) return { ok: true, action };
  return refuse(412, `${action} is not possible: no good candidates have been found: ${describeMembers(members)}`, members);
}

function ranked(pool: PeerView[], input: SwitchoverRequestInput): MemberEligibility[] {
  return rankCandidates({ candidates: pool, cluster: input.cluster, settings: input.settings })
    .map(({ name, eligible, reasons }) => ({ name, eligible, reasons }))
    .sort(byName);
}

/** Patroni's failover_limitation(): it answers and it may promote. */
function bareEligibility(p: PeerView): MemberEligibility {
  const reasons: string[] = [];
  if (!p.reachable) reasons.push('unreachable');
  const blocker = promotionBlocker(p.tags);
  if (blocker !== null) reasons.push(blocker);
  return { name: p.name, eligible: reasons.length === 0, reasons };
}

function refuse(status: 400 | 412 | 422, message: string, members?: MemberEligibility[]): SwitchoverCheck {
  return members === undefined ? { ok: false, status, message } : { ok: false, status, message, members };
}

function nonEmpty(s: string | undefined): string | null {
  return typeof s === 'string' && s.length > 0 ? s : null;
}
