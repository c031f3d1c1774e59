import net from 'node:net';
import type { ClusterSnapshot } from '@keel/dcs';
import { factsOf, heartbeatStopped, watchesHeartbeat } from '@keel/ha-core';
import type { ClusterMember, ClusterView, LeaseView, Observation, PeerView, PgView, TakeoverProbe } from '@keel/ha-core';
import { syncStandbyList, type TTags } from '@keel/protocol';
import { adoptConfigFromDcs } from './adopt-config.ts';
import { checkFailsafe } from './failsafe.ts';
import type { PeerClient } from './peers.ts';
import type { Runtime } from './runtime.ts';
import { watchdogProblem } from './watchdog.ts';

/** How much longer than loop_wait a watch waits for a sign of life from its etcd host before probing it. */
const WATCH_KEEPALIVE_MARGIN_MS = 2000;

/** Map a DCS snapshot to what decide() needs. */
export function clusterView(snap: ClusterSnapshot): ClusterView {
  const members: ClusterMember[] = snap.members.map((m) => ({
    name: m.name,
    role: m.value.role,
    state: m.value.state,
    connUrl: m.value.conn_url,
    apiUrl: m.value.api_url,
    tags: m.value.tags ?? {},
    xlogLocation: m.value.xlog_location ?? null,
    timeline: m.value.timeline ?? null,
  }));
  return {
    initialize: snap.initialize,
    leader: snap.leader?.name ?? null,
    members,
    optime: snap.status?.optime ?? null,
    history: snap.history ?? [],
    failover: snap.failover?.value ?? null,
    failoverRevision: snap.failover?.modRevision ?? null,
    hasConfig: snap.config !== null,
    sync: syncView(snap),
    failsafe: snap.failsafe,
    leaderRevision: snap.leader?.modRevision ?? null,
    leaderLease: snap.leader?.lease ?? null,
    syncRevision: snap.sync?.modRevision ?? null,
  };
}

/** /sync as decide() reads it: sync_standby is comma-joined names (Patroni). */
export function syncView(snap: ClusterSnapshot): ClusterView['sync'] {
  const v = snap.sync?.value;
  if (!v) return null;
  return { leader: v.leader ?? null, syncStandby: syncStandbyList(v), quorum: v.leader ? (v.quorum ?? 0) : 0 };
}

/** A member's /patroni answer as decide() and the ranking read it. */
export function peerFromStatus(
  name: string,
  body: {
    role?: string;
    state?: string;
    timeline?: number;
    tags?: TTags;
    replication_state?: string;
    xlog?: { location?: number; received_location?: number; replayed_location?: number };
  },
): PeerView {
  const x = body.xlog ?? {};
  const lsn = x.location ?? Math.max(x.received_location ?? 0, x.replayed_location ?? 0);
  return {
    name,
    reachable: true,
    role: body.role ?? null,
    state: body.state ?? null,
    lsn: Number.isFinite(lsn) && lsn > 0 ? lsn : null,
    timeline: body.timeline ?? null,
    tags: body.tags ?? {},
    streaming: body.replication_state === undefined ? null : body.replication_state === 'streaming',
  };
}

/**
 * GET /patroni of one peer, bounded by a short timeout. A peer that cannot be reached, whose api_url is
 * not an http(s) URL to a host, or whose answer does not parse is reported as unreachable.
 */
export async function fetchPeer(peers: PeerClient, name: string, apiUrl: string, timeoutMs: number): Promise<PeerView> {
  const answer = await peers.status(name, apiUrl, timeoutMs);
  if (answer.ok) return peerFromStatus(name, answer.body);
  return { name, reachable: false, role: null, state: null, lsn: null, timeline: null, tags: {} };
}

/**
 * Observe once: DCS snapshot, PostgreSQL probe, and (only when the cluster has no leader) the
 * other members' REST API. The result is frozen; decide() gets exactly this.
 */
export async function observe(rt: Runtime, now: () => number): Promise<Observation> {
  const name = rt.config.name;
  const [dcsResult, pg] = await Promise.all([readDcs(rt), probePg(rt)]);

  if (dcsResult.ok) {
    rt.lastCluster = dcsResult.snap;
    rt.dcsLastSeen = Math.floor(now() / 1000);
    adoptConfigFromDcs(rt, dcsResult.snap);
    rt.dcs.setCallTimeout(rt.settings.retryTimeout * 1000);
    // the loop's own requests every loop_wait prove the watches' host alive: no extra probe while they do
    rt.dcs.setWatchKeepaliveTime(rt.settings.loopWait * 1000 + WATCH_KEEPALIVE_MARGIN_MS);
  }

  let peers: PeerView[] | null = null;
  const peerTimeout = Math.min(2000, rt.settings.retryTimeout * 500);
  // Peers: for the race when there is no leader, and for switchover/failover requests (PeerView).
  const wantPeers = dcsResult.ok && dcsResult.snap.initialize && (dcsResult.snap.leader === null || dcsResult.snap.failover !== null);
  if (wantPeers) {
    const others = [
      ...dcsResult.snap.members.filter((m) => m.name !== name).map((m) => [m.name, m.value.api_url] as const),
      ...failsafeOnlyMembers(rt, dcsResult.snap),
    ];
    peers = await Promise.all(others.map(([n, apiUrl]) => fetchPeer(rt.peers, n, apiUrl, peerTimeout)));
  }

  // failsafe_mode (failsafe.ts): a primary that cannot reach the DCS asks the members in /failsafe.
  const failsafeMode = rt.settings.failsafeMode;
  if (dcsResult.ok || !(pg.running && pg.role === 'primary')) rt.failsafe?.endHold();
  if (pg.running && pg.role === 'primary') rt.failsafe?.forgetAccepted();
  const failsafe =
    !dcsResult.ok && failsafeMode && pg.running && pg.role === 'primary'
      ? await checkFailsafe(rt.peers, rt.config, rt.lastCluster?.failsafe ?? null, peerTimeout, now)
      : null;
  const failsafeLeader = failsafeMode ? (rt.failsafe?.leaderWithin(rt.settings.ttl * 1000, now()) ?? null) : null;

  // Memory updates that follow from what we just saw (the loop is the only writer).
  const mem = rt.memory;
  const leader = dcsResult.ok ? (dcsResult.snap.leader?.name ?? null) : null;
  if (pg.running && pg.role === 'primary') mem.formerPrimary = true;
  if (pg.running && pg.role === 'replica' && pg.streaming) mem.formerPrimary = false;
  if (leader === name && !pg.running && !mem.inFlight) mem.pgDownSince ??= now();
  else if (pg.running || leader !== name) mem.pgDownSince = null;
  // When this agent first saw the current `failover` request (the leader's streaming wait counts from it).
  if (dcsResult.ok) {
    const rev = dcsResult.snap.failover?.modRevision ?? null;
    if (rev === null) mem.requestSeen = null;
    else if (mem.requestSeen?.revision !== rev) mem.requestSeen = { revision: rev, at: now() };
  }

  let obs: Observation = {
    now: now(),
    me: {
      name,
      tags: rt.config.tags ?? {},
      watchdogProblem: watchdogProblem(rt.config, rt.watchdog, now(), rt.settings.ttl * 1000),
      apiUrl: rt.config.restapi.api_url,
      cloneWithoutLeader: rt.config.postgresql.create_replica_methods.some((m) => m.kind === 'command' && m.noLeader),
    },
    settings: rt.settings,
    dcs: dcsResult.ok ? { ok: true, cluster: clusterView(dcsResult.snap) } : { ok: false, error: dcsResult.error },
    pg,
    peers,
    memory: structuredClone(mem),
    failsafe,
    failsafeLeader,
  };
  if (dcsResult.ok) {
    const t = await takeoverProbe(rt, dcsResult.snap, obs);
    if (t !== null) obs = { ...obs, takeover: t.probe, peers: t.peers };
  }
  return deepFreeze(obs);
}

/**
 * failsafe_mode: members listed in /failsafe without a member key (it expired while the DCS was away)
 * are rivals in the race too (Patroni's _is_healthiest_node).
 */
function failsafeOnlyMembers(rt: Runtime, snap: ClusterSnapshot): Array<readonly [string, string]> {
  if (!rt.settings.failsafeMode || snap.failsafe === null) return [];
  const known = new Set(snap.members.map((m) => m.name));
  return Object.entries(snap.failsafe).filter(([n]) => n !== rt.config.name && !known.has(n));
}

/**
 * Synchronous mode's early takeover (ha-core takeover.ts): only when this member watches the leader's
 * heartbeat and its last look (heartbeat.ts) saw it stopped, read the lease again and ask, in
 * parallel and within ~1 s, whether the leader's PostgreSQL accepts TCP connections and what every
 * other member's REST API says. Null otherwise (the usual case: nothing extra is done).
 */
async function takeoverProbe(rt: Runtime, snap: ClusterSnapshot, obs: Observation): Promise<{ probe: TakeoverProbe; peers: PeerView[] } | null> {
  const leader = snap.leader;
  const sample = rt.leaderLeaseSample;
  if (!obs.dcs.ok || leader === null || sample == null || sample.lease !== leader.lease || !heartbeatStopped(sample.view)) return null;
  if (!watchesHeartbeat(factsOf(obs, obs.dcs.cluster))) return null;
  const timeout = Math.min(1000, rt.settings.retryTimeout * 500);
  const member = snap.members.find((m) => m.name === leader.name);
  const others = snap.members.filter((m) => m.name !== rt.config.name);
  const [leaseTtl, pgDown, peers] = await Promise.all([
    rt.dcs.leaseTimeToLive(leader.lease).catch((): LeaseView => ({ state: 'unknown' })),
    member === undefined ? Promise.resolve(true) : pgUnreachable(member.value.conn_url, timeout),
    obs.peers ?? Promise.all(others.map((m) => fetchPeer(rt.peers, m.name, m.value.api_url, timeout))),
  ]);
  return { probe: { leader: leader.name, lease: leader.lease, leaseTtl, pgUnreachable: pgDown }, peers: [...peers] };
}

/**
 * The PostgreSQL at a conn_url does not answer: no TCP connection within `ms`, or no answer to an
 * SSLRequest (8 bytes; the postmaster answers one byte, 'S' or 'N', before any authentication), so a
 * half-open path (a partition that still accepts the connection) counts as unreachable too.
 */
function pgUnreachable(connUrl: string, ms: number): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const u = new URL(connUrl);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = Number(u.port || 5432);
  } catch {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (unreachable: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(unreachable);
    };
    const timer = setTimeout(() => done(true), ms);
    socket.once('connect', () => {
      const req = Buffer.alloc(8);
      req.writeInt32BE(8, 0);
      req.writeInt32BE(80877103, 4); // SSLRequest
      socket.write(req);
    });
    socket.once('data', () => done(false));
    socket.once('error', () => done(true));
    socket.once('close', () => done(true));
  });
}
async function readDcs(rt: Runtime): Promise<{ ok: true; snap: ClusterSnapshot } | { ok: false; error: string }> {
  try {
    return { ok: true, snap: await rt.dcs.readCluster() };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

async function probePg(rt: Runtime): Promise<PgView> {
  let dataDir: PgView['dataDir'];
  try {
    dataDir = await rt.pg.dataDirState();
  } catch {
    dataDir = 'initialized'; // non-empty without PG_VERSION: never treat as empty (never overwrite data)
  }
  if (dataDir === 'empty') {
    return { dataDir, sysid: null, running: false, role: null, controlState: null, timeline: null, lsn: null, streaming: false, slots: [], checkpointLsn: null, replication: [], syncStandbyNames: null };
  }
  const probe = await rt.pg.probe();
  rt.lastProbe = probe;
  if (probe.running) {
    return {
      dataDir,
      sysid: probe.sysid ?? null,
      running: true,
      role: probe.role,
      controlState: null,
      timeline: probe.timeline ?? null,
      lsn: probe.lsn ?? null,
      streaming: probe.streaming ?? false,
      // pg_basebackup's temporary slots are not ours to manage.
      slots: (probe.slots ?? []).filter((s) => !s.startsWith('pg_basebackup_')),
      checkpointLsn: null,
      replication: (probe.replication ?? [])
        .filter((r) => r.application_name !== null)
        .map((r) => ({
          name: r.application_name ?? '',
          state: r.state,
          syncState: r.sync_state,
          flushLsn: r.flush_lsn,
          writeLsn: r.write_lsn,
          replayLsn: r.replay_lsn,
        })),
      syncStandbyNames: probe.synchronousStandbyNames ?? null,
      synchronousCommit: probe.synchronousCommit ?? null,
    };
  }
  const cd = await rt.pg.controlData().catch(() => null);
  return {
    dataDir,
    sysid: cd?.sysid ?? null,
    running: false,
    role: null,
    controlState: (cd?.state as PgView['controlState']) ?? null,
    timeline: cd?.timeline ?? null,
    lsn: cd?.checkpointLsn ?? null,
    streaming: false,
    slots: [],
    checkpointLsn: cd?.checkpointLsn ?? null,
    replication: [],
    syncStandbyNames: null,
  };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
