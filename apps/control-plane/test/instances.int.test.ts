/**
 * Two real control-plane instances against one PostgreSQL (as behind a load balancer): an agent
 * connected to A is seen connected on B, its snapshots reach a browser on B (peer bus, NOTIFY), and
 * an operation requested on B reaches the agent on A, runs once, and B records the agent's result.
 */
import fs from 'node:fs';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, startControlPlaneDb, waitFor, type ControlPlane, type ControlPlaneDb } from '@keel/testkit';
import { hello, snapshot } from './support/builders.ts';
import { FakeAgent } from './support/fake-agent.ts';
import { signIn, trpcAs } from './support/session.ts';

let db: ControlPlaneDb;
let a: ControlPlane;
let b: ControlPlane;
let sql: pg.Client;
let cookieB: string;
const agents: FakeAgent[] = [];
let pg1: FakeAgent;

const members = [
  { name: 'pg0', role: 'primary' as const, state: 'running' as const, timeline: 1, lsn: 50_000_000, tags: {}, pendingRestart: false },
  { name: 'pg1', role: 'replica' as const, state: 'running' as const, timeline: 1, lsn: 50_000_000, tags: {}, pendingRestart: false },
];

async function agentOn(cp: ControlPlane, token: string, member: 'pg0' | 'pg1', seq: number): Promise<FakeAgent> {
  const agent = await FakeAgent.connect(cp.url);
  agent.send(hello({ token, cluster: 'multi', member }));
  await agent.welcome();
  const role = member === 'pg0' ? 'primary' : 'replica';
  agent.send(snapshot(seq, { role, leader: 'pg0', members, ...(role === 'primary' ? { failoverReadiness: { eligible: false, reasons: ['is the leader'] } } : {}) }));
  await agent.ack(seq);
  agents.push(agent);
  return agent;
}

beforeAll(async () => {
  db = await startControlPlaneDb();
  [a, b] = await Promise.all([
    startControlPlane({ databaseUrl: db.databaseUrl, build: false }),
    startControlPlane({ databaseUrl: db.databaseUrl, build: false, adminEmail: 'admin-b@keel.test' }),
  ]);
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  cookieB = (await signIn(b.url, b.admin.email, b.admin.password)).cookie as string;
  // each has heard the other on the peer bus (hello and heartbeats, server/instances/peers.ts)
  for (const cp of [a, b]) await waitFor(() => fs.readFileSync(cp.logPath, 'utf8').includes('peer_joined'), { timeoutMs: 20_000, message: `${cp.url} to hear its peer` });
}, 300_000);

afterAll(async () => {
  for (const agent of agents) agent.close();
  await sql?.end();
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.stop();
});

describe('two control-plane instances, one database', () => {
  it('a browser on B sees the presence and snapshots of an agent connected to A', async () => {
    const token = await a.createAgentToken('multi', ['pg0', 'pg1']);
    const browser = new WebSocket(`${b.url.replace('http', 'ws')}/live?cluster=multi`, { headers: { cookie: cookieB, origin: b.url } });
    const seen: Array<{ type: string; member?: unknown; connected?: boolean }> = [];
    browser.on('message', (d) => seen.push(JSON.parse(d.toString()) as (typeof seen)[number]));
    await waitFor(() => seen.some((m) => m.type === 'hello'), { timeoutMs: 10_000, message: 'the live hello on B' });

    const seq = 1;
    await agentOn(a, token, 'pg0', seq);
    await waitFor(() => seen.some((m) => m.type === 'member' && (m.member as { name: string; lastSeq: number }).lastSeq === seq), {
      timeoutMs: 15_000,
      message: "pg0's snapshot (stored by A) on B's live feed",
    });
    expect(seen.some((m) => m.type === 'presence' && m.connected === true)).toBe(true);
    browser.close();

    // B's API says pg0 is connected (its agent's socket is on A)
    const detail = await trpcAs(b.url, cookieB).clusters.byScope.query({ scope: 'multi' });
    expect(detail.members.find((m) => m.name === 'pg0')?.connected).toBe(true);
    pg1 = await agentOn(a, token, 'pg1', seq + 1);
  });

  it('an operation requested on B reaches the agent connected to A, runs once, and B records its result', async () => {
    pg1.answerCommands();
    const api = trpcAs(b.url, cookieB);
    await waitFor(async () => (await api.clusters.byScope.query({ scope: 'multi' })).members.every((m) => m.connected), { timeoutMs: 15_000, message: 'both agents connected, as B sees it' });
    const op = await api.operations.request.mutate({ cluster: 'multi', type: 'restart', params: { members: ['pg1'] }, reason: 'two instances' });
    const done = await waitFor(
      async () => {
        const o = await api.operations.get.query({ id: op.id });
        return o.status === 'succeeded' || o.status === 'failed' ? o : null;
      },
      { timeoutMs: 30_000, message: 'the operation to finish' },
    );
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(pg1.commands.filter((c) => c.id === op.id)).toHaveLength(1);
    const audit = await sql.query<{ action: string }>("SELECT action FROM audit_log WHERE target = $1 AND action LIKE 'operation.%' ORDER BY id", [`operation:${op.id}`]);
    expect(audit.rows.filter((r) => r.action === 'operation.start')).toHaveLength(1);
    expect(audit.rows.filter((r) => r.action === 'operation.succeed')).toHaveLength(1);
  });
});
