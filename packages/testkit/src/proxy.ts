import net from 'node:net';

export type ProxyMode = 'forward' | 'blackhole' | 'reset';

export interface ProxyTarget {
  host: string;
  port: number;
}

interface Conn {
  client: net.Socket;
  upstream: net.Socket | null;
  /** Bytes are flowing between client and upstream. */
  piped: boolean;
}

function parseTarget(target: string | ProxyTarget): ProxyTarget {
  if (typeof target !== 'string') return target;
  const hostPort = target.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  const i = hostPort.lastIndexOf(':');
  if (i <= 0) throw new Error(`TcpProxy: target must be host:port, got ${JSON.stringify(target)}`);
  return { host: hostPort.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hostPort.slice(i + 1)) };
}

/**
 * A TCP forwarder on 127.0.0.1 to a target host:port, for fault injection in tests
 * (in the style of the suspendable proxy microsoft/etcd3 uses in its own tests).
 *
 * - `blackhole()`: a network partition. Bytes stop flowing in both directions, on existing and on
 *   new connections, but nothing is closed: clients hang until their own deadlines or keepalives
 *   give up, as they would when packets are dropped.
 * - `heal()`: relaying resumes (held bytes are delivered, held new connections are connected), like
 *   a partition that heals before TCP gives up. `heal({ reset: true })` instead destroys every
 *   held connection so clients reconnect.
 * - `cutAndReset()`: every connection is reset (RST) and new ones are reset on accept, like a
 *   crashed peer. `heal()` ends that too.
 */
export class TcpProxy {
  private target: ProxyTarget;
  private readonly listenPort: number;
  private server: net.Server | null = null;
  private readonly conns = new Set<Conn>();
  private currentMode: ProxyMode = 'forward';
  private boundPort = 0;

  constructor(target: string | ProxyTarget, opts: { listenPort?: number } = {}) {
    this.target = parseTarget(target);
    this.listenPort = opts.listenPort ?? 0;
  }

  /** Listens on 127.0.0.1 (a free port unless one was given) and resolves with the port. */
  async start(): Promise<number> {
    if (this.server) return this.boundPort;
    const server = net.createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: this.listenPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('TcpProxy: could not read the bound address');
    this.server = server;
    this.boundPort = addr.port;
    return this.boundPort;
  }

  get port(): number {
    if (!this.server) throw new Error('TcpProxy: not started');
    return this.boundPort;
  }

  /** "127.0.0.1:PORT" */
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** "http://127.0.0.1:PORT" */
  get endpoint(): string {
    return `http://${this.hostPort}`;
  }

  get mode(): ProxyMode {
    return this.currentMode;
  }

  /** Client connections currently open through the proxy (held ones included). */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** Points new connections at another target (existing ones keep theirs). */
  setTarget(target: string | ProxyTarget): void {
    this.target = parseTarget(target);
  }

  blackhole(): void {
    this.currentMode = 'blackhole';
    for (const conn of this.conns) this.hold(conn);
  }

  heal(opts: { reset?: boolean } = {}): void {
    const wasMode = this.currentMode;
    this.currentMode = 'forward';
    if (opts.reset) {
      for (const conn of [...this.conns]) this.destroy(conn, true);
      return;
    }
    if (wasMode === 'blackhole') for (const conn of [...this.conns]) this.relay(conn);
  }

  cutAndReset(): void {
    this.currentMode = 'reset';
    for (const conn of [...this.conns]) this.destroy(conn, true);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const conn of [...this.conns]) this.destroy(conn, true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.currentMode === 'reset' || !this.server) {
      client.resetAndDestroy();
      return;
    }
    const conn: Conn = { client, upstream: null, piped: false };
    this.conns.add(conn);
    client.on('error', () => this.destroy(conn));
    client.on('close', () => this.destroy(conn));
    if (this.currentMode === 'forward') this.relay(conn);
    // blackhole: keep the accepted socket paused and unconnected until heal()
  }

  private connectUpstream(conn: Conn): net.Socket {
    const upstream = net.connect({ host: this.target.host, port: this.target.port });
    upstream.setNoDelay(true);
    conn.upstream = upstream;
    upstream.on('error', () => this.destroy(conn));
    upstream.on('close', () => this.destroy(conn));
    return upstream;
  }

  private relay(conn: Conn): void {
    if (!this.conns.has(conn) || conn.piped) return;
    const upstream = conn.upstream ?? this.connectUpstream(conn);
    conn.client.setNoDelay(true);
    conn.client.pipe(upstream);
    upstream.pipe(conn.client);
    conn.piped = true;
  }

  private hold(conn: Conn): void {
    if (!conn.piped) return;
    conn.client.unpipe();
    conn.upstream?.unpipe();
    conn.client.pause();
    conn.upstream?.pause();
    conn.piped = false;
  }

  /** Closes both sides; `hard` sends RST instead of FIN. */
  private destroy(conn: Conn, hard = false): void {
    if (!this.conns.delete(conn)) return;
    for (const s of [conn.client, conn.upstream]) {
      if (s && !s.destroyed) {
        if (hard) s.resetAndDestroy();
        else s.destroy();
      }
    }
  }
}
