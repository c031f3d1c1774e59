import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, fetch as undiciFetch } from 'undici';
import YAML from 'yaml';
import { TestCa, type CertFiles } from './certs.ts';
import { startEtcd, type EtcdHandle } from './etcd.ts';
import { startZooKeeper, type ZooKeeperHandle } from './zookeeper.ts';
import { freePorts } from './ports.ts';
import { TcpProxy } from './proxy.ts';
import { childrenRunning, isAlive } from './processes.ts';
import { waitFor } from './wait.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const AGENT_MAIN = path.join(REPO_ROOT, 'apps/agent/src/main.ts');
const TSX_LOADER = path.join(REPO_ROOT, 'node_modules/tsx/dist/esm/index.mjs');
/** The production entry point: runs the bundle `npm run build` writes (apps/agent/dist/). */
export const AGENT_BIN = path.join(REPO_ROOT, 'apps/agent/bin/keel-agent.js');

/** The unprivileged OS user PostgreSQL (and so the agent) runs as when we are root. */
export interface OsUser {
  uid: number;
  gid: number;
  name: string;
}

export function postgresOsUser(): OsUser | null {
  if (process.getuid?.() !== 0) return null;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root but there is no `postgres` OS user to run PostgreSQL as');
  const f = line.split(':');
  return { name: 'postgres', uid: Number(f[2]), gid: Number(f[3]) };
}

export interface ClusterOptions {
  members?: number;
  scope?: string;
  ttl?: number;
  loopWait?: number;
  retryTimeout?: number;
  maximumLagOnFailover?: number;
  primaryStartTimeout?: number;
  useRewind?: boolean;
  /**
   * The DCS the agents use: etcd (default) or a standalone ZooKeeper (`zookeeper:` in their YAML;
   * then `cluster.etcd` is not set and `cluster.zookeeper` is).
   */
  dcs?: 'etcd' | 'zookeeper';
  /** Put a TcpProxy between each agent and etcd (for partition tests). */
  etcdProxies?: boolean;
  /**
   * Put a TcpProxy in front of each member's PostgreSQL and REST API and publish the proxies as its
   * connect addresses (conn_url, api_url): what the other members use. The test's own clients (REST,
   * SQL, writers) still go straight to the member, so partitionFromPeers() cuts it off from its peers only.
   */
  peerProxies?: boolean;
  /** Per-member tags, by index. */
  tags?: Array<Record<string, unknown> | undefined>;
  /** Where to put everything (default: a new temp dir, removed by stop() unless keepData). */
  baseDir?: string;
  keepData?: boolean;
  /** Log type of the agents (json by default: tests parse the logs). */
  logType?: 'json' | 'plain';
  /** Called with each agent's config before it is written. */
  tweak?: (config: Record<string, unknown>, index: number) => void;
  /** Start the agents (default true). */
  startAgents?: boolean;
  /**
   * How the agents run: `tsx` (default, the TypeScript sources) or `built` (apps/agent/bin, the
   * bundle of `npm run build`, as in production; build it first).
   */
  agentRuntime?: 'tsx' | 'built';
  /**
   * TLS everywhere, with certificates from a test CA made in <dir>/tls (TestCluster.tls): etcd with
   * --client-cert-auth, the REST APIs over https with verify_client (default required), and
   * PostgreSQL with ssl = on where replication connections must use `hostssl ... clientcert=verify-ca`
   * with the replication role's sslmode/sslcert/sslkey/sslrootcert.
   */
  tls?: boolean | { verifyClient?: 'none' | 'optional' | 'required' };
  /**
   * The credentials to use instead of new random ones: a standby cluster copies another cluster's data,
   * roles and passwords included, so it must use that cluster's.
   */
  credentials?: Credentials;
}

/** The certificates of a TLS test cluster. */
export interface ClusterTls {
  ca: TestCa;
  /** etcd's server certificate. */
  etcd: CertFiles;
  /** The agents' certificate: REST API server, client to other agents and to etcd. */
  agent: CertFiles;
  /** PostgreSQL's server certificate. */
  postgres: CertFiles;
  /** The replication role's client certificate (CN = replicator). */
  replication: CertFiles;
  /** A client certificate for the tests themselves (REST calls, etcdctl). */
  client: CertFiles;
}

export interface Credentials {
  superuser: { username: string; password: string };
  replication: { username: string; password: string };
  rewind: { username: string; password: string };
  restapi: { username: string; password: string };
}

/** One member: its agent process, its PostgreSQL, its files. */
export class Member {
  agent: ChildProcess | null = null;
  proxy: TcpProxy | null = null;
  /** With peerProxies: the proxies the other members reach this member's PostgreSQL and REST API through. */
  peerProxies: { pg: TcpProxy; rest: TcpProxy } | null = null;

  /** Partition this member from its peers (not from etcd, not from the test): both peer proxies drop everything. */
  partitionFromPeers(): void {
    if (!this.peerProxies) throw new Error(`${this.name}: the cluster was started without peerProxies`);
    this.peerProxies.pg.blackhole();
    this.peerProxies.rest.blackhole();
  }

  /** End partitionFromPeers(): held connections are reset, so the peers reconnect. */
  healPeers(): void {
    this.peerProxies?.pg.heal({ reset: true });
    this.peerProxies?.rest.heal({ reset: true });
  }
  constructor(
    readonly name: string,
    readonly dir: string,
    readonly configPath: string,
    readonly logPath: string,
    readonly dataDir: string,
    readonly pgPort: number,
    readonly restPort: number,
    private readonly cluster: TestCluster,
  ) {}

  get apiUrl(): string {
    return `${this.cluster.tls ? 'https' : 'http'}://127.0.0.1:${this.restPort}`;
  }

  get agentPid(): number | null {
    return this.agent?.pid ?? null;
  }

  /** Start the agent (as the postgres OS user when we are root). */
  start(): void {
    if (this.agent && this.agent.exitCode === null && this.agent.signalCode === null) throw new Error(`${this.name}: agent already running`);
    const out = fs.openSync(this.logPath, 'a');
    const user = this.cluster.osUser;
    // Built: the bin itself, as a service runs it (its shebang carries the agent's V8 flags).
    const built = this.cluster.options.agentRuntime === 'built';
    const [cmd, args] = built ? [AGENT_BIN, [this.configPath]] : [process.execPath, ['--import', TSX_LOADER, AGENT_MAIN, this.configPath]];
    this.agent = spawn(cmd, args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', out, out],
      detached: true,
      env: { ...process.env, HOME: user ? '/var/lib/postgresql' : process.env.HOME, TSX_DISABLE_CACHE: '0' },
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    fs.closeSync(out);
    this.agent.unref();
  }

  /** SIGTERM the agent (it stops PostgreSQL and releases its lock) and wait for it to exit. */
  async stopAgent(timeoutMs = 60_000): Promise<void> {
    const a = this.agent;
    if (!a || a.exitCode !== null || a.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => a.once('exit', () => resolve()));
    a.kill('SIGTERM');
    const t = setTimeout(() => a.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(t);
  }

  async kill9Agent(): Promise<void> {
    const a = this.agent;
    if (!a || a.exitCode !== null || a.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => a.once('exit', () => resolve()));
    a.kill('SIGKILL');
    await exited;
  }

  /** The postmaster's PID from postmaster.pid, if it is alive. */
  postmasterPid(): number | null {
    try {
      const pid = Number(fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return pid && isAlive(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  async kill9Postgres(): Promise<void> {
    const pid = this.postmasterPid();
    if (!pid) return;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, message: `${this.name}: postmaster ${pid} to exit` });
    // Its children (backends, walsender, ...) exit on their own once the postmaster is gone.
  }

  /**
   * kill -9 of the agent, its keel-fence and the postmaster: the node is gone (a crashed node takes
   * its fence with it; kill9Agent() alone leaves the fence to stop PostgreSQL and hand over).
   */
  async kill9Node(): Promise<void> {
    const agent = this.agentPid;
    // The fence first, in the same tick as the agent: it must not see the agent die.
    for (const pid of agent ? childrenRunning(agent, 'keel-fence.sh') : []) process.kill(pid, 'SIGKILL');
    await this.kill9Agent();
    await this.kill9Postgres();
  }

  async api<T = unknown>(p: string, init?: RequestInit): Promise<{ status: number; body: T }> {
    const res = await this.cluster.fetch(`${this.apiUrl}${p}`, { ...init, signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON (e.g. /metrics) */
    }
    return { status: res.status, body: body as T };
  }

  /** Run SQL as the superuser over TCP. */
  async sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<T[]> {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: this.pgPort,
      user: this.cluster.credentials.superuser.username,
      password: this.cluster.credentials.superuser.password,
      database: 'postgres',
      connectionTimeoutMillis: 3000,
      statement_timeout: 10_000,
    });
    // A server that dies under the connection (the point of many tests) must not become an
    // uncaught 'error' event: the pending query rejects, which is what the caller sees.
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<T>(text, params)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** The agent's JSON log lines so far. */
  logs(): Array<Record<string, unknown>> {
    let text = '';
    try {
      text = fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  }

  logTail(lines = 30): string {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}


/**
 * A real Keel cluster for tests, the demo and the benchmarks: one etcd and N agents (each with
 * its PostgreSQL) on free loopback ports in a temp dir. stop() kills every process it started,
 * by PID, and removes the directory unless keepData.
 */
export class TestCluster {
  readonly members: Member[] = [];
  etcd!: EtcdHandle;
  /** The ZooKeeper, when started with `dcs: 'zookeeper'`. */
  zookeeper: ZooKeeperHandle | null = null;
  readonly credentials: Credentials;
  readonly osUser: OsUser | null;
  /** Certificates, when started with `tls`. */
  tls: ClusterTls | null = null;
  private dispatcher: Agent | null = null;
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly scope: string,
    readonly options: ClusterOptions,
  ) {
    const pw = () => randomBytes(12).toString('hex');
    this.credentials = options.credentials ?? {
      superuser: { username: 'postgres', password: pw() },
      replication: { username: 'replicator', password: pw() },
      rewind: { username: 'rewind_user', password: pw() },
      restapi: { username: 'keel', password: pw() },
    };
    this.osUser = postgresOsUser();
  }

  static async start(options: ClusterOptions = {}): Promise<TestCluster> {
    const base = options.baseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'keel-cluster-'));
    fs.mkdirSync(base, { recursive: true });
    const c = new TestCluster(base, options.scope ?? 'keel-test', options);
    try {
      await c.init();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  get ttl(): number {
    return this.options.ttl ?? 10;
  }
  get loopWait(): number {
    return this.options.loopWait ?? 2;
  }

  /**
   * fetch() for the agents' REST APIs: over a TLS cluster it verifies them with the test CA and
   * presents the tests' client certificate.
   */
  fetch(url: string, init?: RequestInit): Promise<Response> {
    if (!this.dispatcher) return fetch(url, init);
    return undiciFetch(url, { ...(init as object), dispatcher: this.dispatcher }) as unknown as Promise<Response>;
  }

  private async makeTls(): Promise<ClusterTls> {
    const ca = await TestCa.create(path.join(this.dir, 'tls'), this.osUser);
    const [etcd, agent, postgres, replication, client] = [
      await ca.issue('etcd'),
      await ca.issue('agent'),
      await ca.issue('postgres'),
      await ca.issue(this.credentials.replication.username),
      await ca.issue('test-client'),
    ];
    const read = (f: string) => fs.readFileSync(f);
    this.dispatcher = new Agent({ connect: { ca: read(ca.caCert), cert: read(client.cert), key: read(client.key) } });
    return { ca, etcd, agent, postgres, replication, client };
  }

  private async init(): Promise<void> {
    const o = this.options;
    const n = o.members ?? 3;
    fs.chmodSync(this.dir, 0o755);
    if (o.tls) this.tls = await this.makeTls();
    const t = this.tls;
    if (o.dcs === 'zookeeper') {
      if (t) throw new Error('TestCluster: TLS is not available with ZooKeeper');
      this.zookeeper = await startZooKeeper();
    } else {
      this.etcd = await startEtcd({
        dataDir: path.join(this.dir, 'etcd'),
        ...(t ? { tls: { ca: t.ca.caCert, cert: t.etcd.cert, key: t.etcd.key, client: t.client } } : {}),
      });
    }
    const dcsHostPort = this.zookeeper?.hostPort ?? this.etcd.hostPort;
    const ports = await freePorts(n * 2);
    for (let i = 0; i < n; i++) {
      const name = `node${i + 1}`;
      const dir = path.join(this.dir, name);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const dataDir = path.join(dir, 'data');
      const pgPort = ports[i * 2]!;
      const restPort = ports[i * 2 + 1]!;
      const m = new Member(name, dir, path.join(dir, 'keel.yml'), path.join(dir, 'agent.log'), dataDir, pgPort, restPort, this);
      let etcdHost = dcsHostPort;
      if (o.etcdProxies) {
        m.proxy = new TcpProxy(dcsHostPort);
        etcdHost = `127.0.0.1:${await m.proxy.start()}`;
      }
      let peerAddress: { pg: string; rest: string } | null = null;
      if (o.peerProxies) {
        m.peerProxies = { pg: new TcpProxy(`127.0.0.1:${pgPort}`), rest: new TcpProxy(`127.0.0.1:${restPort}`) };
        peerAddress = { pg: `127.0.0.1:${await m.peerProxies.pg.start()}`, rest: `127.0.0.1:${await m.peerProxies.rest.start()}` };
      }
      const config = this.agentConfig(m, etcdHost, o.tags?.[i], peerAddress);
      o.tweak?.(config, i);
      fs.writeFileSync(m.configPath, YAML.stringify(config), { mode: 0o600 });
      if (this.osUser) {
        for (const p of [dir, m.configPath]) fs.chownSync(p, this.osUser.uid, this.osUser.gid);
      }
      this.members.push(m);
    }
    if (o.startAgents !== false) for (const m of this.members) m.start();
  }

  private agentConfig(
    m: Member,
    etcdHost: string,
    tags: Record<string, unknown> | undefined,
    peerAddress: { pg: string; rest: string } | null = null,
  ): Record<string, unknown> {
    const o = this.options;
    const c = this.credentials;
    const config: Record<string, unknown> = {
      scope: this.scope,
      namespace: '/service/',
      name: m.name,
      log: { level: 'INFO', type: o.logType ?? 'json' },
      restapi: {
        listen: `127.0.0.1:${m.restPort}`,
        connect_address: peerAddress?.rest ?? `127.0.0.1:${m.restPort}`,
        authentication: c.restapi,
      },
      ...(this.zookeeper ? { zookeeper: { hosts: [etcdHost] } } : { etcd3: { hosts: etcdHost } }),
      bootstrap: {
        dcs: {
          ttl: this.ttl,
          loop_wait: this.loopWait,
          retry_timeout: o.retryTimeout ?? 3,
          maximum_lag_on_failover: o.maximumLagOnFailover ?? 1048576,
          primary_start_timeout: o.primaryStartTimeout ?? 30,
          postgresql: {
            use_pg_rewind: o.useRewind ?? true,
            use_slots: true,
            parameters: { max_connections: 50, shared_buffers: '32MB', wal_keep_size: '128MB' },
          },
        },
        initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums'],
      },
      postgresql: {
        listen: `127.0.0.1:${m.pgPort}`,
        connect_address: peerAddress?.pg ?? `127.0.0.1:${m.pgPort}`,
        data_dir: m.dataDir,
        pgpass: path.join(m.dir, 'pgpass'),
        authentication: { superuser: c.superuser, replication: c.replication, rewind: c.rewind },
        parameters: {
          unix_socket_directories: m.dir,
          logging_collector: 'off',
          log_min_messages: 'warning',
          fsync: 'on',
        },
        pg_hba: [
          'local all all trust',
          'host all all 127.0.0.1/32 scram-sha-256',
          `host replication ${c.replication.username} 127.0.0.1/32 scram-sha-256`,
        ],
      },
      tags: tags ?? { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
      watchdog: { mode: 'off' },
    };
    if (this.tls) this.secure(config);
    return config;
  }

  /** The TLS settings of a TLS cluster, as a Patroni user would write them. */
  private secure(config: Record<string, unknown>): void {
    const t = this.tls!;
    const verifyClient = typeof this.options.tls === 'object' ? (this.options.tls.verifyClient ?? 'required') : 'required';
    const restapi = config.restapi as Record<string, unknown>;
    Object.assign(restapi, { certfile: t.agent.cert, keyfile: t.agent.key, cafile: t.ca.caCert, verify_client: verifyClient });
    Object.assign(config.etcd3 as Record<string, unknown>, { protocol: 'https', cacert: t.ca.caCert, cert: t.agent.cert, key: t.agent.key });
    const pgc = config.postgresql as Record<string, Record<string, unknown> | unknown>;
    const params = pgc.parameters as Record<string, unknown>;
    Object.assign(params, { ssl: 'on', ssl_cert_file: t.postgres.cert, ssl_key_file: t.postgres.key, ssl_ca_file: t.ca.caCert });
    const auth = pgc.authentication as Record<string, Record<string, unknown>>;
    Object.assign(auth.replication!, { sslmode: 'verify-ca', sslcert: t.replication.cert, sslkey: t.replication.key, sslrootcert: t.ca.caCert });
    const repl = this.credentials.replication.username;
    // Replication only over TLS with a client certificate signed by the test CA (and the password).
    pgc.pg_hba = [
      'local all all trust',
      `hostssl replication ${repl} 127.0.0.1/32 scram-sha-256 clientcert=verify-ca`,
      'host all all 127.0.0.1/32 scram-sha-256',
    ];
  }

  member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** The member whose /primary answers 200 (holds the lock and runs as primary). */
  async primary(): Promise<Member | null> {
    const answers = await Promise.all(
      this.members.map(async (m) => {
        try {
          return (await m.api('/primary')).status === 200 ? m : null;
        } catch {
          return null;
        }
      }),
    );
    const primaries = answers.filter((m): m is Member => m !== null);
    if (primaries.length > 1) throw new Error(`split brain: ${primaries.map((m) => m.name).join(', ')} all answer /primary`);
    return primaries[0] ?? null;
  }

  async waitForPrimary(timeoutMs: number, exclude?: string): Promise<Member> {
    return waitFor(
      async () => {
        const p = await this.primary();
        return p && p.name !== exclude ? p : null;
      },
      { timeoutMs, intervalMs: 100, message: `a primary${exclude ? ` other than ${exclude}` : ''} (logs:\n${this.members.map((m) => `--- ${m.name}\n${m.logTail(8)}`).join('\n')})` },
    );
  }

  /** Wait until every given member answers /replica 200 (running, streaming replica). */
  async waitForReplicas(names: string[], timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        for (const n of names) {
          const r = await this.member(n).api('/replica?replication_state=streaming').catch(() => null);
          if (r?.status !== 200) return false;
        }
        return true;
      },
      { timeoutMs, message: `replicas ${names.join(', ')} running (logs:\n${this.members.map((m) => `--- ${m.name}\n${m.logTail(8)}`).join('\n')})` },
    );
  }

  /**
   * For scripts (benchmarks): stop this cluster, by PID, when the script is interrupted (Ctrl-C,
   * SIGTERM from `timeout`), then exit. Returns a function that removes the handlers.
   */
  stopOnSignals(): () => void {
    const handler = (signal: NodeJS.Signals) => {
      void this.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  }

  /** Stop everything this cluster started, by PID. Idempotent. */
  async stop(opts: { graceful?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (opts.graceful) await Promise.all(this.members.map((m) => m.stopAgent(30_000).catch(() => undefined)));
    for (const m of this.members) {
      // the whole node, its keel-fence included: a fence that saw its agent die would still be
      // stopping PostgreSQL (and writing into the data directory) while it is removed
      await m.kill9Node().catch(() => undefined);
      await m.kill9Postgres().catch(() => undefined);
      await m.proxy?.stop().catch(() => undefined);
      await m.peerProxies?.pg.stop().catch(() => undefined);
      await m.peerProxies?.rest.stop().catch(() => undefined);
    }
    await this.etcd?.stop().catch(() => undefined);
    await this.zookeeper?.stop().catch(() => undefined);
    await this.dispatcher?.close().catch(() => undefined);
    if (!this.options.keepData && !this.options.baseDir) fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}
