/**
 * Put just-stored agent events into their clusters' incidents (or open them), by the pure rule in
 * lib/incident-grouping.ts, a batch at a time: one transaction per batch of events (of any number of
 * clusters), whose first statement locks the batch's cluster rows in id order. So events of one
 * cluster are still grouped one batch after the other, also when two control-plane instances group
 * concurrently (the second waits for the first's commit and then reads the incident it opened), and
 * two batches sharing clusters cannot deadlock. Within the batch each cluster's events are decided in
 * receive order, exactly as one at a time (groupDecision on the window as it stands after the
 * previous event). Plain pg on the shared pool (the ingest's path).
 *
 * Cost per batch, whatever its size: lock, read the open incidents, insert each opened incident,
 * update the joined ones (one statement), assign the events (one statement), and re-describe the
 * incidents that gained a non-routine event (one read of their first MAX_DESCRIBE non-routine events
 * by the (incident_id, at) index, one update). It used to be that transaction per event.
 */
import type pg from 'pg';
import { describeIncident, groupDecision, type TGroupEvent, type TOpenWindow } from '../lib/incident-grouping.ts';

/** The summary tells the first events of each kind: the first few hundred of an incident are enough. */
const MAX_DESCRIBE = 300;
/** Events that never change an incident's description (describeIncident ignores them). */
const ROUTINE = ['decision_changed', 'lock_acquired', 'role_change', 'lag_back', 'pending_restart', 'rewind_started', 'postgres_up'];

export interface TGrouped {
  incidentId: string;
  opened: boolean;
  status: string;
}

export interface TGroupInput {
  clusterId: string;
  eventId: bigint;
  event: TGroupEvent;
}

interface OpenRow {
  cluster_id: string;
  id: string;
  started_at: Date;
  last_received_at: Date;
  status: string;
}

interface EventRow {
  incident_id: string;
  member: string;
  type: string;
  at: Date;
  received_at: Date;
  summary: string;
  details: unknown;
  cause: unknown;
}

/** One incident as the batch changes it. */
interface Touched {
  /** null until inserted (opened in this batch). */
  id: string | null;
  opened: boolean;
  status: string;
  window: TOpenWindow;
  events: TGroupInput[];
  /** Members in order of first appearance, not yet in the stored row. */
  newMembers: string[];
  knownMembers: Set<string>;
  describe: boolean;
}

/** Returns, per input in the given order, its incident, or null when it stays ungrouped. */
export async function groupEvents(pool: pg.Pool, inputs: readonly TGroupInput[], quietMs: number): Promise<Array<TGrouped | null>> {
  if (inputs.length === 0) return [];
  const clusterIds = [...new Set(inputs.map((i) => i.clusterId))].sort();
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT 1 FROM clusters WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [clusterIds]);
    const openRows = (
      await c.query<OpenRow>(
        `SELECT c.id AS cluster_id, o.id, o.started_at, o.last_received_at, o.status
           FROM unnest($1::uuid[]) AS c(id)
           CROSS JOIN LATERAL (SELECT id, started_at, last_received_at, status FROM incidents
                                WHERE cluster_id = c.id AND status <> 'resolved' ORDER BY id DESC LIMIT 1) o`,
        [clusterIds],
      )
    ).rows;
    const openByCluster = new Map(openRows.map((r) => [r.cluster_id, r]));

    // decide, cluster by cluster, in receive order (then the event's id: store order)
    const touched: Touched[] = [];
    const result = new Map<TGroupInput, Touched>();
    const byCluster = new Map<string, TGroupInput[]>();
    for (const i of inputs) byCluster.set(i.clusterId, [...(byCluster.get(i.clusterId) ?? []), i]);
    for (const [clusterId, events] of byCluster) {
      events.sort((a, b) => a.event.receivedAt - b.event.receivedAt || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
      const row = openByCluster.get(clusterId);
      let cur: Touched | null = row
        ? { id: row.id, opened: false, status: row.status, window: { startedReceivedAt: row.started_at.getTime(), lastReceivedAt: row.last_received_at.getTime() }, events: [], newMembers: [], knownMembers: new Set(), describe: false }
        : null;
      let curListed = false;
      for (const i of events) {
        const decision = groupDecision(cur?.window ?? null, i.event, quietMs);
        if (decision === 'none') continue;
        if (decision === 'open') {
          // as when stored alone: started_at is the opening event's agent time
          cur = { id: null, opened: true, status: 'open', window: { startedReceivedAt: i.event.at, lastReceivedAt: i.event.receivedAt }, events: [], newMembers: [], knownMembers: new Set(describeIncident([i.event]).members), describe: false };
          curListed = false;
        } else if (cur) {
          cur.window = { startedReceivedAt: Math.min(cur.window.startedReceivedAt, i.event.at), lastReceivedAt: Math.max(cur.window.lastReceivedAt, i.event.receivedAt) };
          if (!cur.knownMembers.has(i.event.member)) {
            cur.knownMembers.add(i.event.member);
            cur.newMembers.push(i.event.member);
          }
          if (!ROUTINE.includes(i.event.type)) cur.describe = true;
        }
        if (!cur) continue;
        cur.events.push(i);
        result.set(i, cur);
        if (!curListed) {
          touched.push(cur);
          curListed = true;
        }
      }
    }

    // opened incidents: inserted as the opening event alone describes them (re-described below when more joined)
    for (const t of touched.filter((x) => x.id === null)) {
      const first = t.events[0]!.event;
      const f = describeIncident([first]);
      t.id = (
        await c.query<{ id: string }>(
          `INSERT INTO incidents (cluster_id, started_at, last_event_at, last_received_at, severity, status, title, summary, members, event_count)
           VALUES ($1, $2, $2, $3, $4, 'open', $5, $6, $7, 1) RETURNING id`,
          [t.events[0]!.clusterId, new Date(first.at), new Date(first.receivedAt), f.severity, f.title, f.summary, f.members],
        )
      ).rows[0]!.id;
    }
    // every incident's joined events (for an opened one, all but the first)
    const joins = touched
      .map((t) => ({ t, joined: t.opened ? t.events.slice(1) : t.events }))
      .filter(({ joined }) => joined.length > 0);
    if (joins.length > 0) {
      await c.query(
        `UPDATE incidents SET last_event_at = greatest(last_event_at, v.last_at), last_received_at = greatest(last_received_at, v.last_received),
           event_count = event_count + v.n, started_at = least(started_at, v.first_at),
           members = members || ARRAY(SELECT x FROM unnest(string_to_array(v.new_members, E'\\x1f')) WITH ORDINALITY AS u(x, k) WHERE x <> '' AND NOT (x = ANY(incidents.members)) ORDER BY k)
         FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::int[], $5::timestamptz[], $6::text[]) AS v(id, last_at, last_received, n, first_at, new_members)
         WHERE incidents.id = v.id`,
        [
          joins.map(({ t }) => t.id),
          joins.map(({ joined }) => new Date(Math.max(...joined.map((i) => i.event.at)))),
          joins.map(({ joined }) => new Date(Math.max(...joined.map((i) => i.event.receivedAt)))),
          joins.map(({ joined }) => joined.length),
          joins.map(({ joined }) => new Date(Math.min(...joined.map((i) => i.event.at)))),
          joins.map(({ t }) => t.newMembers.join('\x1f')),
        ],
      );
    }
    const assigned = touched.flatMap((t) => t.events.map((i) => ({ id: String(i.eventId), incident: t.id as string })));
    await c.query('UPDATE events SET incident_id = v.incident FROM unnest($1::bigint[], $2::bigint[]) AS v(id, incident) WHERE events.id = v.id', [
      assigned.map((a) => a.id),
      assigned.map((a) => a.incident),
    ]);

    const redescribe = touched.filter((t) => t.describe);
    if (redescribe.length > 0) {
      const rows = (
        await c.query<EventRow>(
          `SELECT x.id::text AS incident_id, e.member, e.type, e.at, e.received_at, e.summary, e.details, e.cause
             FROM unnest($1::bigint[]) AS x(id)
             CROSS JOIN LATERAL (SELECT m.name AS member, e.type, e.at, e.received_at, e.summary, e.details, e.cause
                                   FROM events e JOIN members m ON m.id = e.member_id
                                  WHERE e.incident_id = x.id AND NOT (e.type = ANY($2)) ORDER BY e.at LIMIT ${MAX_DESCRIBE}) e`,
          [redescribe.map((t) => t.id), ROUTINE],
        )
      ).rows;
      const facts = redescribe.map((t) =>
        describeIncident(
          rows
            .filter((r) => r.incident_id === t.id)
            .map((r) => ({ member: r.member, type: r.type, at: r.at.getTime(), receivedAt: r.received_at.getTime(), summary: r.summary, details: r.details, cause: r.cause })),
        ),
      );
      await c.query(
        `UPDATE incidents SET severity = v.severity, title = v.title, summary = v.summary
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS v(id, severity, title, summary) WHERE incidents.id = v.id`,
        [redescribe.map((t) => t.id), facts.map((f) => f.severity), facts.map((f) => f.title), facts.map((f) => f.summary)],
      );
    }
    await c.query('COMMIT');
    return inputs.map((i) => {
      const t = result.get(i);
      // opened: this event opened its incident (as when grouped alone)
      return t ? { incidentId: t.id as string, opened: t.opened && t.events[0] === i, status: t.status } : null;
    });
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}
