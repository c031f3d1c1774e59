/**
 * Store one sequenced agent message, at most once: each is a single SQL statement that advances the
 * member's last_seq only when the message's seq is above it, and inserts the rows only when it did
 * (so a duplicate, a replay or a race with another connection stores nothing). (member_id, seq) is
 * also unique in state_samples and events, as a second line of defence.
 *
 * A snapshot updates the member row, adds a raw sample and folds the sample into its one-minute
 * bucket (the downsampled history) in the same statement.
 *
 * Plain pg on the shared pool, not Prisma: this is the ingest's hot path (see db.ts).
 */
import type pg from 'pg';
import type { TAgentEvent, TSnapshot } from '@keel/protocol';

const big = (n: number | null): string | null => (n === null ? null : String(Math.round(n)));

// $1 member id, $2 seq, $3 snapshot json, $4 at, $5 role, $6 timeline, $7 lsn,
// $8 receive lag bytes, $9 replay lag bytes, $10 receive lag seconds, $11 replay lag seconds
const STORE_SNAPSHOT = `
WITH m AS (
  UPDATE members SET last_seq = $2::bigint, snapshot = $3::jsonb, last_seen_at = now()
   WHERE id = $1::uuid AND last_seq < $2::bigint
  RETURNING id
), s AS (
  INSERT INTO state_samples (member_id, seq, at, role, timeline, lsn, receive_lag_bytes, replay_lag_bytes, receive_lag_seconds, replay_lag_seconds)
  SELECT id, $2::bigint, $4::timestamptz, $5::text, $6::int, $7::bigint, $8::bigint, $9::bigint, $10::float8, $11::float8 FROM m
  ON CONFLICT (member_id, seq) DO NOTHING
  RETURNING member_id
)
INSERT INTO state_sample_minutes AS t (
  member_id, bucket, samples, role, timeline, lsn,
  receive_lag_bytes_sum, receive_lag_bytes_n, receive_lag_bytes_max,
  replay_lag_bytes_sum, replay_lag_bytes_n, replay_lag_bytes_max,
  receive_lag_seconds_sum, receive_lag_seconds_n, receive_lag_seconds_max,
  replay_lag_seconds_sum, replay_lag_seconds_n, replay_lag_seconds_max)
SELECT member_id, date_bin('1 minute', $4::timestamptz, 'epoch'::timestamptz), 1, $5::text, $6::int, $7::bigint,
  coalesce($8::bigint::float8, 0), ($8::bigint IS NOT NULL)::int, $8::bigint,
  coalesce($9::bigint::float8, 0), ($9::bigint IS NOT NULL)::int, $9::bigint,
  coalesce($10::float8, 0), ($10::float8 IS NOT NULL)::int, $10::float8,
  coalesce($11::float8, 0), ($11::float8 IS NOT NULL)::int, $11::float8
FROM s
ON CONFLICT (member_id, bucket) DO UPDATE SET
  samples = t.samples + 1,
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
  replay_lag_seconds_max = greatest(t.replay_lag_seconds_max, EXCLUDED.replay_lag_seconds_max)`;

// $1 member id, $2 seq, $3 type, $4 at, $5 summary, $6 details json, $7 cause json, $8 the cause's operation id (uuid or null)
// The operation: the one the agent named, else the cluster's operation running when the event arrived.
const STORE_EVENT = `
WITH m AS (
  UPDATE members SET last_seq = $2::bigint
   WHERE id = $1::uuid AND last_seq < $2::bigint
  RETURNING id, cluster_id
)
INSERT INTO events (cluster_id, member_id, seq, type, at, summary, details, cause, operation_id)
SELECT cluster_id, id, $2::bigint, $3::text, $4::timestamptz, $5::text, $6::jsonb, $7::jsonb,
  coalesce($8::uuid, (SELECT o.id FROM operations o WHERE o.cluster_id = m.cluster_id AND o.status = 'running' ORDER BY o.started_at DESC NULLS LAST LIMIT 1))
FROM m
ON CONFLICT (member_id, seq) DO NOTHING
RETURNING id, cluster_id, received_at, operation_id`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The control-plane operation id in an agent's cause: an operation id, or `<id>:<step>` for a step of one. */
export function causeOperationId(e: Pick<TAgentEvent, 'cause'>): string | null {
  const id = e.cause?.operationId?.split(':')[0];
  return id && UUID.test(id) ? id.toLowerCase() : null;
}

/** true when stored, false when it was a duplicate (seq <= the member's last_seq). */
export async function storeSnapshot(sql: pg.Pool, memberId: string, s: TSnapshot): Promise<boolean> {
  const r = await sql.query({
    name: 'keel_store_snapshot',
    text: STORE_SNAPSHOT,
    values: [
      memberId,
      String(s.seq),
      JSON.stringify(s),
      s.at,
      s.role,
      s.timeline,
      big(s.lsn),
      big(s.lag.receiveBytes),
      big(s.lag.replayBytes),
      s.lag.receiveSeconds,
      s.lag.replaySeconds,
    ],
  });
  return (r.rowCount ?? 0) > 0;
}

/** The new event's id when stored, null when it was a duplicate. */
export async function storeEvent(sql: pg.Pool, memberId: string, e: TAgentEvent): Promise<{ id: bigint; clusterId: string; receivedAt: Date; operationId: string | null } | null> {
  const r = await sql.query<{ id: string; cluster_id: string; received_at: Date; operation_id: string | null }>({
    name: 'keel_store_event',
    text: STORE_EVENT,
    values: [memberId, String(e.seq), e.event, e.at, e.summary, JSON.stringify(e.details), e.cause ? JSON.stringify(e.cause) : null, causeOperationId(e)],
  });
  const row = r.rows[0];
  return row ? { id: BigInt(row.id), clusterId: row.cluster_id, receivedAt: new Date(row.received_at), operationId: row.operation_id } : null;
}
