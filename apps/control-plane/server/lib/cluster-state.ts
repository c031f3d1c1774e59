/**
 * The cluster as the agents report it (their latest snapshots), reduced to what approvals are
 * pinned to: leader, timeline, members, pause. The snapshots carry no DCS revision, so the pin is
 * the DCS-visible facts that a failover, switchover, member change or pause changes.
 */
import { createHash } from 'node:crypto';
import type { TSnapshot } from '@keel/protocol';
import { canonicalJson } from './audit-hash.ts';

export interface TClusterState {
  leader: string | null;
  timeline: number | null;
  /** Member names, sorted. */
  members: string[];
  paused: boolean;
}

export interface TMemberSnapshot {
  name: string;
  snapshot: TSnapshot | null;
  lastSeenAt: Date | null;
}

/** The state from the freshest snapshots: the leader and member list as the newest reporter saw the DCS. */
export function clusterStateOf(members: readonly TMemberSnapshot[]): TClusterState {
  const withSnap = members.filter((m): m is TMemberSnapshot & { snapshot: TSnapshot } => m.snapshot !== null);
  const newest = [...withSnap].sort((a, b) => b.snapshot.at.localeCompare(a.snapshot.at))[0];
  const leader = newest?.snapshot.leader ?? null;
  const leaderSnap = withSnap.find((m) => m.name === leader)?.snapshot;
  const dcsMembers = newest && newest.snapshot.members.length > 0 ? newest.snapshot.members.map((m) => m.name) : withSnap.map((m) => m.name);
  return {
    leader,
    timeline: leaderSnap?.timeline ?? newest?.snapshot.timeline ?? null,
    members: [...new Set(dcsMembers)].sort(),
    paused: newest?.snapshot.paused ?? false,
  };
}

/** Why `now` is not the state an approval was given against, in words; null when it is the same. */
export function stateChange(then: TClusterState, now: TClusterState): string | null {
  const why: string[] = [];
  if (then.leader !== now.leader) why.push(`the leader changed from ${then.leader ?? 'none'} to ${now.leader ?? 'none'}`);
  if (then.timeline !== now.timeline) why.push(`the timeline changed from ${then.timeline ?? '?'} to ${now.timeline ?? '?'}`);
  const added = now.members.filter((m) => !then.members.includes(m));
  const removed = then.members.filter((m) => !now.members.includes(m));
  if (added.length) why.push(`${added.join(', ')} joined`);
  if (removed.length) why.push(`${removed.join(', ')} left`);
  if (then.paused !== now.paused) why.push(now.paused ? 'the cluster was paused' : 'the cluster was resumed');
  return why.length ? why.join('; ') : null;
}

/** The hash an approval pins the request with. */
export function requestHash(req: { type: string; params: unknown; reason: string; ticket?: string | null }): string {
  return createHash('sha256').update(canonicalJson({ type: req.type, params: req.params, reason: req.reason, ticket: req.ticket ?? null }), 'utf8').digest('hex');
}
