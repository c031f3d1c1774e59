/**
 * What the API says about one member: the fields of its last snapshot plus freshness. Pure: the
 * caller passes the stored row, the time and the staleness threshold.
 */
import { ZSnapshot, type TSnapshot } from '@keel/protocol';

export interface TMemberRow {
  name: string;
  snapshot: unknown;
  lastSeenAt: Date | null;
  lastSeq: bigint;
  agentVersion: string | null;
}

export interface TMemberView {
  name: string;
  /** Null until the first snapshot arrived. */
  role: TSnapshot['role'] | null;
  state: TSnapshot['state'] | null;
  pgRunning: boolean | null;
  timeline: number | null;
  lsn: number | null;
  receiveLsn: number | null;
  replayLsn: number | null;
  lag: TSnapshot['lag'] | null;
  pendingRestart: boolean;
  pendingRestartReasons: TSnapshot['pendingRestartReasons'];
  tags: TSnapshot['tags'];
  dcsOk: boolean | null;
  /** Epoch seconds. */
  dcsLastSeen: number | null;
  failoverReadiness: TSnapshot['failoverReadiness'] | null;
  /** The settings, DCS facts and fence state this member reported (absent from older agents). */
  ha: NonNullable<TSnapshot['ha']> | null;
  /** The leader this member last read from the DCS. */
  leaderSeen: string | null;
  /** The cluster as this member last read it from the DCS (upstreams, sync standbys, ...). */
  dcsMembers: TSnapshot['members'];
  paused: boolean;
  /** WAL archiving as the member's PostgreSQL reports it (pg_stat_archiver); null: unknown or not running. */
  archive: NonNullable<TSnapshot['archive']> | null;
  /** The last backup as the backup tool lists it (reported by the running primary's agent); null: not reported. */
  backup: NonNullable<TSnapshot['backup']> | null;
  /** postgresql.connect_address ("host:port"); null: not reported. */
  connectAddress: string | null;
  /** A standby leader: the other site's "host:port" it replicates from; null otherwise. */
  follows: string | null;
  lastDecision: TSnapshot['lastDecision'];
  /** The agent's time of the last snapshot (ISO). */
  snapshotAt: string | null;
  /** Server time the last snapshot was stored (ISO). */
  lastSeenAt: string | null;
  /** No snapshot for longer than the threshold: shown as stale "since lastSeenAt". */
  stale: boolean;
  /** Is the agent's WebSocket open right now? */
  connected: boolean;
  agentVersion: string | null;
  lastSeq: number;
}

export function isStale(lastSeenAt: Date | null, now: Date, staleAfterSeconds: number): boolean {
  return lastSeenAt === null || now.getTime() - lastSeenAt.getTime() > staleAfterSeconds * 1000;
}

export function memberView(row: TMemberRow, opts: { now: Date; staleAfterSeconds: number; connected: boolean }): TMemberView {
  const parsed = ZSnapshot.safeParse(row.snapshot);
  return memberViewOf(row, parsed.success ? parsed.data : null, opts);
}

/** memberView of a snapshot already parsed (the ingest's: it was just validated on the way in). */
export function memberViewOf(row: Omit<TMemberRow, 'snapshot'>, s: TSnapshot | null, opts: { now: Date; staleAfterSeconds: number; connected: boolean }): TMemberView {
  return {
    name: row.name,
    role: s?.role ?? null,
    state: s?.state ?? null,
    pgRunning: s?.pgRunning ?? null,
    timeline: s?.timeline ?? null,
    lsn: s?.lsn ?? null,
    receiveLsn: s?.receiveLsn ?? null,
    replayLsn: s?.replayLsn ?? null,
    lag: s?.lag ?? null,
    pendingRestart: s?.pendingRestart ?? false,
    pendingRestartReasons: s?.pendingRestartReasons ?? {},
    tags: s?.tags ?? {},
    dcsOk: s?.dcsOk ?? null,
    dcsLastSeen: s?.dcsLastSeen ?? null,
    failoverReadiness: s?.failoverReadiness ?? null,
    ha: s?.ha ?? null,
    leaderSeen: s?.leader ?? null,
    dcsMembers: s?.members ?? [],
    paused: s?.paused ?? false,
    archive: s?.archive ?? null,
    backup: s?.backup ?? null,
    connectAddress: s?.connectAddress ?? null,
    follows: s?.follows ?? null,
    lastDecision: s?.lastDecision ?? null,
    snapshotAt: s?.at ?? null,
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    stale: isStale(row.lastSeenAt, opts.now, opts.staleAfterSeconds),
    connected: opts.connected,
    agentVersion: row.agentVersion,
    lastSeq: Number(row.lastSeq),
  };
}
