/**
 * What a command may touch: the terminal (Io), the DCS (read-only snapshots) and the members' REST
 * APIs. main.ts builds the real one; unit tests pass fakes.
 */

import { createInterface } from 'node:readline/promises';
import { DcsError, EtcdDcs, displayHost, type ClusterSnapshot } from '@keel/dcs';
import { failed, unreachable, usageError } from './errors.ts';
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

/** "http://127.0.0.1:8008/patroni" + "switchover" -> "http://127.0.0.1:8008/switchover" (Patroni replaces the path). */
export function endpointUrl(apiUrl: string, endpoint: string): string {
  const u = new URL(apiUrl);
  return `${u.protocol}//${u.host}/${endpoint.replace(/^\/+/, '')}`;
}

function origin(apiUrl: string): string {
  try {
    const u = new URL(apiUrl);
    return `${u.protocol}//${u.host}`;
  } catch {
    return apiUrl;
  }
}

/** "ECONNREFUSED", "no answer within 5 s", ... from a fetch failure. */
function fetchFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs / 1000} s`;
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

export class RealCtl implements Ctl {
  private readonly dcs = new Map<string, EtcdDcs>();

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

  private etcd(scope: string): EtcdDcs {
    let d = this.dcs.get(scope);
    if (d) return d;
    const hosts = this.settings.etcdHosts;
    if (!hosts) throw usageError('where is etcd? pass -c/--config-file (etcd3.hosts), -d/--dcs-url HOST:PORT, or set PATRONI_ETCD3_HOSTS');
    const auth = this.settings.etcdAuth;
    d = new EtcdDcs({
      hosts,
      namespace: this.settings.namespace,
      scope,
      callTimeoutMs: this.settings.dcsTimeoutMs,
      ...(auth ? { username: auth.username, password: auth.password } : {}),
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
      if (e instanceof DcsError && (e.code === 'timeout' || e.code === 'unreachable')) {
        throw unreachable(`cannot reach etcd at ${where} (deadline ${this.settings.dcsTimeoutMs / 1000} s exceeded)`);
      }
      throw unreachable(`etcd at ${where} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async request(target: Target, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', endpoint: string, opts: RequestOptions = {}): Promise<RestResponse> {
    let url: string;
    try {
      url = endpointUrl(target.apiUrl, endpoint);
    } catch {
      throw failed(`member ${target.name} publishes no usable api_url (${JSON.stringify(target.apiUrl)})`);
    }
    const timeoutMs = opts.timeoutMs ?? (method === 'GET' ? 10_000 : 120_000);
    const headers: Record<string, string> = {};
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const auth = this.settings.restAuth;
    if (auth && method !== 'GET') headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
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
