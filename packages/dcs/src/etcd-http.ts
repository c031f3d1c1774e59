import http from 'node:http';
import https from 'node:https';
import { HostHealth } from './host-health.ts';

/**
 * A small etcd v3 client over etcd's JSON gateway (grpc-gateway, etcd 3.4: POST /v3/kv/range,
 * /v3/kv/txn, /v3/lease/grant, /v3/lease/keepalive, /v3/watch …; keys and values base64, 64-bit
 * integers as decimal strings, zero values omitted) on Node's own http/https with keep-alive
 * agents. No gRPC, no protobuf: the etcd3 npm client with @grpc/grpc-js and protobufjs held
 * 25–30 MiB of the agent's memory (ARCHITECTURE.md, Footprint).
 *
 * One request goes to ONE host (HostHealth picks it: the last one that answered, unless it failed
 * recently) and ends by the deadline it is given; retrying, on this host or another, is the
 * caller's decision (EtcdDcs.run). Errors: EtcdConnectionError (no answer: refused, reset, TLS,
 * deadline) or EtcdRpcError (etcd answered with a gRPC status).
 */

export interface EtcdTls {
  /** The CA to verify etcd with (default: the system's CAs). */
  rootCertificate?: Buffer;
  /** A client certificate and its key. */
  certChain?: Buffer;
  privateKey?: Buffer;
}

export interface EtcdHttpOptions {
  /** "http(s)://host:port" URLs (parseEtcdHosts). */
  hosts: readonly string[];
  username?: string;
  password?: string;
  tls?: EtcdTls;
}

/** etcd could not be reached, or did not answer by the deadline (`timedOut`). */
export class EtcdConnectionError extends Error {
  constructor(
    readonly host: string,
    message: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** etcd answered with a gRPC error status (codes as in grpc's status.proto). */
export class EtcdRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  /** Statuses that say the request may not have been served (etcd unavailable, no leader, timed out …). */
  get transient(): boolean {
    return TRANSIENT_CODES.has(this.code);
  }
}

export const GRPC_CANCELLED = 1;
export const GRPC_NOT_FOUND = 5;
export const GRPC_UNAUTHENTICATED = 16;
export const GRPC_UNAVAILABLE = 14;
// cancelled, unknown, deadline exceeded, resource exhausted, aborted, internal, unavailable
const TRANSIENT_CODES = new Set([1, 2, 4, 8, 10, 13, 14]);

/** Connection-level failures and transient statuses: the host is marked down for a while. */
export function isHostFailure(err: unknown): boolean {
  return err instanceof EtcdConnectionError || (err instanceof EtcdRpcError && err.transient);
}

export function isInvalidToken(err: unknown): boolean {
  return err instanceof EtcdRpcError && err.code === GRPC_UNAUTHENTICATED && /invalid auth token/.test(err.message);
}

/** The JSON shape of a key-value (mvccpb.KeyValue). */
export interface JKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  /** 1 for a key just created (a put after a delete starts again at 1). */
  version?: string;
  lease?: string;
}
export interface JHeader {
  revision?: string;
}

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/** range_end for every key starting with `prefix`. */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = b.subarray(0, i + 1);
      end[i]! += 1;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64'); // every key
}

interface Target {
  mod: typeof http | typeof https;
  agent: http.Agent;
  hostname: string;
  port: number;
}

/** A streaming response (the watch): messages as they arrive, then the end. */
export interface StreamHandlers {
  onMessage(message: Record<string, unknown>): void;
  /** Once: the stream ended (err: why; undefined when the server ended it normally). */
  onEnd(err?: Error): void;
}

export class EtcdHttp {
  readonly health: HostHealth;
  private readonly targets = new Map<string, Target>();
  private readonly agents: http.Agent[] = [];
  private token: string | null = null;
  private tokenPending: Promise<string> | null = null;
  /** The liveness probe in flight to each host, shared by every watch on it (probeHost). */
  private readonly probes = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: EtcdHttpOptions) {
    this.health = new HostHealth(opts.hosts);
    const tls = opts.tls;
    const agentOpts = { keepAlive: true, maxFreeSockets: 2, scheduling: 'lifo' as const };
    let httpAgent: http.Agent | null = null;
    let httpsAgent: https.Agent | null = null;
    for (const url of opts.hosts) {
      const u = new URL(url);
      const secure = u.protocol === 'https:';
      if (secure && !httpsAgent) {
        httpsAgent = new https.Agent({
          ...agentOpts,
          ...(tls?.rootCertificate ? { ca: tls.rootCertificate } : {}),
          ...(tls?.certChain ? { cert: tls.certChain } : {}),
          ...(tls?.privateKey ? { key: tls.privateKey } : {}),
        });
        this.agents.push(httpsAgent);
      }
      if (!secure && !httpAgent) {
        httpAgent = new http.Agent(agentOpts);
        this.agents.push(httpAgent);
      }
      this.targets.set(url, {
        mod: secure ? https : http,
        agent: (secure ? httpsAgent : httpAgent)!,
        hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: Number(u.port) || 2379,
      });
    }
  }

  /**
   * One unary request (or a streaming one read to its end, e.g. the lease keepalive: its single
   * `result` is returned) to one host by `deadline`, with the auth token when configured.
   */
  async call<T>(path: string, body: unknown, deadline: number, host = this.health.pick()): Promise<T> {
    try {
      const token = await this.authToken(host, deadline);
      const res = await this.request(host, path, JSON.stringify(body), deadline, token);
      this.health.markUp(host);
      return res as T;
    } catch (err) {
      if (isHostFailure(err)) this.health.markDown(host);
      else if (err instanceof EtcdRpcError) this.health.markUp(host);
      if (isInvalidToken(err)) this.dropToken();
      throw err;
    }
  }

  /**
   * Is `host` alive? One cheap request (a count-only range of `key`) by `deadline`. Every caller that
   * asks while a probe of that host is in flight shares its answer: the watches of one agent (the
   * leader key, failover, member joins) go quiet together and would otherwise each send their own
   * probe at the same moment. An answer of any kind proves the host alive; the caller tells an
   * error status (e.g. permission denied) from no answer with isHostFailure.
   */
  probeHost(host: string, key: string, deadline: number): Promise<unknown> {
    let p = this.probes.get(host);
    if (p === undefined) {
      p = this.call('/v3/kv/range', { key: b64(key), count_only: true }, deadline, host).finally(() => this.probes.delete(host));
      this.probes.set(host, p);
    }
    return p;
  }

  /** Forgets the auth token (etcd said it is invalid: expired, or etcd restarted); the next request authenticates again. */
  dropToken(): void {
    this.token = null;
  }

  /** The token for requests, authenticating first when needed (null without auth). */
  authToken(host: string, deadline: number): Promise<string | null> {
    if (this.opts.username === undefined) return Promise.resolve(null);
    if (this.token !== null) return Promise.resolve(this.token);
    if (!this.tokenPending) {
      const body = JSON.stringify({ name: this.opts.username, password: this.opts.password ?? '' });
      this.tokenPending = this.request(host, '/v3/auth/authenticate', body, deadline, null)
        .then((res) => {
          const token = (res as { token?: string }).token;
          if (!token) throw new EtcdRpcError(2, 'etcd answered the authentication without a token (is auth enabled?)');
          this.token = token;
          return token;
        })
        .finally(() => {
          this.tokenPending = null;
        });
    }
    return this.tokenPending;
  }

  private open(host: string, path: string, body: string, token: string | null): http.ClientRequest {
    const t = this.targets.get(host);
    if (!t) throw new Error(`unknown etcd host ${host}`);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (token !== null) headers.authorization = token;
    const req = t.mod.request({ hostname: t.hostname, port: t.port, path, method: 'POST', agent: t.agent, headers });
    req.end(body);
    return req;
  }

  private request(host: string, path: string, body: string, deadline: number, token: string | null): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const ms = deadline - Date.now();
      if (ms <= 0) {
        reject(new EtcdConnectionError(host, `no time left for ${path}`, true));
        return;
      }
      const req = this.open(host, path, body, token);
      const timeout = new EtcdConnectionError(host, `no answer from ${host} within ${ms} ms`, true);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(timeout);
      }, ms);
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(timedOut ? timeout : err instanceof EtcdConnectionError ? err : new EtcdConnectionError(host, err.message, false, { cause: err }));
      };
      req.on('error', fail);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail); // the connection broke in the middle of the answer
        res.on('end', () => {
          clearTimeout(timer);
          try {
            resolve(decode(Buffer.concat(chunks).toString('utf8'), res.statusCode ?? 0));
          } catch (err) {
            reject(err);
          }
        });
      });
    });
  }

  /**
   * A streaming request (the watch) to one host: newline-delimited JSON messages as they arrive.
   * Returns a function that aborts it (onEnd is then not called).
   */
  stream(host: string, path: string, body: unknown, token: string | null, h: StreamHandlers): () => void {
    let done = false;
    const end = (err?: Error) => {
      if (done) return;
      done = true;
      h.onEnd(err);
    };
    const req = this.open(host, path, JSON.stringify(body), token);
    req.on('socket', (s) => s.setKeepAlive(true, 5000));
    req.on('error', (err) => end(new EtcdConnectionError(host, err.message, false, { cause: err })));
    req.on('response', (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while (!done && (nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            const m = decode(line, res.statusCode ?? 0) as Record<string, unknown>;
            h.onMessage(m);
          } catch (err) {
            end(err as Error);
            req.destroy();
          }
        }
      });
      res.on('error', (err) => end(new EtcdConnectionError(host, err.message, false, { cause: err })));
      res.on('end', () => {
        if (buf.trim() && !done) {
          try {
            decode(buf, res.statusCode ?? 0);
          } catch (err) {
            end(err as Error);
            return;
          }
        }
        end(new EtcdConnectionError(host, 'the watch stream ended', false));
      });
    });
    return () => {
      done = true;
      req.destroy();
    };
  }

  close(): void {
    for (const a of this.agents) a.destroy();
  }
}

/** A gateway answer: the JSON body, `{result}` of a stream message, or the error it carries. */
function decode(text: string, status: number): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EtcdRpcError(2, `etcd answered HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  if (typeof json !== 'object' || json === null) throw new EtcdRpcError(2, `etcd answered HTTP ${status} with ${text.slice(0, 200)}`);
  const o = json as { error?: unknown; message?: string; code?: number; result?: unknown };
  if (o.error !== undefined) {
    // unary: {error, message, code}; stream: {error: {grpc_code, http_code, message, http_status}}
    if (typeof o.error === 'object' && o.error !== null) {
      const e = o.error as { grpc_code?: number; message?: string };
      throw new EtcdRpcError(e.grpc_code ?? 2, e.message ?? 'unknown error');
    }
    throw new EtcdRpcError(o.code ?? 2, o.message || String(o.error));
  }
  if (status !== 200) throw new EtcdRpcError(2, `etcd answered HTTP ${status}: ${text.slice(0, 200)}`);
  if ('result' in o && Object.keys(o).length === 1) return o.result;
  return o;
}
