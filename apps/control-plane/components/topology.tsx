/**
 * The replication topology: the leader at the root, replicas under their upstream (Patroni's
 * `replicatefrom` tag makes a cascading replica; otherwise a replica streams from the leader), sync
 * standbys marked. Members that are not reporting or not replicating are listed apart. A nested
 * list, so it reads the same to a screen reader and fits a phone.
 */
import type { TClusterHealth } from '../server/lib/cluster-health.ts';
import type { TMemberView } from './live-cache.ts';
import { RoleBadge, StaleBadge } from './badges.tsx';
import { formatBytes, formatLsn, formatSeconds, isLeaderRole } from './format.ts';

export interface TTopoNode {
  member: TMemberView;
  children: TTopoNode[];
}

export interface TTopology {
  root: TTopoNode | null;
  /** Not in the tree: not reporting, not a replica, or an upstream that leads nowhere. */
  apart: TMemberView[];
  sync: Set<string>;
}

/** Sync standbys as the fresh members read them from the DCS (role "sync_standby" in members/<name>). */
export function syncStandbys(members: readonly TMemberView[]): Set<string> {
  const out = new Set<string>();
  for (const m of members) {
    if (m.stale) continue;
    for (const d of m.dcsMembers) if (/^sync[_ ]standby$/i.test(d.role)) out.add(d.name);
  }
  return out;
}

/** Patroni's `replicatefrom` tag: the member this one streams from (cascading replication). */
export function replicateFrom(m: TMemberView): string | null {
  const t: unknown = m.tags.replicatefrom;
  return typeof t === 'string' && t !== '' && t !== m.name ? t : null;
}

/** Pure: arrange members into the tree. */
export function buildTopology(members: readonly TMemberView[], health: Pick<TClusterHealth, 'leader'>): TTopology {
  const byName = new Map(members.map((m) => [m.name, m]));
  const rootMember = (health.leader ? byName.get(health.leader) : undefined) ?? null;
  const children = new Map<string, TMemberView[]>();
  const apart: TMemberView[] = [];
  for (const m of members) {
    if (m === rootMember) continue;
    if (m.stale || m.role !== 'replica' || !rootMember) {
      apart.push(m);
      continue;
    }
    const wanted = replicateFrom(m);
    const upstream = wanted && byName.has(wanted) && !byName.get(wanted)!.stale ? wanted : rootMember.name;
    children.set(upstream, [...(children.get(upstream) ?? []), m]);
  }
  const placed = new Set<string>();
  const grow = (m: TMemberView): TTopoNode => {
    placed.add(m.name);
    const kids = (children.get(m.name) ?? []).filter((k) => !placed.has(k.name));
    return { member: m, children: kids.map(grow) };
  };
  const root = rootMember ? grow(rootMember) : null;
  // a replicatefrom cycle or chain that never reaches the leader: show those members apart
  for (const m of members) if (m !== rootMember && !placed.has(m.name) && !apart.includes(m)) apart.push(m);
  return { root, apart, sync: syncStandbys(members) };
}

function NodeCard({ m, sync, nowMs }: { m: TMemberView; sync: boolean; nowMs: number }) {
  const running = m.state === 'running';
  return (
    <div className="topo-node" data-role={isLeaderRole(m.role) && !m.stale ? 'leader' : 'replica'} data-stale={m.stale}>
      <span className="name">
        {m.name} <RoleBadge role={m.role} sync={sync} stale={m.stale} />
        {m.stale ? <StaleBadge since={m.lastSeenAt} nowMs={nowMs} /> : null}
      </span>
      <span className="detail">
        <span className={running || m.stale ? '' : 'bad'}>{m.state ?? 'no report'}</span>
        {m.timeline !== null ? ` · TL ${m.timeline}` : ''}
        {m.lsn !== null ? ` · ${formatLsn(m.lsn)}` : ''}
        {m.pendingRestart ? ' · pending restart' : ''}
      </span>
    </div>
  );
}

function Branch({ node, sync, nowMs }: { node: TTopoNode; sync: Set<string>; nowMs: number }) {
  const m = node.member;
  const lag = m.lag;
  const label = `${m.name}, ${isLeaderRole(m.role) ? 'leader' : sync.has(m.name) ? 'sync standby' : 'replica'}`;
  return (
    <li aria-label={label}>
      {m.role === 'replica' ? (
        <p className="topo-edge">
          {replicateFrom(m) ? `cascades from ${replicateFrom(m)} · ` : ''}
          replay lag {formatBytes(lag?.replayBytes)}
          {lag?.replaySeconds !== null && lag?.replaySeconds !== undefined ? ` · ${formatSeconds(lag.replaySeconds)}` : ''}
        </p>
      ) : null}
      <NodeCard m={m} sync={sync.has(m.name)} nowMs={nowMs} />
      {node.children.length ? (
        <ul aria-label={`Replicas of ${m.name}`}>
          {node.children.map((c) => (
            <Branch key={c.member.name} node={c} sync={sync} nowMs={nowMs} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

export function Topology({ members, health, nowMs }: { members: TMemberView[]; health: TClusterHealth; nowMs: number }) {
  const t = buildTopology(members, health);
  return (
    <div>
      {t.root ? (
        <ul className="topo" aria-label="Replication topology">
          <Branch node={t.root} sync={t.sync} nowMs={nowMs} />
        </ul>
      ) : (
        <p className="empty bad">No leader right now: no member is running as primary.</p>
      )}
      {t.apart.length ? (
        <>
          <p className="topo-group-title">Not replicating or not reporting</p>
          <ul className="topo" aria-label="Members outside the topology">
            {t.apart.map((m) => (
              <li key={m.name} aria-label={`${m.name}, ${m.stale ? 'not reporting' : (m.state ?? 'no report')}`}>
                <NodeCard m={m} sync={false} nowMs={nowMs} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}
