import { AgentEvents } from '../src/agent-events.ts';
import net from 'node:net';
import type { Observation } from '@keel/ha-core';
import pino from 'pino';
import { freePort, waitFor } from '@keel/testkit';
import { parseAgentMessage, type TAgentMessage, type THello, type TSequencedMessage, type TServerErrorCode } from '@keel/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Runtime } from '../src/runtime.ts';
import { UplinkClient, type UplinkClientOptions } from '../src/uplink/client.ts';
import { startUplink } from '../src/uplink/index.ts';
import type { TEventBody } from '../src/uplink/events.ts';
import type { TSnapshotBody } from '../src/uplink/snapshot.ts';
import { T0, aReplicaSnapshot, cluster, decision, observation, settings } from './uplink-builders.ts';

/**
 * The uplink client against a small in-test control plane on real sockets. The fake server keeps its
 * store (per-member last seq and stored messages) across restarts, like the real one's database.
 */

const TOKEN = 'kt_SECRET_never_in_logs_4242';

interface Store {
  lastSeq: number;
  stored: TSequencedMessage[];
  /** Every sequenced frame that arrived, duplicates included. */
  received: number[];
  hellos: THello[];
  other: TAgentMessage[];
}

interface Behaviour {
  /** Answer hello with this error (then close). */
  refuse?: TServerErrorCode | ((n: number) => TServerErrorCode | null);
  /** Do not acknowledge (the agent keeps everything buffered). */
  withholdAcks?: boolean;
  /** After this many stored messages, stop (cut every connection, stop listening) without acknowledging. */
  crashAfter?: number;
}

class FakeControlPlane {
  private wss: WebSocketServer | null = null;
  readonly sockets = new Set<WebSocket>();
  connections = 0;
  connectTimes: number[] = [];
  private crashed = false;

  constructor(
    readonly port: number,
    readonly store: Store = { lastSeq: 0, stored: [], received: [], hellos: [], other: [] },
    public behaviour: Behaviour = {},
  ) {}

  async start(): Promise<this> {
    this.wss = new WebSocketServer({ port: this.port, host: '127.0.0.1', path: '/agents/ws' });
    await new Promise<void>((resolve) => this.wss!.once('listening', resolve));
    this.wss.on('connection', (ws) => this.accept(ws));
    return this;
  }

  /** Stop like a crashed server: connections are cut, nothing more is acknowledged. */
  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    this.wss = null;
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    this.connections++;
    this.connectTimes.push(Date.now());
    const n = this.connections;
    let welcomed = false;
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      if (this.crashed) return; // frames already read from the socket when it "crashed"
      const parsed = parseAgentMessage(data.toString());
      if (!parsed.ok) {
        ws.send(JSON.stringify({ type: 'error', code: parsed.code, message: parsed.error }));
        ws.close();
        return;
      }
      const m = parsed.message;
      if (m.type === 'hello') {
        this.store.hellos.push(m);
        const refuse = typeof this.behaviour.refuse === 'function' ? this.behaviour.refuse(n) : this.behaviour.refuse;
        if (m.token !== TOKEN || refuse) {
          ws.send(JSON.stringify({ type: 'error', code: refuse ?? 'unauthorized', message: 'refused by the test server' }));
          ws.close();
          return;
        }
        welcomed = true;
        ws.send(JSON.stringify({ type: 'welcome', v: 1, ackedSeq: this.store.lastSeq }));
        return;
      }
      if (!welcomed) throw new Error('sequenced message before welcome');
      this.store.received.push(m.seq);
      if (m.seq > this.store.lastSeq) {
        this.store.stored.push(m);
        this.store.lastSeq = m.seq;
      }
      if (this.behaviour.crashAfter !== undefined && this.store.stored.length >= this.behaviour.crashAfter) {
        this.crashed = true;
        void this.stop();
        return;
      }
      if (!this.behaviour.withholdAcks) ws.send(JSON.stringify({ type: 'ack', seq: m.seq }));
    });
  }

  send(m: object): void {
    for (const ws of this.sockets) ws.send(JSON.stringify(m));
  }
}

const SNAPSHOT: TSnapshotBody = aReplicaSnapshot();

function event(n: number): TEventBody {
  return { type: 'event', at: new Date(T0).toISOString(), event: 'dcs_back', summary: `event ${n}`, details: { unreachableSeconds: n } };
}

const logLines: string[] = [];
const log = {
  debug: (obj: object, msg: string) => void logLines.push(JSON.stringify({ level: 'debug', ...obj, msg })),
  info: (obj: object, msg: string) => void logLines.push(JSON.stringify({ level: 'info', ...obj, msg })),
  warn: (obj: object, msg: string) => void logLines.push(JSON.stringify({ level: 'warn', ...obj, msg })),
};

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  // Whatever happened in the test, the token never reached a log line.
  expect(logLines.join('\n')).not.toContain(TOKEN);
  logLines.length = 0;
});

function client(port: number, over: Partial<UplinkClientOptions> = {}): UplinkClient {
  let clock = T0;
  const c = new UplinkClient({
    url: `ws://127.0.0.1:${port}/agents/ws`,
    token: TOKEN,
    cluster: 'demo',
    member: 'pg1',
    agentVersion: '0.1.0',
    log,
    now: () => clock++,
    backoff: { initialMs: 40, maxMs: 200 },
    ...over,
  });
  cleanup.push(() => c.stop(0));
  return c;
}

async function server(port: number, store?: Store, behaviour?: Behaviour): Promise<FakeControlPlane> {
  const s = await new FakeControlPlane(port, store, behaviour).start();
  cleanup.push(() => s.stop());
  return s;
}

const within = (timeoutMs: number, message: string) => ({ timeoutMs, intervalMs: 10, message });

describe('UplinkClient against a control plane on real sockets', () => {
  it('says hello with the token, streams snapshots and events in order, and empties its buffer on acks', async () => {
    const port = await freePort();
    const cp = await server(port);
    const c = client(port);
    c.start();
    await waitFor(() => c.currentState === 'streaming', within(5000, 'streaming'));
    c.enqueue(event(1));
    c.enqueue(SNAPSHOT);
    c.enqueue(event(2));
    await waitFor(() => cp.store.stored.length === 3 && c.stats().messages === 0, within(5000, 'three stored and acknowledged'));
    expect(cp.store.hellos[0]).toMatchObject({ type: 'hello', v: 1, token: TOKEN, cluster: 'demo', member: 'pg1', agentVersion: '0.1.0' });
    expect(cp.store.stored.map((m) => (m.type === 'event' ? m.summary : m.type))).toEqual(['event 1', 'snapshot', 'event 2']);
    expect(cp.store.received).toEqual([...cp.store.received].sort((a, b) => a - b));
  });

  it('buffers while the control plane is down and replays everything in order once it is up', async () => {
    const port = await freePort();
    const c = client(port);
    c.start();
    for (let i = 0; i < 20; i++) c.enqueue(i % 4 === 0 ? event(i) : SNAPSHOT);
    await waitFor(() => c.stats().attempt >= 2, within(5000, 'a few failed attempts'));
    expect(c.stats()).toMatchObject({ messages: 20, state: expect.stringMatching(/backoff|connecting/) });

    const cp = await server(port);
    await waitFor(() => cp.store.stored.length === 20 && c.stats().messages === 0, within(5000, 'all 20 replayed'));
    expect(cp.store.received).toEqual(cp.store.stored.map((m) => m.seq));
    expect(cp.store.hellos[0]!.resumeFrom).toBe(cp.store.stored[0]!.seq);
    expect(logLines.some((l) => l.includes('"level":"warn"') && l.includes('control plane link down'))).toBe(true);
    expect(logLines.some((l) => l.includes('connected to the control plane'))).toBe(true);
  });

  it('after a control-plane crash and restart, sends only what the server had not stored: no duplicates, nothing lost', async () => {
    const port = await freePort();
    const store: Store = { lastSeq: 0, stored: [], received: [], hellos: [], other: [] };
    await server(port, store, { withholdAcks: true, crashAfter: 6 });
    const c = client(port);
    c.start();
    await waitFor(() => c.currentState === 'streaming', within(5000, 'streaming'));
    for (let i = 0; i < 10; i++) c.enqueue(i === 3 ? event(i) : SNAPSHOT);
    // The server stored 6 without acknowledging any of them, then crashed.
    await waitFor(() => c.stats().attempt >= 2, within(5000, 'the server crashed after 6'));
    expect(store.stored).toHaveLength(6);
    expect(c.stats().messages).toBe(10); // nothing was acknowledged: all still held

    const second = await server(port, store);
    await waitFor(() => store.stored.length === 10 && c.stats().messages === 0, within(5000, 'the other 4 replayed'));
    expect(second.connections).toBeGreaterThanOrEqual(1);
    // The welcome said ackedSeq = 6th seq: the agent resent exactly the 4 after it.
    const seqs = store.stored.map((m) => m.seq);
    expect(new Set(store.received).size).toBe(store.received.length);
    expect(store.received).toEqual(seqs);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('when its buffer overflows during an outage it drops the oldest snapshots, keeps the events, and says so in hello', async () => {
    const port = await freePort();
    const c = client(port, { limits: { maxMessages: 6, maxBytes: 1e9 } });
    c.start();
    for (let i = 0; i < 3; i++) c.enqueue(event(i));
    for (let i = 0; i < 10; i++) c.enqueue({ ...SNAPSHOT, at: new Date(T0 + i * 1000).toISOString() });
    expect(c.stats()).toMatchObject({ messages: 6, droppedSnapshots: 7, droppedEvents: 0 });

    const cp = await server(port);
    await waitFor(() => cp.store.stored.length === 6, within(5000, 'six delivered'));
    expect(cp.store.stored.filter((m) => m.type === 'event').map((m) => (m as { summary: string }).summary)).toEqual(['event 0', 'event 1', 'event 2']);
    // The newest snapshots survived.
    expect(cp.store.stored.filter((m) => m.type === 'snapshot').map((m) => m.at)).toEqual([7, 8, 9].map((i) => new Date(T0 + i * 1000).toISOString()));
    expect(cp.store.hellos.at(-1)!.dropped).toEqual({ snapshots: 7, events: 0 });
  });

  it('on a server error reconnects with growing backoff, and stores nothing twice once accepted', async () => {
    const port = await freePort();
    const cp = await server(port, undefined, { refuse: (n) => (n <= 3 ? 'internal' : null) });
    const c = client(port, { random: () => 0, backoff: { initialMs: 100, maxMs: 1000 } });
    c.start();
    c.enqueue(event(1));
    await waitFor(() => cp.store.stored.length === 1, within(5000, 'accepted on the 4th connection'));
    expect(cp.connections).toBe(4);
    const gaps = cp.connectTimes.slice(1).map((t, i) => t - cp.connectTimes[i]!);
    // Delays 50, 100, 200 ms (half of 100 * 2^attempt with random() = 0): each at least its delay.
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeGreaterThanOrEqual(195);
    expect(logLines.some((l) => l.includes('control plane refused: internal'))).toBe(true);
  });

  it('an unauthorized agent waits the longest backoff before trying again', async () => {
    const port = await freePort();
    const cp = await server(port, undefined, { refuse: 'unauthorized' });
    const c = client(port, { random: () => 0, backoff: { initialMs: 20, maxMs: 600 } });
    c.start();
    await waitFor(() => cp.connections === 2, within(5000, 'a second attempt'));
    expect(cp.connectTimes[1]! - cp.connectTimes[0]!).toBeGreaterThanOrEqual(290); // maxMs / 2 with random() = 0
    expect(c.stats().lastError).toMatch(/unauthorized/);
  });

  it('drops a connection on an unreadable server message and reconnects', async () => {
    const port = await freePort();
    const cp = await server(port);
    const c = client(port);
    c.start();
    await waitFor(() => c.currentState === 'streaming', within(5000, 'streaming'));
    cp.send({ type: 'ack', seq: 'soon' });
    await waitFor(() => cp.connections === 2 && c.currentState === 'streaming', within(5000, 'reconnected'));
    expect(logLines.some((l) => l.includes('unreadable message') && l.includes('seq'))).toBe(true);
  });

  it('gives up on a server that accepts TCP but never answers, and retries', async () => {
    const port = await freePort();
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    cleanup.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const c = client(port, { handshakeTimeoutMs: 150 });
    c.start();
    await waitFor(() => sockets.length >= 2, within(5000, 'a second attempt after the handshake timeout'));
    expect(c.stats().lastError ?? logLines.join('\n')).toMatch(/time|welcome/i);
  });

  it('drops a connection whose server stopped answering pings', async () => {
    const port = await freePort();
    const cp = await server(port);
    const c = client(port, { heartbeatMs: 100 });
    c.start();
    await waitFor(() => c.currentState === 'streaming', within(5000, 'streaming'));
    // Freeze the server side of the connection: no pong, no acks.
    for (const ws of cp.sockets) (ws as unknown as { _socket: net.Socket })._socket.pause();
    await waitFor(() => cp.connections >= 2, within(5000, 'reconnected after a missed pong'));
    expect(logLines.some((l) => l.includes('did not answer a ping'))).toBe(true);
  });

  it('refuses a command with a sequenced operation_result when no handler is installed, and an unreadable one by id', async () => {
    const port = await freePort();
    const cp = await server(port);
    const c = client(port);
    c.start();
    await waitFor(() => c.currentState === 'streaming', within(5000, 'streaming'));
    cp.send({ type: 'command', command: { id: 'op-7', op: 'reload' } });
    cp.send({ type: 'command', command: { id: 'op-8', op: 'restart', request: { role: 'leader' } } });
    await waitFor(() => cp.store.stored.filter((m) => m.type === 'operation_result').length === 2, within(5000, 'two operation results'));
    const results = cp.store.stored.filter((m) => m.type === 'operation_result');
    expect(results[0]).toMatchObject({ operationId: 'op-7', op: 'reload', outcome: 'failed', code: 'invalid', message: 'commands are not enabled on keel-agent 0.1.0' });
    expect(results[1]).toMatchObject({ operationId: 'op-8', op: 'restart', outcome: 'failed', code: 'invalid', httpStatus: 400 });
    expect((results[1] as { message: string }).message).toMatch(/role/);
    expect(c.currentState).toBe('streaming'); // a bad command does not cost the connection
  });

  it('enqueue never waits, even with the control plane away', async () => {
    const port = await freePort();
    const c = client(port);
    c.start();
    const started = performance.now();
    for (let i = 0; i < 2000; i++) c.enqueue(SNAPSHOT);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(c.stats().messages).toBe(2000);
  });

  it('stop() lets the server acknowledge what is buffered, then closes', async () => {
    const port = await freePort();
    const cp = await server(port);
    const c = client(port);
    c.start();
    await waitFor(() => c.currentState === 'streaming', within(5000, 'streaming'));
    c.enqueue(event(99));
    await c.stop(2000);
    expect(cp.store.stored.map((m) => (m as { summary?: string }).summary)).toEqual(['event 99']);
    expect(c.currentState).toBe('stopped');
    await waitFor(() => cp.sockets.size === 0, within(2000, 'connection closed'));
  });
});

describe('startUplink (the hook the HA loop calls)', () => {
  function fakeRuntime(port: number | null, lines: string[]): Runtime {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const c = cluster();
    return {
      config: {
        scope: 'demo',
        name: 'pg1',
        tags: {},
        postgresql: { connect_address: { host: '127.0.0.1', port: 5432 } },
        ...(port === null ? {} : { controlplane: { url: `http://127.0.0.1:${port}`, token: TOKEN } }),
      },
      log: logger,
      memory: { inFlight: null, lastFailure: null, pgDownSince: null, following: 'pg0', formerPrimary: false },
      settings: settings(),
      lastCluster: c,
      lastObservation: observation({ cluster: c }),
      lastProbe: {
        running: true,
        role: 'replica',
        timeline: 2,
        lsn: 100 * 1024 * 1024,
        receiveLsn: 100 * 1024 * 1024,
        replayLsn: 100 * 1024 * 1024,
        replayedTimestamp: null,
        replayPaused: false,
        streaming: true,
        pendingRestart: [],
      },
      lastDecision: null,
      lastLoopAt: T0,
      dcsLastSeen: Math.floor(T0 / 1000),
      events: new AgentEvents(),
    } as unknown as Runtime;
  }

  it('sends events, then the snapshot, of each loop iteration; the token is in no log line', async () => {
    const port = await freePort();
    const cp = await server(port);
    const lines: string[] = [];
    const rt = fakeRuntime(port, lines);
    const uplink = startUplink(rt, { client: { backoff: { initialMs: 40, maxMs: 200 } } });
    cleanup.push(() => uplink.stop());
    uplink.onTick(rt.lastObservation!, decision('replica_ok'));
    // Next iteration: the DCS is gone.
    const gone = observation({ dcsError: 'deadline exceeded' });
    rt.lastObservation = gone;
    uplink.onTick(gone, decision('dcs_unreachable'));
    await waitFor(() => cp.store.stored.length === 3, within(5000, 'two snapshots and an event'));
    expect(cp.store.stored.map((m) => (m.type === 'event' ? m.event : m.type))).toEqual(['snapshot', 'dcs_unreachable', 'snapshot']);
    expect(cp.store.stored[2]).toMatchObject({ dcsOk: false, lastDecision: { verdict: 'dcs_unreachable' } });
    expect(cp.store.stored[0]).toMatchObject({ connectAddress: '127.0.0.1:5432', follows: null });
    await uplink.stop();
    expect(lines.some((l) => l.includes('connected to the control plane'))).toBe(true);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('is a no-op without a controlplane section, and onTick never throws', async () => {
    const lines: string[] = [];
    const none = startUplink(fakeRuntime(null, lines));
    expect(none.stats()).toBeNull();
    none.onTick(observation(), decision());

    const port = await freePort();
    const rt = fakeRuntime(port, lines);
    const uplink = startUplink(rt);
    cleanup.push(() => uplink.stop());
    expect(() => uplink.onTick(null as unknown as Observation, decision())).not.toThrow();
    expect(lines.some((l) => l.includes('could not build the control-plane snapshot'))).toBe(true);
  });
});
