/**
 * /api/v1: bearer API tokens only (no cookies, so no cross-site request can use it), one handler for
 * the route table (routes.ts). Domain errors map once through HTTP_STATUS; bad input is 400 naming
 * the field; the database being away is 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fromNodeHeaders } from 'better-auth/node';
import { ZodError, type z } from 'zod';
import type { TAppDeps } from '../context.ts';
import { bearerToken } from '../lib/api-token.ts';
import { AppError, HTTP_STATUS } from '../lib/app-error.ts';
import { resolveActor } from '../services/resolve-actor.ts';
import { openApiDocument, REST_BASE } from './openapi.ts';
import { REST_ROUTES, type TRoute } from './routes.ts';

const MAX_BODY_BYTES = 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
}

function sendError(res: ServerResponse, status: number, code: string, message: string, details?: Record<string, unknown> | null): void {
  send(res, status, { error: { code, message, details: details ?? null } });
}

/** /operations/{id} -> a matcher returning the path parameters. */
function compile(path: string): (p: string) => Record<string, string> | null {
  const names: string[] = [];
  const re = new RegExp(`^${path.replace(/\{(\w+)\}/g, (_m, n: string) => (names.push(n), '([^/]+)'))}$`);
  return (p) => {
    const m = re.exec(p);
    return m ? Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])) : null;
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new AppError('bad_request', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError('bad_request', `the body is not valid JSON: ${(e as Error).message}`);
  }
}

function describeZod(where: string, e: ZodError): string {
  return e.issues.slice(0, 3).map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
}

function parse<T extends z.ZodType | undefined>(schema: T, value: unknown, where: string): unknown {
  if (!schema) return undefined;
  const r = schema.safeParse(value);
  if (!r.success) throw new AppError('bad_request', describeZod(where, r.error));
  return r.data;
}

export function restHandler(deps: TAppDeps, clientAddress: (req: IncomingMessage) => string) {
  const table = REST_ROUTES.map((r) => ({ r, match: compile(r.path) }));
  let doc: unknown;
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const sub = url.pathname.slice(REST_BASE.length) || '/';
    const method = (req.method ?? 'GET').toLowerCase();
    if (sub === '/openapi.json' && method === 'get') return send(res, 200, (doc ??= openApiDocument()));
    let found: { r: TRoute; params: Record<string, string> } | null = null;
    let pathKnown = false;
    for (const { r, match } of table) {
      const params = match(sub);
      if (!params) continue;
      pathKnown = true;
      if (r.method === method) {
        found = { r, params };
        break;
      }
    }
    if (!found) return sendError(res, pathKnown ? 405 : 404, pathKnown ? 'method_not_allowed' : 'not_found', pathKnown ? `${req.method} is not allowed on ${url.pathname}` : `no such endpoint: ${url.pathname} (see ${REST_BASE}/openapi.json)`);
    try {
      const headers = fromNodeHeaders(req.headers);
      if (bearerToken(headers.get('authorization')) === null) throw new AppError('unauthorized', 'Send an API token: Authorization: Bearer keel_api_… (create one on the API tokens page).');
      const actor = await resolveActor(deps.db, deps.auth, headers, clientAddress(req));
      if (!actor) throw new AppError('unauthorized', 'The API token is not valid.');
      const { r, params } = found;
      const input = {
        path: parse(r.params, params, 'path'),
        query: parse(r.query, Object.fromEntries(url.searchParams), 'query'),
        body: r.body ? parse(r.body, await readJson(req), 'body') : undefined,
      };
      const out = r.handler(deps, actor, input as never);
      if (r.stream) {
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
        for await (const line of (await out) as AsyncIterable<string>) res.write(line);
        res.end();
        return;
      }
      send(res, r.status ?? 200, await out);
    } catch (e) {
      if (res.headersSent) return void res.end();
      if (e instanceof AppError) return sendError(res, HTTP_STATUS[e.code], e.code, e.message, e.details);
      if (e instanceof ZodError) return sendError(res, 400, 'bad_request', describeZod('input', e));
      if (deps.dbHealth.report(e)) return sendError(res, 503, 'unavailable', 'The control plane cannot reach its database right now.');
      throw e;
    }
  };
}
