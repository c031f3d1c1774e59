import type { ClusterSnapshot, MemberRecord } from '@keel/dcs';
import { PATRONI_DEFAULTS } from '@keel/ha-core';
import type { ClusterView, Decision, HaSettings, Observation, PgView } from '@keel/ha-core';
import type { TFailoverValue, TMemberValue, TNodeStatus } from '@keel/protocol';
import { buildSnapshot, type TSnapshotBody } from '../src/uplink/snapshot.ts';

/** Builders for the uplink's pure functions: a 3-member cluster (pg0 leader) seen by pg1. */

export const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
export const MB = 1024 * 1024;

export function settings(over: Partial<HaSettings> = {}): HaSettings {
  return { ...PATRONI_DEFAULTS, ...over };
}

export function replicaStatus(over: Partial<TNodeStatus> & { received?: number; replayed?: number } = {}): TNodeStatus {
  const { received = 100 * MB, replayed = 100 * MB, ...rest } = over;
  return {
    state: 'running',
    role: 'replica',
    patroni: { version: '0.1.0', scope: 'demo', name: 'pg1' },
    xlog: { received_location: received, replayed_location: replayed, replayed_timestamp: null, paused: false },
    timeline: 2,
    dcs_last_seen: Math.floor(T0 / 1000),
    ...rest,
  };
}

export function primaryStatus(lsn = 100 * MB, over: Partial<TNodeStatus> = {}): TNodeStatus {
  return {
    state: 'running',
    role: 'primary',
    patroni: { version: '0.1.0', scope: 'demo', name: 'pg1' },
    xlog: { location: lsn },
    timeline: 3,
    dcs_last_seen: Math.floor(T0 / 1000),
    ...over,
  };
}

export function stoppedStatus(state: TNodeStatus['state'] = 'crashed'): TNodeStatus {
  return { state, role: 'replica', patroni: { version: '0.1.0', scope: 'demo', name: 'pg1' } };
}

function member(name: string, value: Partial<TMemberValue> = {}): MemberRecord {
  return {
    name,
    lease: '1',
    modRevision: 1,
    value: { conn_url: `postgres://${name}:5432/postgres`, api_url: `http://${name}:8008/patroni`, state: 'running', role: 'replica', version: '0.1.0', timeline: 2, xlog_location: 100 * MB, ...value },
  };
}

export interface ClusterOpts {
  leader?: string | null;
  optime?: number | null;
  leaderXlog?: number;
  failover?: TFailoverValue | null;
}

export function cluster(o: ClusterOpts = {}): ClusterSnapshot {
  const leader = o.leader === undefined ? 'pg0' : o.leader;
  const optime = o.optime === undefined ? 100 * MB : o.optime;
  return {
    revision: 1,
    initialize: '7000000000000000001',
    config: null,
    leader: leader === null ? null : { name: leader, lease: '1', modRevision: 1 },
    members: [
      member('pg0', { role: leader === 'pg0' ? 'primary' : 'replica', xlog_location: o.leaderXlog ?? 100 * MB }),
      member('pg1', { pending_restart: true, tags: { zone: 'b' } }),
      member('pg2'),
    ],
    history: [[1, 50 * MB, 'no recovery target specified']],
    status: optime === null ? null : { optime },
    failover: o.failover ? { value: o.failover, modRevision: 1 } : null,
    sync: null,
    failsafe: null,
    warnings: [],
  };
}

export function clusterView(c: ClusterSnapshot): ClusterView {
  return {
    initialize: c.initialize,
    leader: c.leader?.name ?? null,
    members: c.members.map((m) => ({
      name: m.name,
      role: m.value.role,
      state: m.value.state,
      connUrl: m.value.conn_url,
      apiUrl: m.value.api_url,
      tags: m.value.tags ?? {},
      xlogLocation: m.value.xlog_location ?? null,
      timeline: m.value.timeline ?? null,
    })),
    optime: c.status?.optime ?? null,
    history: c.history ?? [],
    failover: c.failover?.value ?? null,
    hasConfig: true,
    sync: null,
  };
}

export function observation(o: { now?: number; cluster?: ClusterSnapshot | null; dcsError?: string; running?: boolean; role?: 'primary' | 'replica'; s?: Partial<HaSettings> } = {}): Observation {
  const c = o.cluster === undefined ? cluster() : o.cluster;
  const running = o.running ?? true;
  const pg = {
    dataDir: 'initialized',
    sysid: '7000000000000000001',
    running,
    role: running ? (o.role ?? 'replica') : null,
    controlState: running ? null : 'in archive recovery',
    timeline: 2,
    lsn: 100 * MB,
    streaming: running,
    slots: [],
    checkpointLsn: null,
    replication: [],
    syncStandbyNames: null,
  } as PgView;
  return {
    now: o.now ?? T0,
    me: { name: 'pg1', tags: {} },
    settings: settings(o.s),
    dcs: o.dcsError !== undefined || c === null ? { ok: false, error: o.dcsError ?? 'etcd unreachable' } : { ok: true, cluster: clusterView(c) },
    pg,
    peers: null,
    memory: { inFlight: null, lastFailure: null, pgDownSince: null, following: 'pg0', formerPrimary: false },
  };
}

export function decision(verdict: Decision['verdict'] = 'replica_ok', actions: Decision['actions'] = []): Decision {
  return { verdict, reason: `test: ${verdict}`, actions };
}

/** A plain replica snapshot, as the uplink would send it (the buffer and client tests' message). */
export function aReplicaSnapshot(): TSnapshotBody {
  return buildSnapshot({
    now: T0,
    me: 'pg1',
    status: replicaStatus(),
    obs: observation(),
    decision: decision(),
    cluster: cluster(),
    settings: settings(),
    leaderPositions: [],
    actions: [],
  });
}
