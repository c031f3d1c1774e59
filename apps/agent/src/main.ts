import { execFileSync } from 'node:child_process';
import { EtcdDcs, ZooKeeperDcs, type Dcs } from '@keel/dcs';
import { resolveSettings } from '@keel/ha-core';
import { Postgres, type Credentials } from '@keel/postgres';
import { ConfigError, loadConfig, type AgentConfig, type PgUser } from './config.ts';
import { FatalError } from './executors/role.ts';
import { startRestApi } from './http/server.ts';
import { createLogger } from './log.ts';
import { HaLoop } from './loop.ts';
import { Fence } from './fence/index.ts';
import { Heartbeat } from './heartbeat.ts';
import { startUplink } from './uplink/index.ts';
import { AgentEvents } from './agent-events.ts';
import { Callbacks } from './callbacks.ts';
import { reloadLocalConfig } from './ops/reload-config.ts';
import { OperationRegistry } from './ops/registry.ts';
import { KEEL_VERSION, type LoopCommands, type Runtime } from './runtime.ts';
import { PeerClient } from './peers.ts';
import { FailsafeMemory } from './failsafe.ts';
import { WatchdogDevice } from './watchdog.ts';
import { clientTls, etcdTls, restApiTls, TlsSetupError } from './tls.ts';
import { memberValue } from './status.ts';
import { MemberJoins } from './member-joins.ts';

const USAGE = `usage: keel-agent <config.yml>

Runs the Keel HA agent beside one PostgreSQL instance. The configuration is Patroni's YAML
(see README.md, "Configuration reference"). Run it as the OS user that owns the data directory.`;

function fail(message: string, code: number): never {
  process.stderr.write(`keel-agent: ${message}\n`);
  process.exit(code);
}

function findBinDir(config: AgentConfig): string {
  if (config.postgresql.bin_dir) return config.postgresql.bin_dir;
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return fail('postgresql.bin_dir is not set and `pg_config --bindir` failed: set postgresql.bin_dir', 2);
  }
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg || arg === '--help' || arg === '-h') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(arg ? 0 : 2);
  }
  if (arg === '--version') {
    process.stdout.write(`keel-agent ${KEEL_VERSION}\n`);
    process.exit(0);
  }

  let config: AgentConfig;
  let warnings: string[];
  try {
    ({ config, warnings } = loadConfig(arg));
  } catch (e) {
    if (e instanceof ConfigError) fail(`invalid configuration in ${arg}:\n${e.message}`, 2);
    fail(`cannot read ${arg}: ${(e as Error).message}`, 2);
  }
  if (process.getuid?.() === 0) {
    fail(
      'refusing to run as root: PostgreSQL cannot run as root. Run keel-agent as the OS user that owns ' +
        `postgresql.data_dir, e.g.: runuser -u postgres -- keel-agent ${arg}`,
      2,
    );
  }

  const log = createLogger({ level: config.log?.level, type: config.log?.type, name: config.name, scope: config.scope });
  for (const w of warnings) log.warn({ config: arg }, w);

  // Certificates and keys: read now, so a missing or unusable one stops the agent before anything runs.
  let tls: { rest: ReturnType<typeof restApiTls>; client: ReturnType<typeof clientTls>; etcd: ReturnType<typeof etcdTls> };
  try {
    tls = { rest: restApiTls(config), client: clientTls(config), etcd: etcdTls(config) };
  } catch (e) {
    if (e instanceof TlsSetupError) fail(`invalid TLS configuration in ${arg}: ${e.message}`, 2);
    throw e;
  }

  const settings = resolveSettings(config.bootstrap?.dcs ?? null);
  const etcd3 = config.etcd3;
  let dcs: Dcs;
  if (config.zookeeper) {
    dcs = new ZooKeeperDcs({ hosts: config.zookeeper.hosts, namespace: config.namespace, scope: config.scope, callTimeoutMs: settings.retryTimeout * 1000 });
  } else if (etcd3) {
    dcs = new EtcdDcs({
      hosts: { hosts: etcd3.hosts, protocol: etcd3.protocol },
      namespace: config.namespace,
      scope: config.scope,
      callTimeoutMs: settings.retryTimeout * 1000,
      username: etcd3.username,
      password: etcd3.password,
      ...(tls.etcd ? { tls: tls.etcd } : {}),
    });
  } else {
    fail(`invalid configuration in ${arg}: no DCS section (etcd3 or zookeeper)`, 2);
  }
  const pgc = config.postgresql;
  const pg = new Postgres({
    memberName: config.name,
    binDir: findBinDir(config),
    dataDir: pgc.data_dir,
    listenHost: pgc.listen.host,
    port: pgc.listen.port,
    connectAddress: pgc.connect_address,
    socketDir: typeof pgc.parameters?.unix_socket_directories === 'string' ? pgc.parameters.unix_socket_directories.split(',')[0]!.trim() : undefined,
    superuser: credentials(pgc.authentication.superuser),
    replication: credentials(pgc.authentication.replication),
    rewind: pgc.authentication.rewind ? credentials(pgc.authentication.rewind) : undefined,
    pgpassPath: pgc.pgpass,
    parameters: {},
    pgHba: pgc.pg_hba ?? config.bootstrap?.pg_hba ?? defaultPgHba(config),
  });

  // Services and state first, then the loop (it installs the LoopCommands), then what sends requests.
  const base: Omit<Runtime, keyof LoopCommands> = {
    config,
    dcs,
    pg,
    log,
    peers: new PeerClient(tls.client, (fields, message) => log.warn(fields, message)),
    memory: { inFlight: null, lastFailure: null, pgDownSince: null, following: null, formerPrimary: false },
    settings,
    dynamicConfig: null,
    lastCluster: null,
    lastObservation: null,
    lastProbe: null,
    lastDecision: null,
    lastLoopAt: Date.now(),
    actions: { epoch: 0, busy: 0 },
    dcsLastSeen: 0,
    lastLockOkAt: null,
    lastMemberJson: null,
    lastStatusJson: null,
    stopping: false,
    configPath: arg,
    ops: new OperationRegistry(),
    events: new AgentEvents(),
    callbacks: undefined as unknown as Callbacks,
    failsafe: new FailsafeMemory(),
    scheduledRestart: null,
    appliedParametersJson: null,
    lastActionFailure: null,
    syncStandbyNames: null,
    fence: null,
  };
  const loop = new HaLoop(base);
  const rt = loop.rt;
  rt.callbacks = new Callbacks(rt);
  rt.watchdog = new WatchdogDevice(() => rt.config, log);

  const fence = new Fence(rt);
  fence.start();
  rt.fence = fence;
  rt.heartbeat = new Heartbeat(rt);
  const api = await startRestApi(rt, tls.rest).catch((e: Error) =>
    fail(`cannot listen on restapi.listen ${config.restapi.listen.host}:${config.restapi.listen.port}: ${e.message}`, 1),
  );
  // The control plane is never on the failover path: the uplink only buffers and sends.
  const uplink = startUplink(rt);
  const memberJoins = new MemberJoins(rt);
  loop.onTick = (obs, decision) => {
    memberJoins.update();
    uplink.onTick(obs, decision);
  };
  const unwatch = await dcs
    .watchLeader(() => rt.wake())
    .catch((e: Error) => {
      log.warn({ err: e.message }, 'cannot watch the leader key yet; relying on loop_wait');
      return async () => undefined;
    });
  const unwatchFailover = await dcs.watchFailover(() => rt.wake()).catch(() => async () => undefined);
  log.info({ version: KEEL_VERSION, restapi: `${config.restapi.connect_address.host}:${config.restapi.connect_address.port}` }, 'keel-agent started');

  let shuttingDown = false;
  async function shutdown(signal: string, code: number): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    // Pause (maintenance mode) is what lets an operator restart or upgrade the agent without touching
    // the database: PostgreSQL keeps running and the keys stay until their lease expires (Patroni).
    const paused = rt.settings.pause;
    log.info(
      { signal },
      paused
        ? 'shutting down in maintenance mode (pause): PostgreSQL is left running and the leader key is not deleted'
        : 'shutting down: stopping PostgreSQL and releasing the leader lock',
    );
    // Wait for an action in flight (a start, a clone ...) first: stopping PostgreSQL while a start
    // is still under way would leave a postmaster behind with no agent.
    const startBudgetMs = (Math.max(60, rt.settings.primaryStartTimeout) + 30) * 1000;
    rt.heartbeat?.stop();
    if (!(await loop.stop(startBudgetMs))) log.error('the action in progress did not finish in time; shutting down anyway');
    rt.watchdog?.disable('shutting down'); // magic close: the device must not reset the machine after a clean exit
    if (paused) {
      // No automatic failover happens in pause, so nobody takes over from this primary: disarm the
      // fencing process, or it would stop PostgreSQL at the deadline (ARCHITECTURE.md, "Pause").
      fence.stop();
      await dcs.keepAlive().catch(() => false); // the keys last a full ttl from now
    } else {
      const wasLeader = rt.lastLockOkAt !== null;
      const role = rt.lastProbe?.role ?? 'replica';
      const wasRunning = rt.lastProbe?.running === true;
      await pg.stop('fast', 60).catch((e: Error) => log.error({ err: e.message }, 'could not stop PostgreSQL'));
      if (wasRunning) rt.callbacks.fire('on_stop', role);
      fence.stop(); // PostgreSQL is stopped: nothing left to fence
      if (wasLeader) await dcs.releaseLeader(config.name).catch(() => undefined);
      // The member key stays until its lease expires (Patroni's touch_member on shutdown), showing
      // the member stopped: the leader keeps its replication slot, so a restarted replica streams
      // again at once instead of finding its slot dropped.
      rt.lastProbe = await pg.probe().catch(() => rt.lastProbe);
      rt.lastObservation = null;
      await dcs.keepAlive().catch(() => false); // a full ttl from now for a restart to find it
      await dcs.touchMember(config.name, memberValue(rt)).catch((e: Error) => log.warn({ err: e.message }, 'could not publish the stopped state'));
    }
    await unwatch().catch(() => undefined);
    await unwatchFailover().catch(() => undefined);
    await memberJoins.stop();
    await dcs.close().catch(() => undefined); // closes the client; the lease is not revoked
    await pg.close().catch(() => undefined);
    await uplink.stop().catch(() => undefined);
    await api.close().catch(() => undefined);
    await rt.peers.close();
    log.info('stopped');
    log.flush?.();
    setTimeout(() => process.exit(code), 50);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGHUP', () => {
    void reloadLocalConfig(rt)
      .then((r) => r.done)
      .then(
        () => log.info('configuration reloaded (SIGHUP)'),
        (e: Error) => log.error({ err: e.message }, 'reload refused'),
      );
  });

  loop.start().catch((e: Error) => {
    if (e instanceof FatalError) {
      log.fatal(e.message);
      // A fatal condition (e.g. a system identifier mismatch): leave PostgreSQL alone and exit.
      process.exit(1);
    }
    log.error({ err: e.message }, 'HA loop crashed');
    void shutdown('loop-crash', 1);
  });
}

/** A role from postgresql.authentication: its name, password and libpq parameters (sslmode, sslcert, ...). */
function credentials(u: PgUser): Credentials {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(u)) if (k !== 'username' && k !== 'password' && v !== undefined) params[k] = v;
  return { username: u.username, password: u.password ?? '', ...(Object.keys(params).length ? { params } : {}) };
}

/** Loopback-only access when neither postgresql.pg_hba nor bootstrap.pg_hba is configured. */
function defaultPgHba(config: AgentConfig): string[] {
  const repl = config.postgresql.authentication.replication.username;
  return [
    'local all all scram-sha-256',
    'host all all 127.0.0.1/32 scram-sha-256',
    'host all all ::1/128 scram-sha-256',
    `local replication ${repl} scram-sha-256`,
    `host replication ${repl} 127.0.0.1/32 scram-sha-256`,
    `host replication ${repl} ::1/128 scram-sha-256`,
  ];
}

await main();
