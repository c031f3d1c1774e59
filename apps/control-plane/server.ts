/**
 * The control plane's one process: Next (pages), better-auth, tRPC, the REST health check, the
 * agents' WebSocket (/agents/ws) and the browsers' live feed (/live), on one port.
 *
 *   npm run build && npm run start    (production: next build, then dist/server.mjs, the esbuild
 *                                      bundle of this file from scripts/build.mjs; see README)
 *   npm run dev                        (development: tsx server.ts)
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentIngest } from './server/agents/ingest.ts';
import { createAuth } from './server/auth.ts';
import type { TAppDeps } from './server/context.ts';
import { DbHealthMonitor } from './server/db-health.ts';
import { getDatabase } from './server/db.ts';
import { loadServerEnv } from './server/env.ts';
import { createRequestHandler, createUpgradeHandler, liveAuth, type TNextHandler, type TNextUpgrade } from './server/http.ts';
import { SignInThrottle } from './server/lib/sign-in-throttle.ts';
import { LiveHub } from './server/live/hub.ts';
import { log } from './server/log.ts';
import { pruneHistory } from './server/services/prune-history.ts';
import { digestKey } from './server/lib/audit-hash.ts';
import { checkDatabaseRole } from './server/services/check-database-role.ts';
import { OperationRunner } from './server/services/operation-runner.ts';
import { signAuditDigest } from './server/services/sign-audit-digest.ts';
import { PeerBus } from './server/instances/peer-bus.ts';
import { Peers } from './server/instances/peers.ts';
import type { TLiveMessage } from './server/live/messages.ts';
import { randomUUID } from 'node:crypto';
import { AlertRunner } from './server/services/alert-runner.ts';
import { alertKeyOf, checkAlertKey } from './server/services/manage-alerts.ts';

// The app's directory (where .next is): this file's, or its parent's when running the bundle in dist/.
const HERE_FILE_DIR = path.dirname(fileURLToPath(import.meta.url));
const HERE = path.basename(HERE_FILE_DIR) === 'dist' ? path.dirname(HERE_FILE_DIR) : HERE_FILE_DIR;
const RETENTION_EVERY_MS = 10 * 60_000;
/** Pending connections the kernel may queue for accept() (Node's default is 511). */
const LISTEN_BACKLOG = 4096;
/** Wait this long after joining the peer bus before failing operations left running (peers answer within it). */
const RECOVER_AFTER_MS = 2_000;

async function startNext(dev: boolean, hostname: string, port: number): Promise<{ handle: TNextHandler; upgrade: TNextUpgrade | null }> {
  const { default: next } = await import('next');
  const app = next({ dev, dir: HERE, hostname, port });
  try {
    await app.prepare();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/production build/i.test(msg)) {
      throw new Error(`there is no Next build in ${HERE}/.next: run \`npm run build -w @keel/control-plane\` first, or set KEEL_CP_NEXT=off to serve the API only`);
    }
    throw e;
  }
  const handle = app.getRequestHandler();
  return {
    handle: (req, res) => handle(req, res),
    upgrade: dev ? (app.getUpgradeHandler() as TNextUpgrade) : null,
  };
}

async function main(): Promise<void> {
  const env = loadServerEnv();
  const { db, pool } = getDatabase(env.DATABASE_URL);
  const dbHealth = new DbHealthMonitor(db);
  const throttle = new SignInThrottle({ maxFailures: env.KEEL_CP_SIGNIN_MAX_FAILURES, windowMs: env.KEEL_CP_SIGNIN_WINDOW_MINUTES * 60_000 });
  const auth = createAuth(db, env, throttle);
  // the application's database role must not be able to rewrite the audit log (README, "Database roles")
  await checkDatabaseRole(db);
  const auditKey = digestKey(env.KEEL_CP_AUDIT_KEY, env.KEEL_CP_SECRET);
  // a key that cannot open the stored alert channels is a start-up error (alerts would silently stop)
  const alertKey = alertKeyOf({ env });
  await checkAlertKey(db, alertKey);
  const digest = async () => {
    try {
      await signAuditDigest(db, auditKey);
    } catch (e) {
      if (!dbHealth.report(e)) log('audit_digest_failed', { error: e instanceof Error ? e.message : String(e) }, 'warn');
    }
  };

  let ingest: AgentIngest | null = null;
  let live: LiveHub | null = null;
  // Other instances against the same database (server/instances/): presence, commands, live updates.
  const instanceId = randomUUID();
  // Operations started from now on (by this or another instance) are not a previous process's.
  const bootedAt = new Date();
  let bus: PeerBus | null = null;
  let runner: OperationRunner | null = null;
  const peers = new Peers(instanceId, {
    send: (m) => bus?.send(m),
    local: {
      connectedMembers: () => ingest?.connectedMembers() ?? [],
      isConnected: (id) => ingest?.isConnected(id) ?? false,
      sendCommand: (id, command) => ingest?.sendCommand(id, command) ?? false,
      disconnectToken: (tokenId, reason) => ingest?.disconnectToken(tokenId, reason) ?? 0,
      movedAway: (id) => ingest?.movedAway(id),
    },
    live: {
      publish: (m) => live?.publish(m),
      notifyUsers: (userIds, m) => live?.notifyUsers(userIds, m),
      disconnectUser: (userId, reason) => live?.disconnectUser(userId, reason) ?? 0,
    },
    runner: {
      runningOperations: () => runner?.runningOperations() ?? [],
      claimResult: (memberId, m) => runner?.claimResult(memberId, m) ?? false,
      undeliverable: (commandId, memberId) => runner?.undeliverable(commandId, memberId),
      failOrphaned: async (ids, reason) => runner?.failOrphaned(ids, reason),
    },
    log: (e, f) => log(e, f),
  });
  /** To this instance's browsers and, through the peers, to every other instance's. */
  const publish = (m: TLiveMessage) => {
    live?.publish(m);
    peers.forwardLive(m);
  };
  const presence = {
    isConnected: (id: string) => peers.isConnected(id),
    disconnectToken: (tokenId: string, reason: string) => peers.disconnectToken(tokenId, reason),
  };
  runner = new OperationRunner({
    db,
    presence,
    send: (memberId, command) => peers.sendCommand(memberId, command),
    changed: (op) => publish({ type: 'operation', cluster: op.cluster, id: op.id, status: op.status }),
    finished: () => void digest(),
    unclaimed: (memberId, m) => peers.forwardResult(memberId, m),
    log: (e, f) => log(e, f),
  });
  const deps: TAppDeps = {
    db, env, auth, dbHealth, presence, runner, auditKey,
    live: { disconnectUser: (userId, reason) => peers.disconnectUser(userId, reason) },
    notify: (userIds, message) => {
      const m = { type: 'notice' as const, message, at: new Date().toISOString() };
      live?.notifyUsers(userIds, m);
      peers.forwardNotice(userIds, m);
    },
    publish,
  };
  live = new LiveHub(liveAuth(deps, env.KEEL_CP_STALE_AFTER_SECONDS));
  ingest = new AgentIngest({
    db, pool, dbHealth, publish, staleAfterSeconds: env.KEEL_CP_STALE_AFTER_SECONDS, log: (e, f) => log(e, f),
    incidentQuietMs: env.KEEL_CP_INCIDENT_QUIET_SECONDS * 1000,
    limits: { maxSkewMs: env.KEEL_CP_MAX_CLOCK_SKEW_SECONDS * 1000, messagesPerSecond: env.KEEL_CP_AGENT_MESSAGES_PER_SECOND, burstMessages: env.KEEL_CP_AGENT_BURST_MESSAGES },
    onOperationMessage: (id, m) => (runner as OperationRunner).onMessage(id.memberId, m),
    onPresence: (memberId, connected) => peers.presence(memberId, connected),
  });
  const alerts = new AlertRunner({
    db,
    everyMs: env.KEEL_CP_ALERT_EVAL_SECONDS * 1000,
    view: () => ({ now: new Date(), staleAfterSeconds: env.KEEL_CP_STALE_AFTER_SECONDS, presence }),
    deliver: { key: alertKey, baseUrl: env.KEEL_CP_PUBLIC_URL ?? null },
    log: (e, f, level) => log(e, f, level),
    dbError: (e) => dbHealth.report(e),
  });
  alerts.start();
  bus = new PeerBus({
    databaseUrl: env.DATABASE_URL, pool, instanceId,
    onMessage: (from, m) => peers.onMessage(from, m),
    onListening: () => peers.start(),
    log: (e, f) => log(e, f),
  });
  await bus.start();
  // Operations a previous process left running are failed, but not those another live instance
  // runs: recovery waits one heartbeat round for the others to say which they are.
  const recover = async () => {
    try {
      const recovered = await (runner as OperationRunner).recover(peers.peerOperations(), bootedAt);
      if (recovered > 0) log('operations_failed_at_start', { count: recovered }, 'warn');
    } catch (e) {
      if (!dbHealth.report(e)) log('recovery_failed', { error: e instanceof Error ? e.message : String(e) }, 'warn');
    }
  };
  setTimeout(() => void recover(), RECOVER_AFTER_MS).unref();
  const digestTimer = setInterval(() => void digest(), env.KEEL_CP_AUDIT_DIGEST_SECONDS * 1000);
  digestTimer.unref();
  dbHealth.onChange((database) => {
    log(database.ok ? 'database_back' : 'database_unreachable', { error: database.error }, database.ok ? 'info' : 'warn');
    live.publish({ type: 'database', database });
  });
  dbHealth.start();

  const nextPart = env.KEEL_CP_NEXT === 'on' ? await startNext(env.NODE_ENV === 'development', env.KEEL_CP_HOST, env.KEEL_CP_PORT) : null;
  const parts = { deps, ingest, live, next: nextPart, log };
  const handle = createRequestHandler(parts);
  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log('request_failed', { url: req.url, error: e instanceof Error ? e.message : String(e) }, 'error');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  server.on('upgrade', createUpgradeHandler(parts));

  const retention = async () => {
    try {
      const r = await pruneHistory(db, {
        rawRetentionHours: env.KEEL_CP_RAW_RETENTION_HOURS,
        minuteRetentionDays: env.KEEL_CP_MINUTE_RETENTION_DAYS,
        eventRetentionDays: env.KEEL_CP_EVENT_RETENTION_DAYS,
      });
      if (r.samples + r.minutes + r.events > 0) log('retention', r);
    } catch (e) {
      if (!dbHealth.report(e)) log('retention_failed', { error: e instanceof Error ? e.message : String(e) }, 'warn');
    }
    throttle.prune();
  };
  const retentionTimer = setInterval(() => void retention(), RETENTION_EVERY_MS);
  retentionTimer.unref();
  setTimeout(() => void retention(), 15_000).unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A restarted control plane is met by every agent reconnecting at once: a deeper accept queue than
    // Node's 511 (the kernel caps it at net.core.somaxconn) queues them instead of resetting them.
    server.listen({ port: env.KEEL_CP_PORT, host: env.KEEL_CP_HOST, backlog: LISTEN_BACKLOG }, () => resolve());
  });
  log('listening', {
    url: `http://${env.KEEL_CP_HOST}:${env.KEEL_CP_PORT}`,
    pages: env.KEEL_CP_NEXT === 'on',
    mode: env.NODE_ENV,
    secureCookies: env.KEEL_CP_SECURE_COOKIES,
    agents: '/agents/ws',
    live: '/live',
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('stopping', { signal });
    setTimeout(() => process.exit(0), 5000).unref();
    clearInterval(retentionTimer);
    clearInterval(digestTimer);
    alerts.stop();
    dbHealth.stop();
    peers.stop();
    void bus?.close();
    ingest?.close();
    live?.close();
    server.close();
    server.closeAllConnections();
    void db.$disconnect().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  log('start_failed', { error: e instanceof Error ? e.message : String(e) }, 'error');
  process.exit(1);
});
