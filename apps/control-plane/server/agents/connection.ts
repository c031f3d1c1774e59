/**
 * One agent's WebSocket, as a small state machine:
 *
 *   awaiting_hello --hello ok--> streaming --error/close--> closed
 *         \--bad/unauthorised/timeout--> closed
 *
 * Messages are handled strictly in arrival order (one promise chain per connection). Each snapshot
 * or event is stored at most once (see services/store-agent-message.ts); when the queue drains the
 * server acks the highest stored seq, so bursts get one ack. Anything wrong ends in an `error`
 * message naming the problem and a close; nothing of it is stored, and no other connection is
 * touched.
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

export type TConnectionState = 'awaiting_hello' | 'authenticating' | 'streaming' | 'closed';

export interface TAgentIdentity {
  clusterId: string;
  cluster: string;
  memberId: string;
  member: string;
  /** The agent token this connection authenticated with (revoking it closes the connection). */
  tokenId: string;
}

/** What a connection needs from the ingest (and nothing else). */
export interface TConnectionHost {
  authenticate(hello: THello): Promise<{ ok: true; identity: TAgentIdentity; lastSeq: number } | { ok: false; code: TServerErrorCode; message: string }>;
  /** The connection speaks for this member now (the host closes any older one). */
  register(conn: AgentConnection): void;
  unregister(conn: AgentConnection): void;
  /** true: stored; false: duplicate. Throws { code, message } style errors through describeStoreError. */
  storeSnapshot(id: TAgentIdentity, s: TSnapshot): Promise<boolean>;
  storeEvent(id: TAgentIdentity, e: TAgentEvent): Promise<boolean>;
  /** An operation's progress or result (services/operation-runner.ts records it on the operation). */
  storeOperationMessage(id: TAgentIdentity, m: TOperationProgress | TOperationResult): Promise<void>;
  /** Why storing failed, in words for the agent, and whether it is the database being away. */
  describeStoreError(error: unknown): { code: TServerErrorCode; message: string };
  log(event: string, fields: Record<string, unknown>): void;
}

const ACK_EVERY = 200;
const ACK_INTERVAL_MS = 500;

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
  private readonly helloTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly host: TConnectionHost,
    readonly remote: string,
    helloTimeoutMs: number,
  ) {
    this.helloTimer = setTimeout(() => {
      if (this.state === 'awaiting_hello' || this.state === 'authenticating') this.fail('timeout', `no hello within ${Math.round(helloTimeoutMs / 1000)} seconds`);
    }, helloTimeoutMs);
    this.helloTimer.unref();
    ws.on('message', (data, isBinary) => {
      const raw = isBinary || typeof data !== 'string' ? Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8') : data;
      this.pending++;
      this.chain = this.chain.then(() => this.handle(raw)).finally(() => {
        this.pending--;
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
    this.ws.close(CLOSE_CODES[code], message.slice(0, 120));
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
      const auth = await this.host.authenticate(msg);
      if ((this.state as TConnectionState) === 'closed') return;
      if (!auth.ok) return this.fail(auth.code, auth.message);
      clearTimeout(this.helloTimer);
      this.identity = auth.identity;
      this.lastSeq = auth.lastSeq;
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
        if (msg.seq <= this.lastSeq) return; // a duplicate or a replay of something stored: ack covers it
        try {
          if (msg.type === 'snapshot') await this.host.storeSnapshot(id, msg);
          else if (msg.type === 'event') await this.host.storeEvent(id, msg);
          else await this.host.storeOperationMessage(id, msg);
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
}
