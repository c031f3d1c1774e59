import type { Probe } from '@keel/postgres';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { patroniRole, type TNodeStatus } from '@keel/protocol';
import { KEEL_VERSION, type OpsRuntime } from '../runtime.ts';
import type { RestApiTls } from '../tls.ts';
import { buildAllowlist, checkUnsafeAccess, type AccessContext } from './access.ts';
import { RequestGate, SharedProbe } from './limits.ts';
import { isSyncMember, nodeStatus } from '../status.ts';
import { clusterBody } from './cluster.ts';
import { HEALTH_PATHS, healthCode, type HealthInput } from './health.ts';
import { renderMetrics } from './metrics.ts';
import { registerOperationRoutes } from './ops.ts';
import { registerSwitchoverRoutes } from './switchover.ts';
import { registerFailsafeRoutes } from './failsafe.ts';


/** Time a client has to send its request headers, and the whole request. */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The REST API: Patroni's paths, bodies and status codes, over https when restapi.certfile is set.
 * Reads never change anything; every mutating method passes checkUnsafeAccess (allowlist, client
 * certificate, basic auth) and is refused without restapi.authentication. A request gate and one
 * shared probe keep a flood of requests from starving the HA loop.
 */
/** Largest request body accepted (bytes); larger declared bodies up to DRAIN_LIMIT are read away after the 413. */
const BODY_LIMIT = 1024 * 1024;
const DRAIN_LIMIT = 16 * 1024 * 1024;

export async function startRestApi(rt: OpsRuntime, tls: RestApiTls | null = null): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    requestTimeout: REQUEST_TIMEOUT_MS,
    ...(tls ? { https: tls } : {}),
  });
  app.server.headersTimeout = HEADERS_TIMEOUT_MS;
  const rc = rt.config.restapi;
  const access: AccessContext = {
    // read at each request: POST /reload and SIGHUP may change restapi.authentication
    get config() {
      return rt.config.restapi;
    },
    tls: tls !== null,
    allowlist: await buildAllowlist(rc.allowlist, (m) => rt.log.warn(m)),
    memberApiUrls: () => (rt.lastCluster?.members ?? []).map((m) => m.value.api_url),
  };

  // Requests handled at once are capped; the others queue (bounded), so a flood cannot starve the loop.
  const gate = new RequestGate();
  app.addHook('onRequest', async (_req: FastifyRequest, reply: FastifyReply) => {
    if (!(await gate.acquire())) return reply.code(503).header('Retry-After', '1').send({ error: 'too many requests' });
    // 'close' comes once per response: after it was sent, or when the client went away meanwhile.
    if (reply.raw.closed) gate.release();
    else reply.raw.once('close', () => gate.release());
  });

  // A declared body over the limit: answer 413 and read the body away (up to DRAIN_LIMIT) on a kept
  // connection. Closing with unread data in the socket (Fastify's own 413 does) makes the kernel reset
  // the connection, and the client may lose the answer and see only EPIPE/ECONNRESET.
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!(declared > BODY_LIMIT)) return;
    if (declared <= DRAIN_LIMIT) req.raw.resume();
    else reply.header('connection', 'close');
    return reply.code(413).send({ error: `the request body is ${declared} bytes; at most ${BODY_LIMIT} are accepted` });
  });

  const extraHeaders = { ...rc.http_extra_headers, ...(tls ? rc.https_extra_headers : {}) };
  if (Object.keys(extraHeaders).length > 0) {
    app.addHook('onSend', async (_req, reply, payload) => {
      reply.headers(extraHeaders);
      return payload;
    });
  }
  // Patroni reads every body as JSON whatever its content type, and patronictl 3.0.2 sends none at all:
  // parse any non-empty body as JSON (an empty one is "no body"; the schemas say where that is allowed).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (!text) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = new Error('the body is not valid JSON') as Error & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  /**
   * Health checks answer from a probe at most a second old, on the API's own connection, shared by
   * concurrent requests: a load balancer never sees a stale "up", and never competes with the loop.
   */
  const sharedProbe = new SharedProbe(
    () => rt.pg.probe({ channel: 'api' }),
    () => rt.actions,
  );
  async function freshProbe(): Promise<Probe | null> {
    if (rt.lastObservation?.pg.dataDir === 'empty') return rt.lastProbe;
    return sharedProbe.get();
  }

  /** We hold the leader lock: acquired or renewed, and not lost or released since. */
  function hasLock(): boolean {
    return rt.lastLockOkAt !== null && Date.now() - rt.lastLockOkAt < rt.settings.ttl * 1000;
  }

  async function healthInput(): Promise<HealthInput> {
    const probe = await freshProbe();
    const status = nodeStatus(rt, probe);
    const snap = rt.lastCluster;
    const leaderMember = snap?.members.find((m) => m.name === snap.leader?.name);
    const top = Math.max(snap?.status?.optime ?? 0, leaderMember?.value.xlog_location ?? 0);
    const replayed = probe?.replayLsn ?? null;
    return {
      status,
      hasLock: hasLock(),
      tags: rt.config.tags ?? {},
      lagBytes: probe?.role === 'replica' && replayed !== null && top > 0 ? Math.max(0, top - replayed) : probe?.role === 'replica' ? null : 0,
      streaming: probe?.streaming ?? false,
      maximumLagOnFailover: rt.settings.maximumLagOnFailover,
      loopAgeMs: Date.now() - rt.lastLoopAt,
      ttl: rt.settings.ttl,
      syncStandby: isSyncMember(rt) && !rt.settings.quorumCommit,
      quorumStandby: isSyncMember(rt) && rt.settings.quorumCommit,
      standbyCluster: rt.settings.standbyCluster != null,
    };
  }

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (['GET', 'HEAD', 'OPTIONS'].includes(req.method)) return;
    const verdict = await checkUnsafeAccess(access, { socket: req.raw.socket, authorization: req.headers.authorization });
    if (verdict.ok) return;
    if (verdict.header) reply.header(...verdict.header);
    return reply.code(verdict.code).send({ error: verdict.message });
  });

  for (const path of HEALTH_PATHS) {
    app.route({
      method: ['GET', 'HEAD', 'OPTIONS'],
      url: path,
      exposeHeadRoute: false,
      handler: async (req, reply) => {
        const h = await healthInput();
        const query = new URLSearchParams(req.url.split('?')[1] ?? '');
        const code = healthCode(path, query, h);
        reply.code(code);
        if (req.method === 'GET') return patroniBody(h.status);
        return reply.send();
      },
    });
  }

  // Peers read /patroni while racing or switching over: a live probe, like every health check.
  app.get('/patroni', async () => patroniBody(nodeStatus(rt, await freshProbe())));

  app.get('/cluster', async (_req, reply) => {
    const snap = await rt.dcs.readCluster().catch(() => rt.lastCluster);
    if (!snap) return reply.code(502).send({ error: 'DCS unreachable' });
    return clusterBody(snap, rt.config.scope, rt.settings.pause);
  });

  app.get('/history', async (_req, reply) => {
    const snap = await rt.dcs.readCluster().catch(() => rt.lastCluster);
    if (!snap) return reply.code(502).send({ error: 'DCS unreachable' });
    return snap.history ?? [];
  });

  app.get('/config', async (_req, reply) => {
    const snap = await rt.dcs.readCluster().catch(() => null);
    if (!snap?.config) return reply.code(502).send({ error: 'the DCS has no /config (or is unreachable)' });
    return snap.config.value;
  });

  app.get('/metrics', async (_req, reply) => {
    const status = nodeStatus(rt, await freshProbe());
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return renderMetrics(status, {
      hasLock: hasLock(),
      pause: rt.settings.pause,
      keelVersion: KEEL_VERSION,
      failsafeEnabled: rt.settings.failsafeMode,
      failsafeMember: rt.settings.failsafeMode && rt.lastCluster?.failsafe != null && Object.hasOwn(rt.lastCluster.failsafe, rt.config.name),
    });
  });

  registerOperationRoutes(app, rt);
  registerSwitchoverRoutes(app, rt);
  registerFailsafeRoutes(app, rt, freshProbe);

  await app.listen({ host: rt.config.restapi.listen.host, port: rt.config.restapi.listen.port });
  return app;
}

/** GET /patroni and health-check bodies in Patroni 3's vocabulary (role `master`; see protocol patroniRole). */
function patroniBody(s: TNodeStatus): Omit<TNodeStatus, 'role'> & { role: string } {
  return { ...s, role: patroniRole(s.role) };
}
