/**
 * Put a just-stored agent event into its cluster's incident (or open one), by the pure rule in
 * lib/incident-grouping.ts. One transaction per event; the cluster's row is locked first, so two
 * agents' events of one cluster are grouped one after the other (the control plane is one process,
 * but the lock also holds should there ever be two). Plain pg on the shared pool (the ingest's path).
 *
 * Cost: a join by a decision_changed event is two small updates; any other event also re-describes
 * the incident from its events (at most MAX_DESCRIBE of them, by the (incident_id, at) index).
 */
import type pg from 'pg';
import { describeIncident, groupDecision, type TGroupEvent } from '../lib/incident-grouping.ts';

const MAX_DESCRIBE = 2000;

export interface TGrouped {
  incidentId: string;
  opened: boolean;
  status: string;
}

interface OpenRow {
  id: string;
  started_at: Date;
  last_received_at: Date;
  status: string;
}

interface EventRow {
  member: string;
  type: string;
  at: Date;
  received_at: Date;
  summary: string;
  details: unknown;
  cause: unknown;
}

export async function groupEvent(pool: pg.Pool, clusterId: string, eventId: bigint, e: TGroupEvent, quietMs: number): Promise<TGrouped | null> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE', [clusterId]);
    const open = (
      await c.query<OpenRow>(
        `SELECT id, started_at, last_received_at, status FROM incidents WHERE cluster_id = $1 AND status <> 'resolved' ORDER BY id DESC LIMIT 1`,
        [clusterId],
      )
    ).rows[0];
    const window = open ? { startedReceivedAt: open.started_at.getTime(), lastReceivedAt: open.last_received_at.getTime() } : null;
    const decision = groupDecision(window, e, quietMs);
    if (decision === 'none') {
      await c.query('COMMIT');
      return null;
    }
    let id: string;
    if (decision === 'open') {
      const f = describeIncident([e]);
      id = (
        await c.query<{ id: string }>(
          `INSERT INTO incidents (cluster_id, started_at, last_event_at, last_received_at, severity, status, title, summary, members, event_count)
           VALUES ($1, $2, $2, $3, $4, 'open', $5, $6, $7, 1) RETURNING id`,
          [clusterId, new Date(e.at), new Date(e.receivedAt), f.severity, f.title, f.summary, f.members],
        )
      ).rows[0]!.id;
      await c.query('UPDATE events SET incident_id = $1 WHERE id = $2', [id, String(eventId)]);
      await c.query('COMMIT');
      return { incidentId: id, opened: true, status: 'open' };
    }
    id = open!.id;
    await c.query('UPDATE events SET incident_id = $1 WHERE id = $2', [id, String(eventId)]);
    await c.query(
      `UPDATE incidents SET last_event_at = greatest(last_event_at, $2), last_received_at = greatest(last_received_at, $3), event_count = event_count + 1,
         started_at = least(started_at, $2), members = CASE WHEN $4 = ANY(members) THEN members ELSE members || $4::text END
       WHERE id = $1`,
      [id, new Date(e.at), new Date(e.receivedAt), e.member],
    );
    if (e.type !== 'decision_changed') {
      const rows = (
        await c.query<EventRow>(
          `SELECT m.name AS member, e.type, e.at, e.received_at, e.summary, e.details, e.cause
             FROM events e JOIN members m ON m.id = e.member_id
            WHERE e.incident_id = $1 AND e.type <> 'decision_changed' ORDER BY e.at LIMIT ${MAX_DESCRIBE}`,
          [id],
        )
      ).rows;
      const f = describeIncident(rows.map((r) => ({ member: r.member, type: r.type, at: r.at.getTime(), receivedAt: r.received_at.getTime(), summary: r.summary, details: r.details, cause: r.cause })));
      await c.query('UPDATE incidents SET severity = $2, title = $3, summary = $4 WHERE id = $1', [id, f.severity, f.title, f.summary]);
    }
    await c.query('COMMIT');
    return { incidentId: id, opened: false, status: open!.status };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
