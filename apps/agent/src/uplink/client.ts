import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import {
  AGENT_PROTOCOL_VERSION,
  MAX_MESSAGE_BYTES,
  encodeMessage,
  parseServerMessage,
  type TAgentMessage,
  type TCommand,
  type TServerErrorCode,
  type TServerMessage,
} from '@keel/protocol';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.ts';
import { DEFAULT_BUFFER_LIMITS, OutboundBuffer, RejectedMessageError, type BufferLimits, type BufferStats } from './buffer.ts';
import type { TEventBody } from './events.ts';
import type { TSnapshotBody } from './snapshot.ts';
import { readCommandHeader, refusal, type TOperationBody } from './commands.ts';

/**
 * The connection's lifecycle:
 *   idle -> connecting -> handshaking (hello sent) -> streaming (welcome received)
 *   any -> backoff (closed or failed; a timer leads back to connecting) ; any -> stopped (stop()).
 */
export type UplinkState = 'idle' | 'connecting' | 'handshaking' | 'streaming' | 'backoff' | 'stopped';

/** The logger surface the client uses (pino's). Nothing logged ever contains the token. */
export interface UplinkLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface UplinkClientOptions {
  /** ws:// or wss:// URL (agentSocketUrl(controlplane.url)). */
  url: string;
  token: string;
  cluster: string;
  member: string;
  agentVersion: string;
  log: UplinkLog;
  now?: () => number;
  random?: () => number;
  backoff?: BackoffPolicy;
  limits?: BufferLimits;
  /** From opening the TCP connection to the welcome. */
  handshakeTimeoutMs?: number;
  /** A ping every this often; a connection that did not answer the previous one is dropped. */
  heartbeatMs?: number;
  /** A `command` from the control plane (parsed); must not throw or wait. Absent: commands are refused. */
  onCommand?: (command: TCommand) => void;
}

export interface UplinkStats extends BufferStats {
  state: UplinkState;
  connects: number;
  /** Consecutive failed attempts since the last acknowledged message. */
  attempt: number;
  lastError: string | null;
}

/** Errors that a retry in half a second will not fix: wait the longest backoff. */
const PERSISTENT: ReadonlySet<TServerErrorCode> = new Set(['unauthorized', 'unsupported_version', 'replaced']);

/** Stop writing to the socket above this many unsent bytes; continue when a send completes. */
const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * The agent's WebSocket client for the control plane. enqueue() is synchronous and never throws, so
 * the HA loop hands messages over and moves on; everything else happens on the event loop: connect,
 * hello, replay after the welcome, acknowledgements, reconnect with backoff and jitter.
 */
export class UplinkClient {
  private state: UplinkState = 'idle';
  private ws: WebSocket | null = null;
  private readonly buffer: OutboundBuffer;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly incarnation = randomUUID();
  private attempt = 0;
  private connects = 0;
  private failuresLogged = 0;
  private lastError: string | null = null;
  /** Highest seq written to the current connection. */
  private sentSeq = 0;
  private waitingForSend = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private alive = true;
  private drained: (() => void) | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly opts: UplinkClientOptions) {
    this.buffer = new OutboundBuffer(opts.limits ?? DEFAULT_BUFFER_LIMITS);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  /** Hand a message over. Never throws and never waits: the HA loop must not notice this link. */
  enqueue(body: TSnapshotBody | TEventBody | TOperationBody): void {
    if (this.state === 'stopped') return;
    try {
      this.buffer.push(body, this.now());
      if (this.state === 'streaming') this.pump();
    } catch (e) {
      const msg = e instanceof RejectedMessageError ? e.message : `could not send a ${body.type}: ${(e as Error).message}`;
      this.opts.log.warn({ controlplane: this.opts.url }, msg);
    }
  }

  stats(): UplinkStats {
    return { ...this.buffer.stats(), state: this.state, connects: this.connects, attempt: this.attempt, lastError: this.lastError };
  }

  get currentState(): UplinkState {
    return this.state;
  }

  /**
   * Stop for good. When streaming, first wait up to `flushMs` for the server to acknowledge what is
   * buffered (the last events of a shutdown), then close.
   */
  stop(flushMs = 1000): Promise<void> {
    this.stopping ??= this.shutdown(flushMs);
    return this.stopping;
  }

  private async shutdown(flushMs: number): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.state === 'streaming' && this.buffer.size > 0 && flushMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, flushMs);
        const self = this; // eslint-disable-line @typescript-eslint/no-this-alias
        function done() {
          clearTimeout(t);
          self.drained = null;
          resolve();
        }
        this.drained = done;
      });
    }
    this.state = 'stopped';
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        t.unref();
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000, 'agent stopping');
      });
    }
  }

  private connect(): void {
    this.state = 'connecting';
    this.sentSeq = 0;
    this.waitingForSend = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url, { maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: this.handshakeTimeoutMs() });
    } catch (e) {
      this.failed(`cannot connect: ${(e as Error).message}`);
      return;
    }
    this.ws = ws;
    this.alive = true;
    this.handshakeTimer = setTimeout(() => {
      if (this.ws === ws) this.dropConnection(ws, 'no welcome from the control plane in time');
    }, this.handshakeTimeoutMs());
    this.handshakeTimer.unref();

    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.state = 'handshaking';
      const { dropped } = this.dropCounts();
      this.send(ws, {
        type: 'hello',
        v: AGENT_PROTOCOL_VERSION,
        token: this.opts.token,
        cluster: this.opts.cluster,
        member: this.opts.member,
        agentVersion: this.opts.agentVersion,
        incarnation: this.incarnation,
        ...(this.buffer.firstSeq !== null ? { resumeFrom: this.buffer.firstSeq } : {}),
        dropped,
      });
    });
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws) return;
      this.alive = true;
      const text = isBinary ? null : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString();
      if (text === null) {
        this.dropConnection(ws, 'the control plane sent a binary frame');
        return;
      }
      const parsed = parseServerMessage(text);
      if (!parsed.ok && this.state === 'streaming') {
        // A command we cannot read is refused on its own; the connection stays up.
        const header = readCommandHeader(text);
        if (header) {
          this.refuseCommand(header, `the command was refused: ${parsed.error}`);
          return;
        }
      }
      if (!parsed.ok) {
        this.dropConnection(ws, `the control plane sent an unreadable message: ${parsed.error}`);
        return;
      }
      this.onServerMessage(ws, parsed.message);
    });
    ws.on('pong', () => {
      if (this.ws === ws) this.alive = true;
    });
    let socketError: string | null = null;
    ws.on('error', (e) => {
      socketError = e.message;
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.failed(socketError ?? `connection closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`);
    });
  }

  private onServerMessage(ws: WebSocket, m: TServerMessage): void {
    switch (m.type) {
      case 'welcome': {
        if (this.state !== 'handshaking') {
          this.dropConnection(ws, 'the control plane sent a second welcome');
          return;
        }
        if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
        this.handshakeTimer = null;
        const { renumbered } = this.buffer.welcome(m.ackedSeq);
        this.state = 'streaming';
        this.connects++;
        this.lastError = null;
        this.opts.log.info(
          { controlplane: this.opts.url, ackedSeq: m.ackedSeq, replaying: this.buffer.size, ...(renumbered ? { renumbered } : {}) },
          'connected to the control plane',
        );
        this.failuresLogged = 0;
        this.startHeartbeat(ws);
        this.pump();
        return;
      }
      case 'ack': {
        this.buffer.ack(m.seq);
        this.attempt = 0; // the server stores what we send: the link is healthy
        if (this.buffer.size === 0) this.drained?.();
        return;
      }
      case 'error': {
        if (PERSISTENT.has(m.code)) this.attempt = Math.max(this.attempt, 30);
        this.dropConnection(ws, `control plane refused: ${m.code}: ${m.message}`);
        return;
      }
      case 'command': {
        if (this.state !== 'streaming') {
          this.dropConnection(ws, 'the control plane sent a command before the welcome');
          return;
        }
        if (this.opts.onCommand) this.opts.onCommand(m.command);
        else this.refuseCommand({ id: m.command.id, op: m.command.op }, `commands are not enabled on keel-agent ${this.opts.agentVersion}`);
        return;
      }
    }
  }

  /** Answer a command that will not run with its operation_result (failed, invalid), sequenced like any result. */
  private refuseCommand(header: { id: string; op: string | null }, message: string): void {
    this.opts.log.warn({ controlplane: this.opts.url, operation: header.id }, message);
    this.enqueue(refusal(header, message, new Date(this.now()).toISOString()));
  }

  /** Write what the current connection has not sent yet, in order, while the socket keeps up. */
  private pump(): void {
    const ws = this.ws;
    if (!ws || this.state !== 'streaming' || ws.readyState !== WebSocket.OPEN || this.waitingForSend) return;
    for (const e of this.buffer.after(this.sentSeq)) {
      if (ws.bufferedAmount > HIGH_WATER_BYTES) {
        this.waitingForSend = true; // a pending send's callback resumes the pump
        return;
      }
      this.sentSeq = e.seq;
      ws.send(e.json, (err) => {
        if (err || this.ws !== ws || !this.waitingForSend) return;
        this.waitingForSend = false;
        this.pump();
      });
    }
  }

  private send(ws: WebSocket, message: TAgentMessage): void {
    ws.send(encodeMessage(message), () => undefined);
  }

  private startHeartbeat(ws: WebSocket): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (this.ws !== ws) return;
      if (!this.alive) {
        this.dropConnection(ws, 'the control plane did not answer a ping');
        return;
      }
      this.alive = false;
      ws.ping();
    }, this.opts.heartbeatMs ?? 15_000);
    this.heartbeatTimer.unref();
  }

  private dropConnection(ws: WebSocket, why: string): void {
    if (this.ws !== ws) return;
    ws.terminate();
    this.failed(why);
  }

  /** The connection is gone (or never came up): log it and try again after a backoff. */
  private failed(why: string): void {
    if (this.state === 'stopped') return;
    this.lastError = why;
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState !== WebSocket.CLOSED) ws.terminate();
    this.clearTimers();
    const delay = backoffDelay(this.attempt, this.random(), this.opts.backoff ?? DEFAULT_BACKOFF);
    this.attempt++;
    this.state = 'backoff';
    this.failuresLogged++;
    const fields = { controlplane: this.opts.url, retryInMs: delay, attempt: this.attempt, buffered: this.buffer.size };
    // The first failure in a row and every tenth after it at warn; the rest at debug.
    if (this.failuresLogged === 1 || this.failuresLogged % 10 === 0) this.opts.log.warn(fields, `control plane link down: ${why}`);
    else this.opts.log.debug(fields, `control plane link down: ${why}`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state === 'backoff') this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.retryTimer = this.handshakeTimer = this.heartbeatTimer = null;
  }

  private handshakeTimeoutMs(): number {
    return this.opts.handshakeTimeoutMs ?? 10_000;
  }

  private dropCounts(): { dropped: { snapshots: number; events: number } } {
    const s = this.buffer.stats();
    return { dropped: { snapshots: s.droppedSnapshots, events: s.droppedEvents } };
  }
}
