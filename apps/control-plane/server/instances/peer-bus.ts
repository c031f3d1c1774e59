/**
 * The control-plane instances' bus: PostgreSQL LISTEN/NOTIFY on the database they already share
 * (no other infrastructure). Every instance LISTENs on one channel on a dedicated connection and
 * sends with pg_notify through the pool.
 *
 * - Messages queued in the same turn of the event loop (or while the previous statement was on its
 *   way) go out in one statement (one transaction: PostgreSQL delivers them together and in order);
 *   one statement at a time, so the order holds across statements too.
 * - A NOTIFY payload is at most 8000 bytes: messages are packed into frames of at most FRAME_BYTES,
 *   and a single message above that is cut into fragments of one frame each, sent in the same
 *   statement and reassembled by the receivers (frames.ts).
 * - Each frame names its sender; an instance ignores its own frames.
 * - NOTIFY is not durable: a receiver that was disconnected misses what was sent meanwhile. The
 *   bus's users therefore resend their state periodically (peers.ts: heartbeats carry each
 *   instance's connected agents and running operations), so the loss heals within a heartbeat.
 */
import pg from 'pg';
import { FrameAssembler, packFrames } from './frames.ts';

export const PEER_CHANNEL = 'keel_cp_peers';

export interface TPeerBusOptions {
  databaseUrl: string;
  pool: pg.Pool;
  instanceId: string;
  /** A message from another instance (already reassembled). */
  onMessage(from: string, message: unknown): void;
  /** The LISTEN connection is (again) up: peers may have missed what we sent. */
  onListening(): void;
  log(event: string, fields: Record<string, unknown>): void;
}

const RECONNECT_MS = 1000;

export class PeerBus {
  private client: pg.Client | null = null;
  private queue: unknown[] = [];
  private scheduled = false;
  /** The NOTIFY statement on its way (one at a time: order kept, and the pool left to the ingest). */
  private sending: Promise<void> | null = null;
  private closed = false;
  private readonly assembler = new FrameAssembler();
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Frames sent and received (for the log and tests). */
  readonly stats = { sentFrames: 0, receivedFrames: 0, sendErrors: 0 };

  constructor(private readonly opts: TPeerBusOptions) {}

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.opts.databaseUrl, connectionTimeoutMillis: 5000 });
    client.on('error', (e) => this.lost(client, e));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (n) => {
      if (n.channel !== PEER_CHANNEL || !n.payload) return;
      this.stats.receivedFrames++;
      let got: { from: string; messages: unknown[] } | null;
      try {
        got = this.assembler.accept(n.payload);
      } catch (e) {
        this.opts.log('peer_frame_invalid', { error: e instanceof Error ? e.message : String(e) });
        return;
      }
      if (!got || got.from === this.opts.instanceId) return;
      for (const m of got.messages) this.opts.onMessage(got.from, m);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PEER_CHANNEL}`);
    } catch (e) {
      this.lost(client, e);
      return;
    }
    this.client = client;
    this.opts.onListening();
  }

  private lost(client: pg.Client, e: unknown): void {
    if (this.closed || (this.client !== null && this.client !== client)) return;
    this.client = null;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.reconnectTimer) return;
    this.opts.log('peer_bus_reconnecting', { error: e instanceof Error ? e.message : String(e) });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, RECONNECT_MS);
    this.reconnectTimer.unref();
  }

  /**
   * Queue a message for every other instance: sent at the end of this turn with the others queued,
   * or, while the previous statement is still on its way, with everything queued meanwhile once it is
   * done (one NOTIFY statement at a time: at thousands of member updates a second, a statement per
   * turn took the pool from the ingest and each commit queued on PostgreSQL's notification lock).
   */
  send(message: unknown): void {
    if (this.closed) return;
    this.queue.push(message);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.sending) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sending = this.flush().finally(() => {
        this.sending = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const messages = this.queue;
    this.queue = [];
    if (messages.length === 0) return;
    const frames = packFrames(this.opts.instanceId, messages);
    try {
      await this.opts.pool.query({ name: 'keel_peer_notify', text: `SELECT pg_notify('${PEER_CHANNEL}', f) FROM unnest($1::text[]) WITH ORDINALITY AS x(f, n) ORDER BY n`, values: [frames] });
      this.stats.sentFrames += frames.length;
    } catch (e) {
      // the database is away: peers resync from the next heartbeat
      this.stats.sendErrors++;
      this.opts.log('peer_send_failed', { error: e instanceof Error ? e.message : String(e), frames: frames.length });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
