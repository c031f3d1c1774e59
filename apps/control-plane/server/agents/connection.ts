/**
 * One agent's WebSocket, as a small state machine:
 *
 *   awaiting_hello --hello ok--> streaming --error/close--> closed
 *         \--bad/unauthorised/timeout--> closed
 *
 * Messages are handled strictly in arrival order (one promise chain per connection). Each snapshot
 * or event is stored at most once (see services/store-agent-message.ts). Snapshots go to the
 * ingest's snapshot batcher (coalesced per member, written in batches), events to its event batcher
 * (written and grouped into incidents in batches), and the chain moves on; a snapshot waits until the
 * member's queued events are written and an event until its queued snapshots are, and an operation
 * message until both are, so the order of seqs in the database is the order on the wire. The server acks the highest stored seq when the queue
 * drains or a batch is written, so bursts get one ack, and a slow database means later acks
 * (the agent holds what is unacknowledged) rather than refused connections. Anything wrong ends in an `error`
 * message naming the problem and a close; nothing of it is stored, and no other connection is
 * touched.
 *
 * Limits, per connection: a token bucket of messages (burst, then a rate per second; an agent that
 * empties it is closed with `rate_limited`, 4429); backpressure (when MAX_PENDING messages wait for
 * the database the socket is paused, so TCP slows the agent down instead of the server buffering or
 * dropping); seq strictly increasing on the connection and above welcome.ackedSeq (a replay is
 * `invalid`); seq and `at` at most maxSkewMs ahead of the server's clock; a snapshot or event that
 * names another cluster or member is `unauthorized` (and audited).
 */
import type { WebSocket } from 'ws';
import {
  AGENT_PROTOCOL_VERSION,
  encodeMessage,
  parseAgentMessage,
  type TAgentEvent,
  type TCommandInput,
  type TOperationProgress,
  type TOperationResult,
  type THello,
  type TServerErrorCode,
  type TServerMessage,
  type TSnapshot,
} from '@keel/protocol';
import { TokenBucket } from '../lib/token-bucket.ts';

export type TConnectionState = 'awaiting_hello' | 'authenticating' | 'streaming' | 'closed';

export interface TAgentIdentity {
  clusterId: string;
  cluster: string;
  memberId: string;
  member: string;
  /** The agent token this connection authenticated with (revoking it closes the connection). */
  tokenId: string;
  tokenPrefix: string;
}

export interface TConnectionLimits {
  /** seq (epoch ms) and `at` may be at most this far ahead of the server's clock. */
  maxSkewMs: number;
  messagesPerSecond: number;
  burstMessages: number;
  /** Server clock (tests). */
  now?: () => number;
}

/** What a connection needs from the ingest (and nothing else). */
export interface TConnectionHost {
  authenticate(hello: THello, remote: string): Promise<{ ok: true; identity: TAgentIdentity; lastSeq: number } | { ok: false; code: TServerErrorCode; message: string }>;
  /** The connection speaks for this member now (the host closes any older one). */
  register(conn: AgentConnection): void;
  unregister(conn: AgentConnection): void;
  /**
   * Queue a snapshot for the next batched write (agents/snapshot-batcher.ts); resolves once it, or a
   * newer snapshot of the same member, is stored (true) or found a duplicate (false). Rejects as a
   * store does (describeStoreError).
   */
  submitSnapshot(id: TAgentIdentity, s: TSnapshot): Promise<boolean>;
  /** Resolves when no snapshot of this member waits to be stored (an event is stored after them). */
  snapshotsSettled(id: TAgentIdentity): Promise<void>;
  /**
   * Queue an event for the next batched write and grouping (agents/event-batcher.ts); resolves once
   * stored (true) or found a duplicate (false). Rejects as a store does (describeStoreError).
   */
  submitEvent(id: TAgentIdentity, e: TAgentEvent): Promise<boolean>;
  /** Resolves when no event of this member waits to be stored (a snapshot is stored after them). */
  eventsSettled(id: TAgentIdentity): Promise<void>;
  /** An operation's progress or result (services/operation-runner.ts records it on the operation). */
  storeOperationMessage(id: TAgentIdentity, m: TOperationProgress | TOperationResult): Promise<void>;
  /** Why storing failed, in words for the agent, and whether it is the database being away. */
  describeStoreError(error: unknown): { code: TServerErrorCode; message: string };
  log(event: string, fields: Record<string, unknown>): void;
  /** Record in the audit log that this authenticated connection tried something its token may not do. */
  auditRefusal(conn: AgentConnection, reason: string): void;
}

const ACK_EVERY = 200;
/** After the hello arrived in time: how much longer the server may take to check it. */
const AUTH_GRACE_MS = 60_000;
const ACK_INTERVAL_MS = 500;
/** Pause reading when this many messages wait for the database; resume at RESUME_PENDING. */
export const MAX_PENDING = 256;
const RESUME_PENDING = 64;

const CLOSE_CODES: Record<TServerErrorCode, number> = {
  unauthorized: 4401,
  malformed: 4400,
  invalid: 4400,
  unsupported_version: 4426,
  too_large: 1009,
  replaced: 4409,
  timeout: 4408,
  shutting_down: 1001,
  internal: 1011,
  rate_limited: 4429,
};

export class AgentConnection {
  state: TConnectionState = 'awaiting_hello';
  identity: TAgentIdentity | null = null;
  /** Highest seq stored for this member (as far as this connection knows). */
  lastSeq = 0;
  private acked = -1;
  /** Messages handled so far, the count at the last ack, and when it was sent. */
  private handled = 0;
  private ackedCount = 0;
  private ackedAt = Date.now();
  private pending = 0;
  private chain: Promise<void> = Promise.resolve();
  private helloTimer: NodeJS.Timeout;
  /** A first frame arrived: the agent said hello in time, however long checking it takes us. */
  private helloReceived = false;
  private readonly bucket: TokenBucket;
  private readonly now: () => number;
  /** Highest seq received on this connection (welcome.ackedSeq to start with). */
  private receivedSeq = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly host: TConnectionHost,
    readonly remote: string,
    helloTimeoutMs: number,
    private readonly limits: TConnectionLimits,
  ) {
    this.now = limits.now ?? Date.now;
    this.bucket = new TokenBucket(limits.messagesPerSecond, limits.burstMessages, this.now);
    this.helloTimer = setTimeout(() => {
      if (this.state !== 'awaiting_hello' && this.state !== 'authenticating') return;
      if (!this.helloReceived) return this.fail('timeout', `no hello within ${Math.round(helloTimeoutMs / 1000)} seconds`);
      // the agent was on time; a loaded server (a reconnect storm) is given longer to check the
      // token rather than refusing agents for its own slowness
      this.helloTimer = setTimeout(() => {
        if (this.state === 'awaiting_hello' || this.state === 'authenticating') this.fail('internal', `the control plane could not check the hello within ${Math.round((helloTimeoutMs + AUTH_GRACE_MS) / 1000)} seconds; reconnect later`);
      }, AUTH_GRACE_MS);
      this.helloTimer.unref();
    }, helloTimeoutMs);
    this.helloTimer.unref();
    ws.on('message', (data, isBinary) => {
      this.helloReceived = true;
      const raw = isBinary || typeof data !== 'string' ? Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8') : data;
      if (this.state === 'closed') return;
      if (!this.bucket.take()) {
        this.fail('rate_limited', `more than ${limits.burstMessages} messages at once or ${limits.messagesPerSecond} a second sustained on one connection; reconnect and send slower`);
        return;
      }
      this.pending++;
      // backpressure: stop reading while the database is behind (TCP then slows the agent down)
      if (this.pending >= MAX_PENDING && !ws.isPaused) ws.pause();
      this.chain = this.chain.then(() => this.handle(raw)).finally(() => {
        this.pending--;
        if (this.pending <= RESUME_PENDING && ws.isPaused && this.state !== 'closed') ws.resume();
        this.handled++;
        // ack when the queue drains, and during a long replay at least every ACK_EVERY messages
        // or ACK_INTERVAL_MS, so the agent can free its buffer as it goes
        if (this.pending === 0 || this.handled - this.ackedCount >= ACK_EVERY || Date.now() - this.ackedAt >= ACK_INTERVAL_MS) this.flushAck();
      });
    });
    ws.on('close', () => this.closed());
    ws.on('error', (err) => {
      // e.g. a frame above maxPayload: ws closes the socket itself (1009)
      host.log('agent_socket_error', { remote, error: err.message, ...this.who() });
    });
  }

  private who(): Record<string, unknown> {
    return this.identity ? { cluster: this.identity.cluster, member: this.identity.member } : {};
  }

  private send(msg: TServerMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeMessage(msg));
  }

  /** Send an operation to this agent; false when the connection is not streaming (nothing was sent). */
  sendCommand(command: TCommandInput): boolean {
    if (this.state !== 'streaming' || this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(JSON.stringify({ type: 'command', command }));
    return true;
  }

  /** Send an error naming the problem, then close. */
  fail(code: TServerErrorCode, message: string): void {
    if (this.state === 'closed') return;
    this.host.log('agent_refused', { remote: this.remote, code, message, ...this.who() });
    this.send({ type: 'error', code, message });
    this.state = 'closed';
    clearTimeout(this.helloTimer);
    // a close reason is at most 123 bytes of UTF-8
    this.ws.close(CLOSE_CODES[code], closeReason(message));
    // a peer that does not answer the close handshake is cut off
    setTimeout(() => this.ws.terminate(), 5000).unref();
    this.host.unregister(this);
  }

  private closed(): void {
    clearTimeout(this.helloTimer);
    this.state = 'closed';
    this.host.unregister(this);
  }

  private flushAck(): void {
    if (this.state !== 'streaming' || this.lastSeq === this.acked) return;
    this.acked = this.lastSeq;
    this.ackedCount = this.handled;
    this.ackedAt = Date.now();
    this.send({ type: 'ack', seq: this.lastSeq });
  }

  private async handle(raw: string): Promise<void> {
    if (this.state === 'closed') return;
    const parsed = parseAgentMessage(raw);
    if (!parsed.ok) return this.fail(parsed.code, parsed.error);
    const msg = parsed.message;

    if (this.state === 'awaiting_hello') {
      if (msg.type !== 'hello') return this.fail('invalid', `the first message must be hello, got ${msg.type}`);
      this.state = 'authenticating';
      const auth = await this.host.authenticate(msg, this.remote);
      if ((this.state as TConnectionState) === 'closed') return;
      if (!auth.ok) return this.fail(auth.code, auth.message);
      clearTimeout(this.helloTimer);
      this.identity = auth.identity;
      this.lastSeq = auth.lastSeq;
      this.receivedSeq = auth.lastSeq;
      this.state = 'streaming';
      this.host.register(this);
      this.send({ type: 'welcome', v: AGENT_PROTOCOL_VERSION, ackedSeq: auth.lastSeq });
      this.acked = auth.lastSeq;
      return;
    }

    const id = this.identity;
    if (this.state !== 'streaming' || !id) return;
    switch (msg.type) {
      case 'hello':
        return this.fail('invalid', 'hello was already received on this connection');
      case 'operation_progress':
      case 'operation_result':
      case 'snapshot':
      case 'event': {
        const problem = this.checkSequenced(msg, id);
        if (problem) {
          if (problem.code === 'unauthorized') this.host.auditRefusal(this, problem.message);
          return this.fail(problem.code, problem.message);
        }
        this.receivedSeq = msg.seq;
        if (msg.type === 'snapshot' || msg.type === 'event') {
          // batched: the chain goes on at once, the ack follows the write (lazily). Snapshots and
          // events have a batcher each: before one of them is queued, what the member queued in the
          // other is written first, so the database takes seqs in wire order (a higher seq stored
          // first would make the lower one a duplicate).
          try {
            if (msg.type === 'snapshot') await this.host.eventsSettled(id);
            else await this.host.snapshotsSettled(id);
          } catch (e) {
            const { code, message } = this.host.describeStoreError(e);
            return this.fail(code, `${msg.type} seq ${msg.seq} was not stored: ${message}`);
          }
          if ((this.state as TConnectionState) === 'closed') return;
          (msg.type === 'snapshot' ? this.host.submitSnapshot(id, msg) : this.host.submitEvent(id, msg)).then(
            () => {
              this.lastSeq = Math.max(this.lastSeq, msg.seq);
              if (this.pending === 0) this.flushAck();
            },
            (e: unknown) => {
              const { code, message } = this.host.describeStoreError(e);
              this.fail(code, `${msg.type} seq ${msg.seq} was not stored: ${message}`);
            },
          );
          return;
        }
        try {
          // operation messages are stored one by one, after this member's queued snapshots and events
          await this.host.snapshotsSettled(id);
          await this.host.eventsSettled(id);
          if ((this.state as TConnectionState) === 'closed') return;
          await this.host.storeOperationMessage(id, msg);
        } catch (e) {
          const { code, message } = this.host.describeStoreError(e);
          return this.fail(code, `${msg.type} seq ${msg.seq} was not stored: ${message}`);
        }
        // stored now, or stored already by an earlier connection of the same member
        this.lastSeq = Math.max(this.lastSeq, msg.seq);
        return;
      }
    }
  }

  /** Why a snapshot or event may not be stored, or null. */
  private checkSequenced(msg: { type: string; seq: number; at: string; cluster?: string; member?: string }, id: TAgentIdentity): { code: TServerErrorCode; message: string } | null {
    const what = `${msg.type} seq ${msg.seq}`;
    if (msg.cluster !== undefined && msg.cluster !== id.cluster) {
      return { code: 'unauthorized', message: `${what} names cluster "${msg.cluster}", but this connection speaks for "${id.cluster}"` };
    }
    if (msg.member !== undefined && msg.member !== id.member) {
      return { code: 'unauthorized', message: `${what} names member "${msg.member}", but this connection speaks for "${id.member}" of "${id.cluster}"` };
    }
    if (msg.seq <= this.receivedSeq) {
      return { code: 'invalid', message: `${what} is not above ${this.receivedSeq} (the previous seq on this connection, or what was already stored): sequence numbers must increase` };
    }
    const now = this.now();
    const skew = this.limits.maxSkewMs;
    if (msg.seq > now + skew) {
      return { code: 'invalid', message: `${what} is ${Math.round((msg.seq - now) / 1000)} s ahead of the control plane's clock (seq counts epoch milliseconds; allowed skew ${skew / 1000} s): check the agent host's clock` };
    }
    const at = Date.parse(msg.at);
    if (at > now + skew) {
      return { code: 'invalid', message: `${what}: at ${msg.at} is ${Math.round((at - now) / 1000)} s ahead of the control plane's clock (allowed skew ${skew / 1000} s): check the agent host's clock` };
    }
    return null;
  }
}

/** A WebSocket close reason: at most 123 bytes of UTF-8, cut at a character boundary. */
export function closeReason(message: string): string {
  let out = message.slice(0, 123);
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
