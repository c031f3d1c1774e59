/**
 * bench:ingest's load generator, one worker thread per slice of the simulated agents (so that the
 * generator does not compete with the browser-side client that measures latency, and can use the
 * second core). Each agent: a real WebSocket speaking packages/protocol, hello, then one realistic
 * snapshot per second (the first at a random moment within the first second), counting acks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { AGENT_SOCKET_PATH, type TSnapshot } from '@keel/protocol';

export interface TAgentsWork {
  /** Global agent indexes handled by this worker. */
  from: number;
  to: number;
  /** ws://… of each instance; agent i connects to urls[i % urls.length]. */
  urls: string[];
  tokens: string[];
  membersPerCluster: number;
  clusters: number;
  /** Spread the connections over this many milliseconds. */
  rampMs: number;
}

export interface TAgentsReport {
  type: 'report';
  welcomed: number;
  sent: number;
  /** Messages covered by an ack (cumulative acks: each sent seq counted once). */
  acked: number;
  /** Server `error` messages by code, and socket errors / closes by text. */
  refused: Record<string, number>;
  socketErrors: Record<string, number>;
  closedAfterWelcome: number;
}

export function snapshotFor(member: number, membersPerCluster: number, seq: number): TSnapshot {
  const primary = member % membersPerCluster === 0;
  const lsn = 100_000_000 + (seq % 1_000_000) * 8192;
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

function run(work: TAgentsWork): void {
  const report: TAgentsReport = { type: 'report', welcomed: 0, sent: 0, acked: 0, refused: {}, socketErrors: {}, closedAfterWelcome: 0 };
  const count = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);
  const sockets: WebSocket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const n = work.to - work.from;

  const startAgent = (i: number) => {
    const cluster = Math.floor(i / work.membersPerCluster) % work.clusters;
    const name = `m${i % work.membersPerCluster}`;
    const scope = `bench-${cluster}`;
    const ws = new WebSocket(`${work.urls[i % work.urls.length]}${AGENT_SOCKET_PATH}`);
    sockets.push(ws);
    let seq = 0;
    let welcomed = false;
    const unacked: number[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; ackedSeq?: number; seq?: number; code?: string };
      if (m.type === 'welcome') {
        welcomed = true;
        report.welcomed++;
        seq = Math.max(m.ackedSeq ?? 0, Date.now());
        const send = () => {
          if (ws.readyState !== ws.OPEN) return;
          seq = Math.max(seq + 1, Date.now());
          unacked.push(seq);
          report.sent++;
          ws.send(JSON.stringify(snapshotFor(i, work.membersPerCluster, seq)));
        };
        timers.push(
          setTimeout(() => {
            send();
            timers.push(setInterval(send, 1000));
          }, Math.random() * 1000),
        );
      } else if (m.type === 'ack') {
        while (unacked.length > 0 && (unacked[0] ?? Infinity) <= (m.seq ?? 0)) {
          unacked.shift();
          report.acked++;
        }
      } else if (m.type === 'error') count(report.refused, m.code ?? 'unknown');
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', v: 1, token: work.tokens[cluster], cluster: scope, member: name, agentVersion: 'bench' })));
    ws.on('error', (e) => count(report.socketErrors, e.message));
    ws.on('close', () => {
      if (welcomed) report.closedAfterWelcome++;
    });
  };

  for (let k = 0; k < n; k++) timers.push(setTimeout(() => startAgent(work.from + k), (k / n) * work.rampMs));
  const reporter = setInterval(() => parentPort?.postMessage(report), 500);
  parentPort?.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    clearInterval(reporter);
    for (const t of timers) clearTimeout(t);
    for (const ws of sockets) ws.terminate();
    parentPort?.postMessage(report);
    parentPort?.close();
  });
}

if (parentPort && workerData) run(workerData as TAgentsWork);
