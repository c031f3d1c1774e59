/**
 * Pure updates of the dashboard's cached query data from /live messages: a member's new snapshot
 * replaces that member, presence and staleness flip their flags, an event is prepended, and the
 * cluster's health is recomputed with the server's own summarizeCluster, so what the page shows
 * after a live message is what a refetch would return.
 */
import type { inferRouterOutputs } from '@trpc/server';
import { summarizeCluster } from '../server/lib/cluster-health.ts';
import type { TLiveMessage } from '../server/live/messages.ts';
import type { AppRouter } from '../server/routers/_app.ts';
import { HISTORY_EVENT_TYPES } from '../server/services/get-cluster.ts';

/** What the browser holds: the routers' outputs as they arrive over JSON. */
type TOutputs = inferRouterOutputs<AppRouter>;
export type TClusterDetail = TOutputs['clusters']['byScope'];
export type TClusterListItem = TOutputs['clusters']['list'][number];
export type TMemberView = TClusterDetail['members'][number];
export type TEventView = TClusterDetail['recentEvents'][number];
export type { TLiveMessage };

type TMemberMessage = Extract<TLiveMessage, { type: 'member' | 'presence' | 'stale' }>;
const isMemberMessage = (m: TLiveMessage): m is TMemberMessage => m.type === 'member' || m.type === 'presence' || m.type === 'stale';

/** One member after a message about it (null: the message is not about a known member). */
function patchMember(members: readonly TMemberView[], msg: TMemberMessage): TMemberView[] | null {
  if (msg.type === 'member') {
    const i = members.findIndex((m) => m.name === msg.member.name);
    // the live view has no agentVersion (it is not in the snapshot): keep the stored one
    if (i === -1) return [...members, msg.member].sort((a, b) => a.name.localeCompare(b.name));
    const old = members[i]!;
    if (old.lastSeq > msg.member.lastSeq) return null; // an older message than what we have
    const next = members.slice();
    next[i] = { ...msg.member, agentVersion: msg.member.agentVersion ?? old.agentVersion };
    return next;
  }
  const i = members.findIndex((m) => m.name === msg.member);
  if (i === -1) return null;
  const next = members.slice();
  const old = members[i]!;
  next[i] = msg.type === 'presence' ? { ...old, connected: msg.connected } : { ...old, stale: true, lastSeenAt: msg.lastSeenAt ?? old.lastSeenAt };
  return next;
}

export function applyToDetail(detail: TClusterDetail | undefined, msg: TLiveMessage): TClusterDetail | undefined {
  if (!detail || !('cluster' in msg) || msg.cluster !== detail.scope) return detail;
  if (msg.type === 'event') {
    if (detail.recentEvents.some((e) => e.id === msg.event.id)) return detail;
    const isHistory = HISTORY_EVENT_TYPES.includes(msg.event.type);
    return {
      ...detail,
      recentEvents: [msg.event, ...detail.recentEvents].slice(0, Math.max(50, detail.recentEvents.length)),
      history: isHistory ? [msg.event, ...detail.history] : detail.history,
    };
  }
  if (!isMemberMessage(msg)) return detail;
  const members = patchMember(detail.members, msg);
  if (!members) return detail;
  return { ...detail, members, health: summarizeCluster(members) };
}

export function applyToList(list: TClusterListItem[] | undefined, msg: TLiveMessage): TClusterListItem[] | undefined {
  if (!list || !isMemberMessage(msg)) return list;
  const i = list.findIndex((c) => c.scope === msg.cluster);
  if (i === -1) return list;
  const c = list[i]!;
  const members = patchMember(c.members, msg);
  if (!members) return list;
  const next = list.slice();
  next[i] = { ...c, members, health: summarizeCluster(members) };
  return next;
}

/** Does the list know this cluster? (A message about an unknown one means: refetch.) */
export function listKnows(list: TClusterListItem[] | undefined, msg: TLiveMessage): boolean {
  if (!list || !('cluster' in msg) || msg.type === 'operation' || msg.type === 'incident') return true;
  const c = list.find((x) => x.scope === msg.cluster);
  if (!c) return false;
  return msg.type === 'event' || c.members.some((m) => m.name === (msg.type === 'member' ? msg.member.name : msg.member));
}

/**
 * Members as of `nowMs` (server clock): a member that has sent nothing for staleAfterSeconds is
 * stale even before the server's "stale" message arrives (or when the live feed is down).
 */
export function withFreshness<T extends { members: TMemberView[] }>(
  data: T,
  nowMs: number,
  staleAfterSeconds: number,
): T & { health: ReturnType<typeof summarizeCluster> } {
  let changed = false;
  const members = data.members.map((m) => {
    if (m.stale) return m;
    const seen = m.lastSeenAt ? new Date(m.lastSeenAt).getTime() : null;
    if (seen !== null && nowMs - seen <= staleAfterSeconds * 1000) return m;
    changed = true;
    return { ...m, stale: true };
  });
  const health = summarizeCluster(members);
  return changed ? { ...data, members, health } : { ...data, health };
}
