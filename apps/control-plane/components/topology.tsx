/**
 * The replication topology: the leader at the root, replicas under their upstream (Patroni's
 * `replicatefrom` tag makes a cascading replica; otherwise a replica streams from the leader), sync
 * standbys marked. Members that are not reporting or not replicating are listed apart. A nested
 * list, so it reads the same to a screen reader and fits a phone.
 */
import type { TClusterHealth } from '../server/lib/cluster-health.ts';
import { RoleBadge, StaleBadge } from './badges.tsx';
import { formatBytes, formatLsn, formatSeconds, isLeaderRole } from './format.ts';
import type { TMemberView } from './live-cache.ts';
import { buildTopology, replicateFrom, type TTopoNode } from './view-model.ts';

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
