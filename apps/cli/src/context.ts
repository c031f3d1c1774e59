/**
 * What a command may touch: the terminal (Io), the DCS (read-only snapshots) and the members' REST
 * APIs. main.ts builds the real one; unit tests pass fakes.
 */

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { DcsError, EtcdDcs, ZooKeeperDcs, displayHost, type ClusterSnapshot } from '@keel/dcs';
import { apiEndpoint, checkApiUrl } from '@keel/protocol';
import { Agent, request as httpRequest } from 'undici';
import { CliError, failed, unreachable, usageError } from './errors.ts';
import type { CtlSettings } from './settings.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Is stdin a terminal (can we ask)? */
  readonly interactive: boolean;
  /** Is stdout a terminal (colours, clearing the screen)? */
  readonly stdoutIsTTY: boolean;
  /** Asks one question on the terminal; resolves to the answer ('' for just Enter). */
  ask(question: string): Promise<string>;
}

/** A member's REST API: its name (for messages) and its api_url from the member key. */
export interface Target {
  name: string;
  apiUrl: string;
}

export interface RestResponse {
  status: number;
  /** The body as text (Patroni answers plain text for most POSTs, JSON for the rest). */
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Default 10 s for reads, 120 s for writes. */
  timeoutMs?: number;
}

export interface Ctl {
  readonly settings: CtlSettings;
  readonly io: Io;
  /** The configured scope (or the one given on the command line); usage error when there is none. */
  scope(override?: string): string;
  readCluster(scope: string): Promise<ClusterSnapshot>;
  request(target: Target, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', endpoint: string, opts?: RequestOptions): Promise<RestResponse>;
  /** Releases connections (etcd). */
  close(): Promise<void>;
}

export function terminalIo(): Io {
  return {
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
    interactive: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    async ask(question) {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return (await rl.question(question)).trim();
      } finally {
        rl.close();
      }
    },
  };
}

function origin(apiUrl: string): string {
  try {
    const u = new URL(apiUrl);
    return `${u.protocol}//${u.host}`;
  } catch {
    return apiUrl;
  }
}

/** "ECONNREFUSED", "no answer within 5 s", a TLS verification error, ... from a request failure. */
function fetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`;
  const e = err as (Error & { code?: string; cause?: { code?: string; message?: string } }) | undefined;
  const code = e?.code ?? e?.cause?.code;
  const message = e?.message ?? e?.cause?.message ?? String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** A TLS file named by the settings, or a usage error that names it. */
function readTlsFile(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError(`cannot read ${what} ${file}${code ? ` (${code})` : ''}`);
  }
}

export class RealCtl implements Ctl {
  private readonly dcs = new Map<string, EtcdDcs | ZooKeeperDcs>();
  private dispatcher: Agent | null = null;

  constructor(
    readonly settings: CtlSettings,
    readonly io: Io,
  ) {}

  scope(override?: string): string {
    const s = override ?? this.settings.scope;
    if (!s) {
      throw usageError('no cluster given: pass -c/--config-file with the agent configuration, --scope NAME, or set PATRONI_SCOPE');
    }
    return s;
  }

  private etcd(scope: string): EtcdDcs | ZooKeeperDcs {
    let d = this.dcs.get(scope);
    if (d) return d;
    const zk = this.settings.zookeeperHosts;
    if (zk) {
      d = new ZooKeeperDcs({ hosts: zk, namespace: this.settings.namespace, scope, callTimeoutMs: this.settings.dcsTimeoutMs });
      this.dcs.set(scope, d);
      return d;
    }
    const hosts = this.settings.etcdHosts;
    if (!hosts) throw usageError('where is the DCS? pass -c/--config-file (etcd3.hosts or zookeeper.hosts), -d/--dcs-url HOST:PORT (zookeeper://HOST:PORT), or set PATRONI_ETCD3_HOSTS or PATRONI_ZOOKEEPER_HOSTS');
    const auth = this.settings.etcdAuth;
    const t = this.settings.etcdTls;
    const https = hosts.every((h) => h.startsWith('https://'));
    if (t && !https) throw usageError('etcd3.cacert, cert and key need https: set etcd3.protocol: https (or https:// hosts)');
    d = new EtcdDcs({
      hosts,
      namespace: this.settings.namespace,
      scope,
      callTimeoutMs: this.settings.dcsTimeoutMs,
      ...(auth ? { username: auth.username, password: auth.password } : {}),
      ...(t
        ? {
            tls: {
              ...(t.cacert ? { rootCertificate: readTlsFile('etcd3.cacert', t.cacert) } : {}),
              ...(t.cert ? { certChain: readTlsFile('etcd3.cert', t.cert), privateKey: readTlsFile('etcd3.key', t.key ?? t.cert) } : {}),
            },
          }
        : {}),
    });
    this.dcs.set(scope, d);
    return d;
  }

  async readCluster(scope: string): Promise<ClusterSnapshot> {
    const d = this.etcd(scope);
    try {
      return await d.readCluster();
    } catch (e) {
      const where = d.hosts.map(displayHost).join(',');
      const store = d instanceof ZooKeeperDcs ? 'ZooKeeper' : 'etcd';
      if (e instanceof DcsError && (e.code === 'timeout' || e.code === 'unreachable')) {
        throw unreachable(`cannot reach ${store} at ${where} (deadline ${this.settings.dcsTimeoutMs / 1000} s exceeded)`);
      }
      throw unreachable(`${store} at ${where} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The HTTP client for the agents: verifies https with the configured CA, presents the client certificate. */
  private agents(): Agent {
    if (this.dispatcher) return this.dispatcher;
    const t = this.settings.restTls;
    this.dispatcher = new Agent({
      connect: {
        rejectUnauthorized: !t.insecure,
        ...(t.cacert ? { ca: readTlsFile('the CA file (ctl.cacert / restapi.cafile)', t.cacert) } : {}),
        ...(t.certfile
          ? {
              cert: readTlsFile('the client certificate (ctl.certfile / restapi.certfile)', t.certfile),
              key: readTlsFile('the client key (ctl.keyfile / restapi.keyfile)', t.keyfile ?? t.certfile),
            }
          : {}),
        ...(t.keyfile_password !== undefined ? { passphrase: t.keyfile_password } : {}),
      },
    });
    return this.dispatcher;
  }

  async request(target: Target, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', endpoint: string, opts: RequestOptions = {}): Promise<RestResponse> {
    // api_url comes from the member key in etcd: only http(s) to a host, without credentials.
    const checked = checkApiUrl(target.apiUrl);
    if (!checked.ok) throw failed(`member ${target.name} publishes no usable api_url: ${checked.reason}`);
    const url = apiEndpoint(checked.url, endpoint);
    const timeoutMs = opts.timeoutMs ?? (method === 'GET' ? 10_000 : 120_000);
    const headers: Record<string, string> = {};
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const auth = this.settings.restAuth;
    if (auth && method !== 'GET') headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    let res: { status: number };
    let text: string;
    try {
      const r = await httpRequest(url, {
        method,
        headers,
        dispatcher: this.agents(),
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await r.body.text();
      res = { status: r.statusCode };
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw unreachable(`cannot reach the agent of ${target.name} at ${origin(target.apiUrl)} (${fetchFailure(e, timeoutMs)})`);
    }
    if (res.status === 401 || (res.status === 403 && method !== 'GET')) {
      const where = this.settings.configFile ? ` in ${this.settings.configFile}` : '';
      const why = auth ? 'refused the credentials' : 'wants credentials';
      throw usageError(
        `the agent of ${target.name} ${why} (${res.status}${text ? `: ${bodyText(text)}` : ''}): set restapi.authentication (or ctl.authentication) username and password${where}, or PATRONI_RESTAPI_USERNAME / PATRONI_RESTAPI_PASSWORD`,
      );
    }
    return { status: res.status, text };
  }

  async close(): Promise<void> {
    await Promise.all([...this.dcs.values()].map((d) => d.close().catch(() => undefined)));
    this.dcs.clear();
    await this.dispatcher?.close().catch(() => undefined);
    this.dispatcher = null;
  }
}

/** A response body for humans: a JSON string unquoted, {message|error|reason} unwrapped, else the text. */
export function bodyText(text: string): string {
  const t = text.trim();
  try {
    const v: unknown = JSON.parse(t);
    if (typeof v === 'string') return v;
    if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      for (const k of ['message', 'error', 'reason']) {
        if (typeof o[k] !== 'string') continue;
        // {"error": "invalid configuration ...", "problems": ["ttl: ...", ...]}
        const problems = Array.isArray(o.problems) ? o.problems.map(String) : [];
        return problems.length ? `${o[k]}: ${problems.join('; ')}` : o[k];
      }
    }
  } catch {
    /* plain text */
  }
  return t;
}
