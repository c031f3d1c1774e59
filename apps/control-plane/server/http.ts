/**
 * The HTTP side of the one server process: routes requests to better-auth (/api/auth), tRPC
 * (/api/trpc), the REST health check and Next (pages), and WebSocket upgrades to the agent ingest
 * (/agents/ws) and the browsers' live feed (/live).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { toNodeHandler, fromNodeHeaders } from 'better-auth/node';
import { AGENT_SOCKET_PATH } from '@keel/protocol';
import { CLIENT_IP_HEADER, CLIENT_PROTO_HEADER } from './auth.ts';
import { createContext, userFromHeaders, type TAppDeps } from './context.ts';
import { clientAddress, clientProtocol, trustedProxies, type TClientRequest, type TTrustedProxies } from './lib/client-address.ts';
import { checkOrigin, trustedOrigins } from './lib/origin.ts';
import { API_POLICY, NONCE_HEADER, commonSecurityHeaders, newNonce, pagePolicy } from './lib/security-headers.ts';
import type { TLog } from './log.ts';
import { LIVE_PATH } from './live/messages.ts';
import type { AgentIngest } from './agents/ingest.ts';
import type { LiveHub } from './live/hub.ts';
import { healthHandler } from './rest/health.ts';
import { REST_BASE } from './rest/openapi.ts';
import { restHandler } from './rest/v1.ts';
import { appRouter } from './routers/_app.ts';

export type TNextHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
export type TNextUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>;

/** Pages anyone may open. */
const PUBLIC_PAGES = new Set(['/sign-in']);

function clientRequest(req: IncomingMessage): TClientRequest {
  return {
    remoteAddress: req.socket.remoteAddress,
    encrypted: Boolean((req.socket as { encrypted?: boolean }).encrypted),
    forwardedFor: req.headers['x-forwarded-for'],
    forwardedProto: req.headers['x-forwarded-proto'],
  };
}

/**
 * Stamp who the client is (address, scheme) on the request, from the socket and the trusted
 * proxies only, overwriting whatever the client sent in these headers: better-auth (sign-in
 * throttle, sessions) and the tRPC context (audit entries) read them.
 */
function stampClient(req: IncomingMessage, proxies: TTrustedProxies): { ip: string; proto: 'http' | 'https' } {
  const c = clientRequest(req);
  const ip = clientAddress(c, proxies);
  const proto = clientProtocol(c, proxies);
  req.headers[CLIENT_IP_HEADER] = ip;
  req.headers[CLIENT_PROTO_HEADER] = proto;
  return { ip, proto };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function isPagePath(path: string): boolean {
  return !path.startsWith('/_next/') && !path.startsWith('/__nextjs') && !/\.[A-Za-z0-9]+$/.test(path);
}

export interface THttpParts {
  deps: TAppDeps;
  ingest: AgentIngest;
  live: LiveHub;
  next: { handle: TNextHandler; upgrade: TNextUpgrade | null } | null;
  log: TLog;
}

export function createRequestHandler(parts: THttpParts) {
  const { deps, log } = parts;
  const proxies = trustedProxies(deps.env.KEEL_CP_TRUSTED_PROXIES);
  const publicHttps = deps.env.KEEL_CP_PUBLIC_URL?.startsWith('https:') ?? false;
  const dev = deps.env.NODE_ENV === 'development';
  const authHandler = toNodeHandler(deps.auth);
  const trpcHandler = createHTTPHandler({
    router: appRouter,
    basePath: '/api/trpc/',
    createContext: ({ req }) => createContext(deps, fromNodeHeaders(req.headers)),
    onError: ({ error, path }) => {
      if (error.code === 'INTERNAL_SERVER_ERROR') log('trpc_error', { path, error: error.message }, 'error');
    },
  });
  const health = healthHandler(deps.dbHealth);
  const rest = restHandler(deps, (req) => clientAddress(clientRequest(req), proxies));

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const client = stampClient(req, proxies);
    const https = client.proto === 'https' || publicHttps;
    for (const [k, v] of Object.entries(commonSecurityHeaders({ hsts: https }))) res.setHeader(k, v);
    if (path.startsWith('/api/') || !parts.next) res.setHeader('content-security-policy', API_POLICY);

    if (path === '/api/health') return health(req, res);

    if (path === '/api/auth' || path.startsWith('/api/auth/')) return authHandler(req, res);

    if (path.startsWith('/api/trpc/')) {
      const refused = checkOrigin({
        method: req.method ?? 'GET',
        origin: req.headers.origin,
        host: req.headers.host,
        fetchSite: req.headers['sec-fetch-site'] as string | undefined,
        hasCookies: Boolean(req.headers.cookie),
        protocol: client.proto,
        publicUrl: deps.env.KEEL_CP_PUBLIC_URL,
      });
      if (refused) return json(res, 403, { error: { message: `Forbidden: ${refused}`, code: 'CSRF' } });
      return trpcHandler(req, res);
    }

    if (path === REST_BASE || path.startsWith(`${REST_BASE}/`)) return rest(req, res, url);

    if (path.startsWith('/api/')) return json(res, 404, { error: { message: `no such endpoint: ${path}` } });

    if (!parts.next) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('This control plane serves the API only (KEEL_CP_NEXT=off).\n');
      return;
    }

    // Next puts the nonce of the request's Content-Security-Policy on the scripts it renders
    const nonce = newNonce();
    const policy = pagePolicy({ nonce, dev, https });
    req.headers['content-security-policy'] = policy;
    req.headers[NONCE_HEADER] = nonce;
    res.setHeader('content-security-policy', policy);

    if (isPagePath(path) && !PUBLIC_PAGES.has(path)) {
      let signedIn: boolean | 'unknown';
      try {
        signedIn = (await userFromHeaders(deps, fromNodeHeaders(req.headers))) !== null;
      } catch (e) {
        // the database is away: show the page, which says so
        deps.dbHealth.report(e);
        signedIn = 'unknown';
      }
      if (signedIn === false) {
        const next = `${path}${url.search}`;
        res.writeHead(302, { location: `/sign-in${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`, 'cache-control': 'no-store' });
        res.end();
        return;
      }
    }
    return parts.next.handle(req, res);
  };
}

export function createUpgradeHandler(parts: THttpParts) {
  const proxies = trustedProxies(parts.deps.env.KEEL_CP_TRUSTED_PROXIES);
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    socket.on('error', () => socket.destroy());
    const client = stampClient(req, proxies);
    if (path === AGENT_SOCKET_PATH) return parts.ingest.handleUpgrade(req, socket, head, client.ip);
    if (path === LIVE_PATH) {
      void parts.live.handleUpgrade(req, socket, head);
      return;
    }
    if (parts.next?.upgrade) {
      void parts.next.upgrade(req, socket, head);
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  };
}

/** The live feed's session and Origin checks. */
export function liveAuth(deps: TAppDeps, staleAfterSeconds: number) {
  const proxies = trustedProxies(deps.env.KEEL_CP_TRUSTED_PROXIES);
  return {
    authenticate: (req: IncomingMessage) => userFromHeaders(deps, fromNodeHeaders(req.headers)),
    checkOrigin: (req: IncomingMessage) => {
      const origin = req.headers.origin;
      if (!origin) return null; // not a browser: no ambient-authority risk
      const allowed = trustedOrigins(req.headers.host, clientProtocol(clientRequest(req), proxies), deps.env.KEEL_CP_PUBLIC_URL);
      return allowed.includes(origin.toLowerCase()) ? null : `origin ${origin} is not allowed`;
    },
    hello: () => ({ type: 'hello' as const, database: deps.dbHealth.current, staleAfterSeconds, serverTime: new Date().toISOString() }),
  };
}
