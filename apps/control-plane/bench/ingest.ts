/**
 * bench:ingest: N simulated agents (real WebSocket clients speaking packages/protocol, one
 * realistic snapshot per second each) against the real control plane process and its real
 * PostgreSQL, and one signed-in browser-side client on /live. Prints one JSON line:
 *   {"bench":"ingest","agents":…,"seconds":…,"messagesPerSecond":…,"acked":…,"p50Ms":…,"p99Ms":…,"serverRssMb":…}
 * Latency is from the agent's send to the /live client's receipt of that member's update.
 *
 *   tsx apps/control-plane/bench/ingest.ts [--agents 1000] [--seconds 20] [--warmup 5]
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { AGENT_SOCKET_PATH, ZSnapshot, type TSnapshot } from '@keel/protocol';
import { startControlPlane, startControlPlaneDb } from '@keel/testkit';
import { trpcAs } from '../test/support/session.ts';

const { values } = parseArgs({
  options: { agents: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '20' }, warmup: { type: 'string', default: '5' }, clusters: { type: 'string', default: '' } },
});
const AGENTS = Number(values.agents);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const MEMBERS_PER_CLUSTER = 3;
const CLUSTERS = values.clusters ? Number(values.clusters) : Math.ceil(AGENTS / MEMBERS_PER_CLUSTER);

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function snapshotFor(member: number, seq: number): TSnapshot {
  const primary = member % MEMBERS_PER_CLUSTER === 0;
  const lsn = 100_000_000 + seq * 8192;
  const lag = primary ? 0 : Math.floor(Math.random() * 65536);
  return {
    type: 'snapshot',
    seq,
    at: new Date().toISOString(),
    role: primary ? 'primary' : 'replica',
    state: 'running',
    pgRunning: true,
    timeline: 3,
    lsn: lsn - lag,
    receiveLsn: primary ? null : lsn - lag,
    replayLsn: primary ? null : lsn - lag,
    lag: { leaderLsn: lsn, receiveBytes: lag, replayBytes: lag, receiveSeconds: primary ? 0 : lag / 1e6, replaySeconds: primary ? 0 : lag / 1e6 },
    pendingRestart: false,
    pendingRestartReasons: {},
    tags: {},
    dcsLastSeen: Math.floor(Date.now() / 1000),
    dcsOk: true,
    failoverReadiness: primary ? { eligible: false, reasons: ['is the leader'] } : { eligible: true, reasons: [] },
    leader: 'm0',
    members: [0, 1, 2].map((i) => ({ name: `m${i}`, role: i === 0 ? 'primary' : 'replica', state: 'running', timeline: 3, lsn, tags: {}, pendingRestart: false })),
    lastDecision: { verdict: 'healthy', reason: primary ? 'no action: I am the healthy leader with the lock' : 'no action: I am a healthy replica', actions: primary ? ['renewLock'] : [] },
    paused: false,
  };
}

async function main(): Promise<void> {
  const db = await startControlPlaneDb();
  const cp = await startControlPlane({ databaseUrl: db.databaseUrl, build: false });
  ZSnapshot.parse(snapshotFor(1, 1)); // the bench speaks the real protocol

  const signIn = await fetch(`${cp.url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: cp.url },
    body: JSON.stringify({ email: cp.admin.email, password: cp.admin.password }),
  });
  const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const api = trpcAs(cp.url, cookie);
  const tokens: string[] = [];
  for (let c = 0; c < CLUSTERS; c++) tokens.push((await api.tokens.create.mutate({ scope: `bench-${c}`, members: Array.from({ length: MEMBERS_PER_CLUSTER }, (_, i) => `m${i}`) })).token);

  let measuring = false;
  const latencies: number[] = [];
  let acked = 0;
  const sentAt = new Map<string, number>();

  const browser = new WebSocket(`${cp.url.replace('http', 'ws')}/live`, { headers: { cookie, origin: cp.url } });
  browser.on('message', (data) => {
    const m = JSON.parse(data.toString()) as { type: string; cluster?: string; member?: { name: string; lastSeq: number } };
    if (m.type !== 'member' || !m.member || !measuring) return;
    const t = sentAt.get(`${m.cluster}/${m.member.name}/${m.member.lastSeq}`);
    if (t !== undefined) latencies.push(performance.now() - t);
  });
  await new Promise((resolve, reject) => browser.once('open', resolve).once('error', reject));

  const sockets: WebSocket[] = [];
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const cluster = Math.floor(i / MEMBERS_PER_CLUSTER) % CLUSTERS;
    const name = `m${i % MEMBERS_PER_CLUSTER}`;
    const scope = `bench-${cluster}`;
    const ws = new WebSocket(`${cp.url.replace('http', 'ws')}${AGENT_SOCKET_PATH}`);
    sockets.push(ws);
    let seq = 0;
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; ackedSeq?: number; seq?: number };
      if (m.type === 'welcome') {
        seq = m.ackedSeq ?? 0;
        const send = () => {
          seq++;
          if (measuring) sentAt.set(`${scope}/${name}/${seq}`, performance.now());
          ws.send(JSON.stringify(snapshotFor(i, seq)));
        };
        const start = setTimeout(() => {
          send();
          timers.push(setInterval(send, 1000));
        }, Math.random() * 1000);
        timers.push(start);
      } else if (m.type === 'ack' && measuring) acked++;
      else if (m.type === 'error') console.error(`agent ${scope}/${name}: ${data.toString()}`);
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', v: 1, token: tokens[cluster], cluster: scope, member: name, agentVersion: 'bench' })));
    ws.on('error', (e) => console.error(`agent ${scope}/${name}: ${e.message}`));
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 50)); // do not SYN-flood the accept queue
  }

  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const rss = rssMb(cp.pid);

  for (const t of timers) clearInterval(t);
  for (const ws of sockets) ws.terminate();
  browser.terminate();
  await cp.stop();
  await db.stop();

  latencies.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      bench: 'ingest',
      agents: AGENTS,
      clusters: CLUSTERS,
      seconds: Math.round(elapsed),
      messagesPerSecond: Math.round(sentAt.size / elapsed),
      ackedPerSecond: Math.round(acked / elapsed),
      liveUpdates: latencies.length,
      p50Ms: Math.round(percentile(latencies, 50)),
      p99Ms: Math.round(percentile(latencies, 99)),
      serverRssMb: rss,
    }),
  );
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
