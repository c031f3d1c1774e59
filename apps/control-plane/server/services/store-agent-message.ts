/**
 * Store one sequenced agent message, at most once: each is a single SQL statement that advances the
 * member's last_seq only when the message's seq is above it, and inserts the rows only when it did
 * (so a duplicate, a replay or a race with another connection stores nothing). (member_id, seq) is
 * also unique in state_samples and events, as a second line of defence.
 *
 * A snapshot updates the member row, adds a raw sample and folds the sample into its one-minute
 * bucket (the downsampled history) in the same statement; snapshots of many members are stored in
 * one statement (agents/snapshot-batcher.ts).
 *
 * Plain pg on the shared pool, not Prisma: this is the ingest's hot path (see db.ts).
 */
import type pg from 'pg';
import type { TAgentEvent, TSnapshot } from '@keel/protocol';

const big = (n: number | null): number | null => (n === null ? null : Math.round(n));

// $1: a JSON array, one object per snapshot (several of one member allowed: a replay). One JSON
// document rather than eleven array parameters: pg's client-side escaping of large arrays cost
// ~1 s of CPU per 2,400 snapshots, JSON.stringify and PostgreSQL's json parser a few ms. The member row takes its newest snapshot; every
// snapshot above the member's last_seq becomes a sample; the samples are folded into their minute
// buckets (one upsert per member and minute). Returns the members whose row was advanced.
const STORE_SNAPSHOTS = `
WITH i AS (
  SELECT * FROM json_to_recordset($1::json)
    AS i(member_id uuid, seq bigint, snapshot jsonb, at timestamptz, role text, timeline int, lsn bigint, rlb bigint, plb bigint, rls float8, pls float8)
), latest AS (
  SELECT DISTINCT ON (i.member_id) i.member_id, i.seq, i.snapshot, mm.last_seq AS prev
    FROM i JOIN members mm ON mm.id = i.member_id
   ORDER BY i.member_id, i.seq DESC
), m AS (
  UPDATE members SET last_seq = l.seq, snapshot = l.snapshot, last_seen_at = now()
    FROM latest l WHERE members.id = l.member_id AND members.last_seq < l.seq
  RETURNING members.id, l.prev
), s AS (
  INSERT INTO state_samples (member_id, seq, at, role, timeline, lsn, receive_lag_bytes, replay_lag_bytes, receive_lag_seconds, replay_lag_seconds)
  SELECT i.member_id, i.seq, i.at, i.role, i.timeline, i.lsn, i.rlb, i.plb, i.rls, i.pls FROM i JOIN m ON m.id = i.member_id AND i.seq > m.prev
  ON CONFLICT (member_id, seq) DO NOTHING
  RETURNING member_id, seq, at, role, timeline, lsn, receive_lag_bytes AS rlb, replay_lag_bytes AS plb, receive_lag_seconds AS rls, replay_lag_seconds AS pls
), agg AS (
  SELECT member_id, date_bin('1 minute', at, 'epoch'::timestamptz) AS bucket, count(*)::int AS samples,
    (array_agg(role ORDER BY seq DESC))[1] AS role, (array_agg(timeline ORDER BY seq DESC))[1] AS timeline, max(lsn) AS lsn,
    coalesce(sum(rlb::float8), 0) AS rlb_sum, count(rlb)::int AS rlb_n, max(rlb) AS rlb_max,
    coalesce(sum(plb::float8), 0) AS plb_sum, count(plb)::int AS plb_n, max(plb) AS plb_max,
    coalesce(sum(rls), 0) AS rls_sum, count(rls)::int AS rls_n, max(rls) AS rls_max,
    coalesce(sum(pls), 0) AS pls_sum, count(pls)::int AS pls_n, max(pls) AS pls_max
  FROM s GROUP BY 1, 2
), b AS (
INSERT INTO state_sample_minutes AS t (
  member_id, bucket, samples, role, timeline, lsn,
  receive_lag_bytes_sum, receive_lag_bytes_n, receive_lag_bytes_max,
  replay_lag_bytes_sum, replay_lag_bytes_n, replay_lag_bytes_max,
  receive_lag_seconds_sum, receive_lag_seconds_n, receive_lag_seconds_max,
  replay_lag_seconds_sum, replay_lag_seconds_n, replay_lag_seconds_max)
SELECT member_id, bucket, samples, role, timeline, lsn, rlb_sum, rlb_n, rlb_max, plb_sum, plb_n, plb_max, rls_sum, rls_n, rls_max, pls_sum, pls_n, pls_max
  FROM agg
ON CONFLICT (member_id, bucket) DO UPDATE SET
  samples = t.samples + EXCLUDED.samples,
  role = EXCLUDED.role,
  timeline = EXCLUDED.timeline,
  lsn = greatest(t.lsn, EXCLUDED.lsn),
  receive_lag_bytes_sum = t.receive_lag_bytes_sum + EXCLUDED.receive_lag_bytes_sum,
  receive_lag_bytes_n = t.receive_lag_bytes_n + EXCLUDED.receive_lag_bytes_n,
  receive_lag_bytes_max = greatest(t.receive_lag_bytes_max, EXCLUDED.receive_lag_bytes_max),
  replay_lag_bytes_sum = t.replay_lag_bytes_sum + EXCLUDED.replay_lag_bytes_sum,
  replay_lag_bytes_n = t.replay_lag_bytes_n + EXCLUDED.replay_lag_bytes_n,
  replay_lag_bytes_max = greatest(t.replay_lag_bytes_max, EXCLUDED.replay_lag_bytes_max),
  receive_lag_seconds_sum = t.receive_lag_seconds_sum + EXCLUDED.receive_lag_seconds_sum,
  receive_lag_seconds_n = t.receive_lag_seconds_n + EXCLUDED.receive_lag_seconds_n,
  receive_lag_seconds_max = greatest(t.receive_lag_seconds_max, EXCLUDED.receive_lag_seconds_max),
  replay_lag_seconds_sum = t.replay_lag_seconds_sum + EXCLUDED.replay_lag_seconds_sum,
  replay_lag_seconds_n = t.replay_lag_seconds_n + EXCLUDED.replay_lag_seconds_n,
  replay_lag_seconds_max = greatest(t.replay_lag_seconds_max, EXCLUDED.replay_lag_seconds_max)
)
SELECT id::text AS id FROM m`;

// $1: a JSON array, one object per event (several per member, of many members). The member row's
// last_seq advances to the highest seq; only events above the previous last_seq are inserted (a
// duplicate, a replay or a race with another connection stores nothing), ids in (member, seq) order.
// The operation: the one the agent named, else the cluster's operation running when the event arrived.
const STORE_EVENTS = `
WITH i AS (
  SELECT * FROM json_to_recordset($1::json)
    AS i(member_id uuid, seq bigint, type text, at timestamptz, summary text, details jsonb, cause jsonb, op uuid)
), latest AS (
  SELECT i.member_id, max(i.seq) AS seq, min(mm.last_seq) AS prev
    FROM i JOIN members mm ON mm.id = i.member_id
   GROUP BY i.member_id
), m AS (
  UPDATE members SET last_seq = l.seq
    FROM latest l WHERE members.id = l.member_id AND members.last_seq < l.seq
  RETURNING members.id, members.cluster_id, l.prev
)
INSERT INTO events (cluster_id, member_id, seq, type, at, summary, details, cause, operation_id)
SELECT m.cluster_id, i.member_id, i.seq, i.type, i.at, i.summary, i.details, i.cause,
  coalesce(i.op, (SELECT o.id FROM operations o WHERE o.cluster_id = m.cluster_id AND o.status = 'running' ORDER BY o.started_at DESC NULLS LAST LIMIT 1))
FROM i JOIN m ON m.id = i.member_id AND i.seq > m.prev
ORDER BY i.member_id, i.seq
ON CONFLICT (member_id, seq) DO NOTHING
RETURNING id, member_id, seq, cluster_id, received_at, operation_id`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The control-plane operation id in an agent's cause: an operation id, or `<id>:<step>` for a step of one. */
export function causeOperationId(e: Pick<TAgentEvent, 'cause'>): string | null {
  const id = e.cause?.operationId?.split(':')[0];
  return id && UUID.test(id) ? id.toLowerCase() : null;
}

/**
 * Store snapshots (of many members, several per member allowed) in one statement; returns the ids
 * of the members whose row advanced (the others' snapshots were duplicates: seq <= last_seq).
 */
export async function storeSnapshots(sql: pg.Pool, entries: ReadonlyArray<{ memberId: string; snapshot: TSnapshot }>): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const sorted = [...entries].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : a.snapshot.seq - b.snapshot.seq));
  const rows = sorted.map(({ memberId, snapshot: s }) => ({
    member_id: memberId,
    seq: s.seq,
    snapshot: s,
    at: s.at,
    role: s.role,
    timeline: s.timeline,
    lsn: big(s.lsn),
    rlb: big(s.lag.receiveBytes),
    plb: big(s.lag.replayBytes),
    rls: s.lag.receiveSeconds,
    pls: s.lag.replaySeconds,
  }));
  const r = await sql.query<{ id: string }>({ name: 'keel_store_snapshots', text: STORE_SNAPSHOTS, values: [JSON.stringify(rows)] });
  return new Set(r.rows.map((row) => row.id));
}

export interface TStoredEvent {
  id: bigint;
  clusterId: string;
  receivedAt: Date;
  operationId: string | null;
}

/**
 * Store events (of many members, several per member allowed) in one statement. Returns, for each
 * entry in the given order, the stored row, or null when it was a duplicate (seq <= last_seq).
 */
export async function storeEvents(sql: pg.Pool, entries: ReadonlyArray<{ memberId: string; event: TAgentEvent }>): Promise<Array<TStoredEvent | null>> {
  if (entries.length === 0) return [];
  const rows = entries.map(({ memberId, event: e }) => ({
    member_id: memberId,
    seq: e.seq,
    type: e.event,
    at: e.at,
    summary: e.summary,
    details: e.details,
    cause: e.cause ?? null,
    op: causeOperationId(e),
  }));
  const r = await sql.query<{ id: string; member_id: string; seq: string; cluster_id: string; received_at: Date; operation_id: string | null }>({
    name: 'keel_store_events',
    text: STORE_EVENTS,
    values: [JSON.stringify(rows)],
  });
  const byKey = new Map(r.rows.map((row) => [`${row.member_id}:${row.seq}`, row]));
  return entries.map(({ memberId, event: e }) => {
    const row = byKey.get(`${memberId}:${e.seq}`);
    return row ? { id: BigInt(row.id), clusterId: row.cluster_id, receivedAt: new Date(row.received_at), operationId: row.operation_id } : null;
  });
}
