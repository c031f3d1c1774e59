/**
 * bench:ingest: N simulated agents (real WebSocket clients speaking packages/protocol, one realistic
 * snapshot per second each) against one or more real control-plane processes sharing one real
 * PostgreSQL, and one signed-in browser-side client on /live of the first instance. Prints one JSON
 * line (see the fields below).
 *
 * - The agents run in worker threads (bench/ingest-agents.ts, --workers, default 2), apart from the
 *   /live client that measures latency; they connect over --ramp seconds (a restarted control plane
 *   sees its agents come back spread by their backoff jitter), agent i to instance i % N.
 * - Latency: from the snapshot's `at` (set when the agent sends it) to the /live client's receipt of
 *   that member's update; `p99RemoteMs` is for agents connected to another instance than the
 *   browser's (their updates cross the peer bus, PostgreSQL NOTIFY).
 * - Measured only once every agent was welcomed (or --connect-timeout passed), after --warmup.
 * - `loadAverage` is the machine's 1-minute load average at the end (the machine may be shared);
 *   `serverCpu` the CPU seconds per second each instance used during the measurement.
 *
 *   tsx apps/control-plane/bench/ingest.ts [--agents 1000] [--instances 1] [--seconds 20] [--warmup 5]
 *     [--ramp 10] [--workers 2] [--profile DIR (cpu profiles of the servers)]
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { ZSnapshot } from '@keel/protocol';
import { startControlPlane, startControlPlaneDb, type ControlPlane } from '@keel/testkit';
import { trpcAs } from '../test/support/session.ts';
import { snapshotFor, type TAgentsReport, type TAgentsWork } from './ingest-agents.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    instances: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    ramp: { type: 'string', default: '10' },
    workers: { type: 'string', default: '2' },
    'connect-timeout': { type: 'string', default: '90' },
    clusters: { type: 'string', default: '' },
    profile: { type: 'string', default: '' },
  },
});
const AGENTS = Number(values.agents);
const INSTANCES = Number(values.instances);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const WORKERS = Math.max(1, Math.min(Number(values.workers), AGENTS));
const MEMBERS_PER_CLUSTER = 3;
const CLUSTERS = values.clusters ? Number(values.clusters) : Math.ceil(AGENTS / MEMBERS_PER_CLUSTER);

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function merge(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
  return a;
}

async function main(): Promise<void> {
  const db = await startControlPlaneDb();
  const cps: ControlPlane[] = [];
  for (let n = 0; n < INSTANCES; n++) {
    cps.push(
      await startControlPlane({
        databaseUrl: db.databaseUrl,
        build: false,
        adminEmail: n === 0 ? 'admin@keel.test' : `admin${n}@keel.test`,
        ...(values.profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] } : {}),
      }),
    );
  }
  const cp = cps[0] as ControlPlane;
  ZSnapshot.parse(snapshotFor(1, MEMBERS_PER_CLUSTER, Date.now())); // the bench speaks the real protocol

  const signIn = await fetch(`${cp.url}/api/auth/sign-in/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: cp.url },
    body: JSON.stringify({ email: cp.admin.email, password: cp.admin.password }),
  });
  const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const api = trpcAs(cp.url, cookie);
  const tokens: string[] = new Array<string>(CLUSTERS);
  for (let c = 0; c < CLUSTERS; c += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, CLUSTERS - c) }, async (_, k) => {
        tokens[c + k] = (await api.tokens.create.mutate({ scope: `bench-${c + k}`, members: Array.from({ length: MEMBERS_PER_CLUSTER }, (_, i) => `m${i}`) })).token;
      }),
    );
  }

  let measuring = false;
  let windowStart = 0;
  const latencies: number[] = [];
  const remoteLatencies: number[] = [];
  const browser = new WebSocket(`${cp.url.replace('http', 'ws')}/live`, { headers: { cookie, origin: cp.url } });
  browser.on('message', (data) => {
    if (!measuring) return;
    const m = JSON.parse(data.toString()) as { type: string; cluster?: string; member?: { name: string; snapshotAt: string | null } };
    if (m.type !== 'member' || !m.member?.snapshotAt) return;
    const at = Date.parse(m.member.snapshotAt);
    if (at < windowStart) return;
    const latency = Date.now() - at;
    latencies.push(latency);
    const i = Number(m.cluster?.slice('bench-'.length)) * MEMBERS_PER_CLUSTER + Number(m.member.name.slice(1));
    if (i % INSTANCES !== 0) remoteLatencies.push(latency);
  });
  await new Promise((resolve, reject) => browser.once('open', resolve).once('error', reject));

  const urls = cps.map((c) => c.url.replace('http', 'ws'));
  const reports = new Map<number, TAgentsReport>();
  const workers: Worker[] = [];
  for (let w = 0; w < WORKERS; w++) {
    const from = Math.floor((w * AGENTS) / WORKERS);
    const to = Math.floor(((w + 1) * AGENTS) / WORKERS);
    const work: TAgentsWork = { from, to, urls, tokens, membersPerCluster: MEMBERS_PER_CLUSTER, clusters: CLUSTERS, rampMs: Number(values.ramp) * 1000 };
    // a worker does not inherit tsx's loader: register it inside, then load the TypeScript module
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(new URL('./ingest-agents.ts', import.meta.url).href)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: work });
    worker.on('message', (r: TAgentsReport) => reports.set(w, r));
    worker.on('error', (e) => console.error(`worker ${w}: ${e.message}`));
    workers.push(worker);
  }
  const total = () => {
    const t: TAgentsReport = { type: 'report', welcomed: 0, sent: 0, acked: 0, refused: {}, socketErrors: {}, closedAfterWelcome: 0 };
    for (const r of reports.values()) {
      t.welcomed += r.welcomed;
      t.sent += r.sent;
      t.acked += r.acked;
      t.closedAfterWelcome += r.closedAfterWelcome;
      merge(t.refused, r.refused);
      merge(t.socketErrors, r.socketErrors);
    }
    return t;
  };

  const connectStart = performance.now();
  const connectDeadline = connectStart + Number(values['connect-timeout']) * 1000;
  while (total().welcomed < AGENTS && performance.now() < connectDeadline) await new Promise((r) => setTimeout(r, 250));
  const connectSeconds = (performance.now() - connectStart) / 1000;

  await new Promise((r) => setTimeout(r, WARMUP * 1000));
  const before = total();
  const cpuBefore = cps.map((c) => cpuSeconds(c.pid));
  const benchCpuBefore = process.cpuUsage();
  windowStart = Date.now();
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  measuring = false;
  const elapsed = (performance.now() - t0) / 1000;
  const after = total();
  const serverCpu = cps.map((c, n) => Math.round(((cpuSeconds(c.pid) - (cpuBefore[n] ?? 0)) / elapsed) * 100) / 100);
  const benchCpuUsed = process.cpuUsage(benchCpuBefore);
  const rss = cps.map((c) => rssMb(c.pid));
  const loadAverage = os.loadavg().map((l) => Math.round(l * 10) / 10);

  for (const w of workers) w.postMessage({ type: 'stop' });
  await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
  const final = total();
  browser.terminate();
  for (const c of cps) await c.stop();
  await db.stop();

  latencies.sort((a, b) => a - b);
  remoteLatencies.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      bench: 'ingest',
      agents: AGENTS,
      instances: INSTANCES,
      clusters: CLUSTERS,
      workers: WORKERS,
      connected: final.welcomed,
      connectSeconds: Math.round(connectSeconds * 10) / 10,
      refused: final.refused,
      socketErrors: final.socketErrors,
      closedAfterWelcome: final.closedAfterWelcome,
      seconds: Math.round(elapsed),
      messagesPerSecond: Math.round((after.sent - before.sent) / elapsed),
      ackedPerSecond: Math.round((after.acked - before.acked) / elapsed),
      liveUpdates: latencies.length,
      p50Ms: Math.round(percentile(latencies, 50)),
      p99Ms: Math.round(percentile(latencies, 99)),
      ...(INSTANCES > 1 ? { p99RemoteMs: Math.round(percentile(remoteLatencies, 99)) } : {}),
      serverCpu,
      benchCpu: Math.round(((benchCpuUsed.user + benchCpuUsed.system) / 1e6 / elapsed) * 100) / 100,
      serverRssMb: rss,
      loadAverage,
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
