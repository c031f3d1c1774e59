/**
 * Incidents, pure: which agent events open an incident, which join one, and the title, severity,
 * members and summary an incident's events add up to. No I/O, no clock (times are arguments), so the
 * ingest (services/group-event.ts), the tests and the benchmark share one rule.
 *
 * The rule: an incident is a window on one cluster. A *triggering* event (the leader's lease lost or
 * its key gone, a promotion that was not a switchover, fencing, PostgreSQL down, the DCS unreachable,
 * a failed rewind or clone, lag above the threshold) opens one when the cluster has none open. Any
 * event of that cluster that arrives while it is open joins it and extends it. It closes after
 * QUIET_MS with no event (measured on the server's receive clock, so one agent's skewed clock cannot
 * hold it open), or once it is MAX_SPAN_MS long; the next triggering event opens a new one.
 */

export type TSeverity = 'critical' | 'major' | 'minor';
export const SEVERITY_RANK: Record<TSeverity, number> = { minor: 1, major: 2, critical: 3 };

/** Quiet period after which an incident is over (default; KEEL_CP_INCIDENT_QUIET_SECONDS). */
export const QUIET_MS = 120_000;
/** No incident grows beyond this (a flapping cluster gets one incident per hour, not one forever). */
export const MAX_SPAN_MS = 3_600_000;

/** An event as grouping and summaries see it (agent time `at`, server time `receivedAt`, both epoch ms). */
export interface TGroupEvent {
  member: string;
  type: string;
  at: number;
  receivedAt: number;
  summary: string;
  details: unknown;
  cause?: unknown;
}

function rec(x: unknown): Record<string, unknown> {
  return typeof x === 'object' && x !== null ? (x as Record<string, unknown>) : {};
}
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** A planned hand-over (switchover): its events join an incident but never open one. */
function planned(e: TGroupEvent): boolean {
  const d = rec(e.details);
  const decision = str(rec(e.cause).decision) ?? '';
  if (e.type === 'lock_lost') return /released/.test(str(d.error) ?? '');
  if (e.type === 'demoted') return d.mode === 'graceful';
  if (e.type === 'promoted') return /switchover/i.test(decision);
  return false;
}

/** The severity an event brings when it opens or joins an incident; null: it never opens one. */
export function triggerSeverity(e: TGroupEvent): TSeverity | null {
  if (planned(e)) return null;
  const d = rec(e.details);
  switch (e.type) {
    case 'fenced':
    case 'lock_lost':
    case 'leader_key_gone':
    case 'failover':
    case 'promoted':
      return 'critical';
    case 'postgres_down':
    case 'dcs_unreachable':
      return 'major';
    case 'demoted':
      return 'major';
    case 'rewind_done':
      return d.ok === false ? 'major' : null;
    case 'reclone':
      return d.phase === 'failed' ? 'major' : null;
    case 'lag_above_threshold':
      return 'minor';
    default:
      return null;
  }
}

/** The open incident of a cluster as grouping needs it. */
export interface TOpenWindow {
  startedReceivedAt: number;
  lastReceivedAt: number;
}

/** Is this window still open for an event received at `receivedAt`? */
export function windowOpen(w: TOpenWindow | null, receivedAt: number, quietMs = QUIET_MS): boolean {
  if (!w) return false;
  return receivedAt - w.lastReceivedAt <= quietMs && receivedAt - w.startedReceivedAt <= MAX_SPAN_MS;
}

/** What to do with one new event: join the open incident, open a new one, or leave it ungrouped. */
export function groupDecision(open: TOpenWindow | null, e: TGroupEvent, quietMs = QUIET_MS): 'join' | 'open' | 'none' {
  if (windowOpen(open, e.receivedAt, quietMs)) return 'join';
  return triggerSeverity(e) ? 'open' : 'none';
}

/** Group a whole history at once (tests, re-grouping): the same rule as the ingest, event by event in receive order. */
export function groupEvents<E extends TGroupEvent>(events: readonly E[], quietMs = QUIET_MS): E[][] {
  const sorted = [...events].sort((a, b) => a.receivedAt - b.receivedAt);
  const out: E[][] = [];
  let cur: { w: TOpenWindow; events: E[] } | null = null;
  for (const e of sorted) {
    const d = groupDecision(cur?.w ?? null, e, quietMs);
    if (d === 'join' && cur) {
      cur.events.push(e);
      cur.w.lastReceivedAt = e.receivedAt;
    } else if (d === 'open') {
      cur = { w: { startedReceivedAt: e.receivedAt, lastReceivedAt: e.receivedAt }, events: [e] };
      out.push(cur.events);
    }
  }
  return out;
}

/**
 * The timeline order: agent time, then server receive time (then the caller's tie-breaker, the
 * agent's own sequence). Agents' clocks are checked against the server's at ingest (at most
 * KEEL_CP_MAX_CLOCK_SKEW_SECONDS ahead), and within one agent its sequence is authoritative.
 */
export function timelineOrder(a: TGroupEvent, b: TGroupEvent): number {
  return a.at - b.at || a.receivedAt - b.receivedAt;
}

/** 03:12:04 (UTC): incident summaries are read across time zones. */
export function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export interface TIncidentFacts {
  title: string;
  severity: TSeverity;
  members: string[];
  /** Sentences joined by "; ". Only what the events say; "unknown" where they do not. */
  summary: string;
}

/**
 * Title, severity, members and the generated summary of an incident's events, e.g. "node1 lost its
 * lease at 03:12:04; node2 (0 B behind) promoted at 03:12:14; node1 rejoined by pg_rewind at 03:13:02;
 * acknowledged writes lost: 0 B".
 */
export function describeIncident(input: readonly TGroupEvent[]): TIncidentFacts {
  const events = [...input].sort(timelineOrder);
  let severity: TSeverity = 'minor';
  for (const e of events) {
    const s = triggerSeverity(e);
    if (s && SEVERITY_RANK[s] > SEVERITY_RANK[severity]) severity = s;
  }
  const members = [...new Set(events.map((e) => e.member))].sort();
  const parts: Array<{ at: number; text: string }> = [];
  const say = (at: number, text: string) => parts.push({ at, text });
  const first = <T extends TGroupEvent>(pred: (e: TGroupEvent) => boolean): T | undefined => events.find(pred) as T | undefined;

  // 1. how the leader was lost: the old leader's own account first, else what the others saw
  const fenced = first((e) => e.type === 'fenced');
  const lockLost = first((e) => e.type === 'lock_lost' && !planned(e));
  const keyGone = first((e) => e.type === 'leader_key_gone');
  const promoted = first((e) => e.type === 'promoted' || e.type === 'failover');
  const oldLeader = str(rec(promoted?.details).previousLeader) ?? str(rec(keyGone?.details).previousLeader) ?? fenced?.member ?? lockLost?.member ?? null;
  const downOld = first((e) => e.type === 'postgres_down' && (oldLeader === null || e.member === oldLeader));
  if (lockLost) say(lockLost.at, `${lockLost.member} lost its lease at ${clock(lockLost.at)}`);
  if (fenced) {
    const d = rec(fenced.details);
    const stopMs = num(d.stopMs);
    const before = d.beforeExpiry === true ? ', before its lease could expire' : d.beforeExpiry === false ? ', AFTER its lease could expire' : '';
    say(num(Date.parse(str(d.stoppedAt) ?? '')) ?? fenced.at, `${fenced.member} was fenced at ${clock(fenced.at)} (PostgreSQL stopped ${stopMs === null ? 'unknown' : `${(stopMs / 1000).toFixed(1)} s`} after the lease was lost${before})`);
  }
  if (!lockLost && !fenced && keyGone) {
    say(keyGone.at, `${str(rec(keyGone.details).previousLeader) ?? 'the leader'}'s leader key was gone at ${clock(keyGone.at)} (seen by ${keyGone.member}; its agent said nothing: unreachable or dead)`);
  }
  if (downOld && !fenced) say(downOld.at, `PostgreSQL on ${downOld.member} went down at ${clock(downOld.at)}`);
  for (const e of events.filter((x) => x.type === 'postgres_down' && x !== downOld && x.member !== fenced?.member)) {
    say(e.at, `PostgreSQL on ${e.member} went down at ${clock(e.at)}`);
  }
  const dcsLost = first((e) => e.type === 'dcs_unreachable');
  if (dcsLost) say(dcsLost.at, `${dcsLost.member} could not reach the DCS at ${clock(dcsLost.at)}`);

  // 2. the takeover
  if (promoted) {
    const d = rec(promoted.details);
    const behind = num(d.behindBytes);
    say(promoted.at, `${promoted.member} (${behind === null ? 'lag unknown' : `${formatBytes(behind)} behind`}) promoted at ${clock(promoted.at)}`);
  }

  // 3. rejoins and failures after it
  for (const e of events) {
    const d = rec(e.details);
    if (e.type === 'rewind_done') say(e.at, d.ok === true ? `${e.member} rejoined ${d.rewound === false ? 'without pg_rewind (nothing to rewind)' : 'by pg_rewind'} at ${clock(e.at)}` : `pg_rewind on ${e.member} failed at ${clock(e.at)}`);
    else if (e.type === 'reclone' && d.phase === 'done') say(e.at, `${e.member} rejoined by a re-clone at ${clock(e.at)}`);
    else if (e.type === 'reclone' && d.phase === 'failed') say(e.at, `the re-clone of ${e.member} failed at ${clock(e.at)}`);
    else if (e.type === 'lag_above_threshold') say(e.at, `${e.member} lagged ${formatBytes(num(d.lagBytes) ?? 0)} behind at ${clock(e.at)}`);
  }
  const dcsBack = events.filter((e) => e.type === 'dcs_back').at(-1);
  if (dcsLost && dcsBack) say(dcsBack.at, `the DCS was reachable again at ${clock(dcsBack.at)}`);
  parts.sort((a, b) => a.at - b.at);

  // 4. data: only what is known
  if (promoted && promoted.type === 'promoted') {
    const d = rec(promoted.details);
    const lsn = num(d.lsn);
    const lastOld = num(rec(fenced?.details).lastLsn);
    if (fenced && lastOld !== null && lsn !== null) {
      const lost = Math.max(0, lastOld - lsn);
      parts.push({ at: Infinity, text: lost === 0 ? 'acknowledged writes lost: none (the new primary had the old primary\'s last WAL position)' : `acknowledged writes lost: up to ${formatBytes(lost)} of WAL` });
    } else {
      const behind = num(d.behindBytes);
      parts.push({ at: Infinity, text: `acknowledged writes lost: unknown (the old primary's last WAL position was not reported${behind === null ? '' : `; ${formatBytes(behind)} behind its last published position`})` });
    }
  }

  const title = promoted
    ? `Failover${oldLeader ? ` from ${oldLeader}` : ''} to ${promoted.member}`
    : fenced
      ? `${fenced.member} fenced`
      : lockLost
        ? `${lockLost.member} lost the leader lock`
        : keyGone
          ? `Leader ${str(rec(keyGone.details).previousLeader) ?? ''} gone, no promotion seen`
          : downOld
            ? `PostgreSQL down on ${downOld.member}`
            : dcsLost
              ? `DCS unreachable from ${dcsLost.member}`
              : events.some((e) => e.type === 'lag_above_threshold')
                ? 'Replication lag above the threshold'
                : events.some((e) => e.type === 'rewind_done' || e.type === 'reclone')
                  ? 'Rejoin failed'
                  : (events[0]?.summary ?? 'Incident');
  const summary = parts.length ? parts.map((p) => p.text).join('; ') : 'no details known';
  return { title: title.slice(0, 200), severity, members, summary: summary.slice(0, 4000) };
}
