/**
 * bench:incidents: events and incidents with months of history. Against the real control plane and
 * its real PostgreSQL:
 *   1. seeds 1,000,000 agent events over 90 days on 3 clusters (one INSERT ... SELECT generate_series),
 *      grouped into 20,000 incidents of 50 events each, plus the members' snapshots around the newest;
 *   2. ingest: AGENTS simulated agents (real WebSockets, the real protocol) each send EVENTS events as
 *      fast as the server acknowledges them (a failover's worth of triggering events and decision
 *      changes, so grouping runs for every one), with the 1M events stored; events/s = acknowledged / elapsed;
 *   3. incident-page load: the server query (tRPC incidents.get over HTTP, median of 20) and the whole
 *      page in Chromium (navigation until the summary and the replay are on screen, median of 5), and
 *      the list's first page.
 * Prints one JSON line:
 *   {"bench":"incidents","storedEvents":…,"incidents":…,"ingestEventsPerSecond":…,"incidentQueryMs":…,"incidentPageMs":…,"listQueryMs":…}
 *
 *   tsx apps/control-plane/bench/incidents.ts [--events 1000000] [--agents 30] [--per-agent 400]
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { chromium } from '@playwright/test';
import WebSocket from 'ws';
import { AGENT_SOCKET_PATH, ZAgentEvent, type TAgentEvent } from '@keel/protocol';
import { startControlPlane, startControlPlaneDb } from '@keel/testkit';
import { trpcAs } from '../test/support/session.ts';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '1000000' }, agents: { type: 'string', default: '30' }, 'per-agent': { type: 'string', default: '400' } },
});
const EVENTS = Number(values.events);
const AGENTS = Number(values.agents);
const PER_AGENT = Number(values['per-agent']);
const PER_INCIDENT = 50;
const SEED_CLUSTERS = 3;
const MEMBERS = ['m0', 'm1', 'm2'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function eventFor(member: string, seq: number, i: number): TAgentEvent {
  const at = new Date().toISOString();
  const kind = i % 10;
  if (kind === 0) return { type: 'event', seq, at, event: 'leader_key_gone', summary: `${member} sees the leader key of m0 gone`, details: { previousLeader: 'm0' } };
  if (kind === 1) return { type: 'event', seq, at, event: 'promoted', summary: `${member} promoted`, details: { previousLeader: 'm0', timeline: 2, lsn: 1000 + i, leaderLsn: 1000 + i, behindBytes: 0 }, cause: { verdict: 'race_won', decision: 'promoted self to leader' } };
  if (kind === 2) return { type: 'event', seq, at, event: 'postgres_down', summary: `PostgreSQL on ${member} is down`, details: { state: 'crashed', wasRole: 'replica' } };
  return { type: 'event', seq, at, event: 'decision_changed', summary: `${member}: no action ${i}`, details: { verdict: 'replica_ok', reason: `no action. following m0 (${i % 2 ? 'a' : 'b'})`, actions: [], previousReason: null }, cause: { verdict: 'replica_ok' } };
}

async function seed(ownerUrl: string): Promise<{ incidentId: string }> {
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    const clusterIds = (await c.query<{ id: string }>("SELECT id FROM clusters WHERE scope LIKE 'seeded-%' ORDER BY scope")).rows.map((r) => r.id);
    for (const id of clusterIds) {
      for (const m of MEMBERS) await c.query('INSERT INTO members (id, cluster_id, name) VALUES (gen_random_uuid(), $1, $2) ON CONFLICT DO NOTHING', [id, m]);
    }
    const incidents = Math.ceil(EVENTS / PER_INCIDENT);
    const span = 90 * 24 * 3600; // seconds of history
    // incidents first (ids 1..n in time order), then their events, 50 each, over 90 days
    await c.query(
      `INSERT INTO incidents (cluster_id, started_at, last_event_at, last_received_at, severity, status, title, summary, members, event_count)
       SELECT ($1::uuid[])[1 + i % $2], now() - make_interval(secs => $3::float8 * (1 - i::float8 / $4)),
              now() - make_interval(secs => $3::float8 * (1 - i::float8 / $4)) + interval '2 minutes',
              now() - make_interval(secs => $3::float8 * (1 - i::float8 / $4)) + interval '2 minutes',
              'critical', 'resolved', 'Failover from m0 to m1', 'm0 lost its lease; m1 (0 B behind) promoted', ARRAY['m0','m1','m2'], ${PER_INCIDENT}
         FROM generate_series(1, $4::int) AS i`,
      [clusterIds, SEED_CLUSTERS, span, incidents],
    );
    const t0 = performance.now();
    await c.query(
      `INSERT INTO events (cluster_id, member_id, seq, type, at, received_at, summary, details, cause, incident_id)
       SELECT inc.cluster_id, m.id, g.i, (ARRAY['leader_key_gone','promoted','decision_changed','decision_changed','postgres_up'])[1 + g.i % 5],
              inc.started_at + make_interval(secs => (g.i % ${PER_INCIDENT}) * 2), inc.started_at + make_interval(secs => (g.i % ${PER_INCIDENT}) * 2 + 0.05),
              'seeded event ' || g.i, jsonb_build_object('previousLeader', 'm0', 'n', g.i), jsonb_build_object('verdict', 'replica_ok'), inc.id
         FROM generate_series(1, $1::int) AS g(i)
         JOIN incidents inc ON inc.id = 1 + (g.i - 1) / ${PER_INCIDENT}
         JOIN members m ON m.cluster_id = inc.cluster_id AND m.name = 'm' || (g.i % 3)`,
      [EVENTS],
    );
    const seedSeconds = (performance.now() - t0) / 1000;
    await c.query(`UPDATE members SET last_seq = ${EVENTS + 1}`);
    // the newest incident gets snapshots for its replay: 3 members, one every 2 s, from 5 min before to 5 min after
    const newest = (await c.query<{ id: string; cluster_id: string; started_at: Date }>('SELECT id, cluster_id, started_at FROM incidents ORDER BY id DESC LIMIT 1')).rows[0]!;
    await c.query(
      `INSERT INTO state_samples (member_id, seq, at, role, timeline, lsn, receive_lag_bytes, replay_lag_bytes)
       SELECT m.id, 10000000 + s, $2::timestamptz + make_interval(secs => s * 2 - 300), CASE WHEN m.name = 'm0' AND s < 150 OR m.name = 'm1' AND s >= 150 THEN 'primary' ELSE 'replica' END,
              CASE WHEN s < 150 THEN 1 ELSE 2 END, 1000 + s, 0, 0
         FROM members m CROSS JOIN generate_series(0, 300) AS s WHERE m.cluster_id = $1`,
      [newest.cluster_id, newest.started_at],
    );
    await c.query('ANALYZE');
    process.stderr.write(`seeded ${EVENTS} events in ${seedSeconds.toFixed(1)} s, ${incidents} incidents\n`);
    return { incidentId: newest.id };
  } finally {
    await c.end();
  }
}

async function ingest(url: string, tokens: Array<{ scope: string; token: string }>): Promise<{ eventsPerSecond: number; acked: number; seconds: number }> {
  let acked = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: AGENTS }, (_, a) => {
      const { scope, token } = tokens[Math.floor(a / MEMBERS.length) % tokens.length]!;
      const member = MEMBERS[a % MEMBERS.length]!;
      return new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`${url.replace('http', 'ws')}${AGENT_SOCKET_PATH}`);
        let base = 0;
        ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', v: 1, token, cluster: scope, member, agentVersion: 'bench' })));
        ws.on('message', (data) => {
          const m = JSON.parse(data.toString()) as { type: string; ackedSeq?: number; seq?: number; message?: string };
          if (m.type === 'welcome') {
            base = Math.max(m.ackedSeq ?? 0, Date.now());
            for (let i = 1; i <= PER_AGENT; i++) ws.send(JSON.stringify(eventFor(member, base + i, i)));
          } else if (m.type === 'ack') {
            if ((m.seq ?? 0) >= base + PER_AGENT) {
              acked += PER_AGENT;
              ws.close();
              resolve();
            }
          } else if (m.type === 'error') reject(new Error(`${scope}/${member}: ${m.message}`));
        });
        ws.on('error', reject);
      });
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { eventsPerSecond: Math.round(acked / seconds), acked, seconds };
}

async function main(): Promise<void> {
  ZAgentEvent.parse(eventFor('m1', 1, 1)); // the bench speaks the real protocol
  const db = await startControlPlaneDb();
  const cp = await startControlPlane({
    databaseUrl: db.databaseUrl,
    env: { KEEL_CP_AGENT_MESSAGES_PER_SECOND: '100000', KEEL_CP_AGENT_BURST_MESSAGES: '100000' },
  });
  try {
    const signIn = await fetch(`${cp.url}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: cp.url },
      body: JSON.stringify({ email: cp.admin.email, password: cp.admin.password }),
    });
    const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const api = trpcAs(cp.url, cookie);
    for (let c = 0; c < SEED_CLUSTERS; c++) await api.tokens.create.mutate({ scope: `seeded-${c}`, members: MEMBERS });
    const { incidentId } = await seed(db.ownerUrl);

    const liveTokens: Array<{ scope: string; token: string }> = [];
    for (let c = 0; c < Math.ceil(AGENTS / MEMBERS.length); c++) liveTokens.push({ scope: `live-${c}`, token: (await api.tokens.create.mutate({ scope: `live-${c}`, members: MEMBERS })).token });
    const ing = await ingest(cp.url, liveTokens);
    process.stderr.write(`ingest: ${JSON.stringify(ing)}\n`);

    // the server query, as the page makes it
    const q: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const d = await api.incidents.get.query({ id: incidentId });
      q.push(performance.now() - t);
      if (i === 0 && (d.timeline.filter((e) => e.source === 'agent').length !== PER_INCIDENT || d.replay.members.every((m) => m.samples.length === 0))) throw new Error(`unexpected incident ${incidentId}: ${d.timeline.length} events`);
    }
    const l: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await api.incidents.list.query({ limit: 25 });
      l.push(performance.now() - t);
    }
    // the page in Chromium, signed in
    const browser = await chromium.launch({ executablePath: process.env.KEEL_E2E_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
    const pageMs: number[] = [];
    try {
      const context = await browser.newContext({ baseURL: cp.url });
      await context.addCookies(cookie.split('; ').map((kv) => ({ name: kv.split('=')[0]!, value: kv.slice(kv.indexOf('=') + 1), url: cp.url })));
      const page = await context.newPage();
      await page.goto(`/incidents/${incidentId}`); // warm Next's caches
      await page.getByLabel('Summary').waitFor();
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await page.goto(`/incidents/${incidentId}`);
        await page.getByLabel('Summary').waitFor();
        await page.getByRole('group', { name: 'Replayed leader' }).waitFor();
        pageMs.push(performance.now() - t);
      }
    } finally {
      await browser.close();
    }
    const stored = Number((await api.incidents.list.query({ limit: 1 })).items[0]?.id ?? 0);
    console.log(
      JSON.stringify({
        bench: 'incidents',
        storedEvents: EVENTS + ing.acked,
        incidents: stored,
        ingestAgents: AGENTS,
        ingestEvents: ing.acked,
        ingestEventsPerSecond: ing.eventsPerSecond,
        incidentQueryMs: Math.round(median(q)),
        incidentPageMs: Math.round(median(pageMs)),
        listQueryMs: Math.round(median(l)),
      }),
    );
  } finally {
    await cp.stop();
    await db.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
