/**
 * Browsers' live feed: a WebSocket at /live, authenticated by the session cookie (checked at the
 * upgrade, with an Origin check against cross-site WebSocket hijacking). publish() fans a message
 * out to every subscriber of its cluster. Backpressure on a slow browser: while more than
 * SOFT_BUFFERED_BYTES wait in its socket, its member updates (member, presence, stale) are held, only
 * the newest of each kind per member, and sent once the socket has drained (in the order they last
 * changed); events, incidents and operations are never held. Only a browser that lets
 * MAX_BUFFERED_BYTES pile up (it is gone) is dropped (it reconnects and refetches).
 *
 * Browsers only listen: a frame from a browser closes its socket with 4400 and a reason (frames
 * above MAX_BROWSER_FRAME_BYTES are cut off by ws itself with 1009). `?cluster=` must be a scope.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ZScope } from '../services/create-agent-token.ts';
import type { TLiveMessage } from './messages.ts';

const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
export const SOFT_BUFFERED_BYTES = 256 * 1024;
/** How often held updates are retried. */
const DRAIN_CHECK_MS = 100;
const PING_INTERVAL_MS = 30_000;
export const MAX_BROWSER_FRAME_BYTES = 4096;
/** The close code for a browser that sent something (the feed is server -> browser only). */
export const LIVE_PROTOCOL_ERROR = 4400;

interface Subscriber {
  ws: WebSocket;
  userId: string;
  /** null: every cluster. */
  cluster: string | null;
  alive: boolean;
  /** Member updates held while the socket is behind: key (kind, cluster, member) -> serialised message. */
  held: Map<string, string>;
}

/** The key under which a member update may be replaced by a newer one; null: never held. */
function holdKey(msg: TLiveMessage): string | null {
  if (msg.type === 'member') return `member\u0000${msg.cluster}\u0000${msg.member.name}`;
  if (msg.type === 'presence' || msg.type === 'stale') return `${msg.type}\u0000${msg.cluster}\u0000${msg.member}`;
  return null;
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 503 ? 'Service Unavailable' : 'Bad Request'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export interface TLiveAuth {
  /** Resolve the session from the request headers; null when signed out; throws when the DB is down. */
  authenticate(req: IncomingMessage): Promise<{ id: string } | null>;
  /** null when the Origin is acceptable, else why not. */
  checkOrigin(req: IncomingMessage): string | null;
  /** The first message for a new subscriber. */
  hello(): TLiveMessage;
}

export class LiveHub {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_BROWSER_FRAME_BYTES });
  private readonly subscribers = new Set<Subscriber>();
  private readonly pinger: NodeJS.Timeout;
  private drainTimer: NodeJS.Timeout | null = null;
  /** Counters (tests, bench). */
  readonly stats = { held: 0, dropped: 0 };

  constructor(private readonly auth: TLiveAuth) {
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.pinger.unref();
  }

  get size(): number {
    return this.subscribers.size;
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const originProblem = this.auth.checkOrigin(req);
    if (originProblem) return rejectUpgrade(socket, 403, originProblem);
    let user: { id: string } | null;
    try {
      user = await this.auth.authenticate(req);
    } catch {
      return rejectUpgrade(socket, 503, "the control plane cannot reach its database, so it cannot check your session");
    }
    if (!user) return rejectUpgrade(socket, 401, 'sign in first');
    const url = new URL(req.url ?? '/', 'http://x');
    const cluster = url.searchParams.get('cluster');
    if (cluster) {
      const ok = ZScope.safeParse(cluster);
      if (!ok.success) return rejectUpgrade(socket, 400, `cluster must be a cluster scope: ${ok.error.issues[0]?.message ?? 'invalid'}`);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const sub: Subscriber = { ws, userId: user.id, cluster: cluster || null, alive: true, held: new Map() };
      this.subscribers.add(sub);
      ws.on('pong', () => (sub.alive = true));
      ws.on('close', () => this.subscribers.delete(sub));
      ws.on('error', () => this.subscribers.delete(sub));
      // browsers only listen: anything they send is a protocol error
      ws.on('message', () => {
        this.subscribers.delete(sub);
        ws.close(LIVE_PROTOCOL_ERROR, 'the live feed is server-to-browser only: it accepts no messages');
      });
      ws.send(JSON.stringify(this.auth.hello()));
    });
  }

  publish(msg: TLiveMessage): void {
    if (this.subscribers.size === 0) return;
    const cluster = 'cluster' in msg ? msg.cluster : null;
    const data = JSON.stringify(msg);
    const key = holdKey(msg);
    for (const sub of this.subscribers) {
      if (cluster !== null && sub.cluster !== null && sub.cluster !== cluster) continue;
      if (sub.ws.readyState !== sub.ws.OPEN) continue;
      if (sub.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        this.stats.dropped++;
        sub.ws.terminate();
        this.subscribers.delete(sub);
        continue;
      }
      if (key !== null && (sub.held.size > 0 || sub.ws.bufferedAmount > SOFT_BUFFERED_BYTES)) {
        // behind: keep the newest of this kind for this member, last-changed last
        sub.held.delete(key);
        sub.held.set(key, data);
        this.stats.held++;
        this.scheduleDrain();
        continue;
      }
      sub.ws.send(data);
    }
  }

  private scheduleDrain(): void {
    if (this.drainTimer) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = null;
      let waiting = false;
      for (const sub of this.subscribers) {
        if (sub.held.size === 0 || sub.ws.readyState !== sub.ws.OPEN) continue;
        if (sub.ws.bufferedAmount > SOFT_BUFFERED_BYTES) {
          waiting = true;
          continue;
        }
        for (const data of sub.held.values()) sub.ws.send(data);
        sub.held.clear();
      }
      if (waiting) this.scheduleDrain();
    }, DRAIN_CHECK_MS);
    this.drainTimer.unref();
  }

  /** Close every feed of this user (disabled); returns how many. */
  disconnectUser(userId: string, reason: string): number {
    let n = 0;
    for (const sub of this.subscribers) {
      if (sub.userId !== userId) continue;
      sub.ws.close(4401, reason.slice(0, 120));
      this.subscribers.delete(sub);
      n++;
    }
    return n;
  }

  /** Send a message to these users only (break-glass notices). */
  notifyUsers(userIds: readonly string[], msg: TLiveMessage): void {
    const data = JSON.stringify(msg);
    for (const sub of this.subscribers) if (userIds.includes(sub.userId) && sub.ws.readyState === sub.ws.OPEN) sub.ws.send(data);
  }

  private ping(): void {
    for (const sub of this.subscribers) {
      if (!sub.alive) {
        sub.ws.terminate();
        this.subscribers.delete(sub);
        continue;
      }
      sub.alive = false;
      sub.ws.ping();
    }
  }

  close(): void {
    clearInterval(this.pinger);
    if (this.drainTimer) clearTimeout(this.drainTimer);
    for (const sub of this.subscribers) sub.ws.close(1001, 'server shutting down');
    this.subscribers.clear();
    this.wss.close();
  }
}
