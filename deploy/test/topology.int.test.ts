/**
 * docker-compose.yml's topology as local processes, on the committed config files (rewritten only
 * for addresses, ports and directories: deploy/test/native.ts): etcd, 3 x (PostgreSQL + keel-agent
 * on deploy/keel/node*.yml, passwords from the environment as in compose), Debian's HAProxy on
 * deploy/haproxy/haproxy.cfg and Debian's Prometheus on deploy/prometheus/. One cluster for every
 * check. The control plane (its built server, API only) and its database run too: the agents reach it with a token
 * the control plane issued, added to their config by keel-render-config as the image's entrypoint
 * does. The cluster keeps the files' own timing (ttl 30, loop_wait 10), so the failover takes
 * what it takes in production, and the agents run the built bundle through apps/agent/bin/keel-agent.js,
 * the command the image's entrypoint and the systemd unit run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  freePorts,
  startControlPlane,
  startControlPlaneDb,
  startHaproxy,
  TestCluster,
  waitFor,
  type ControlPlane,
  type ControlPlaneDb,
  type HaproxyHandle,
  type Member,
} from '@keel/testkit';
import { agentConfigPath, compose, dashboard, dashboardExprs, envExample, HAPROXY_CFG, metricNames, NODE_NAMES, readRepo, repoPath, rules, type Obj } from './files.ts';
import { nativeAgentConfig, nativeHaproxyConfig, startPrometheus, type NativeMember, type PrometheusHandle } from './native.ts';

const SCOPE = String((YAML.parse(readRepo(agentConfigPath('node1'))) as Obj).scope);

let cluster: TestCluster;
let haproxy: HaproxyHandle;
let prometheus: PrometheusHandle;
let cpDb: ControlPlaneDb;
let cp: ControlPlane;
let writePort: number;
let readPort: number;
let statsPort: number;
const savedEnv = new Map<string, string | undefined>();
const startedAt = Date.now();

const natives = (): NativeMember[] =>
  cluster.members.map((m) => ({ name: m.name, pgPort: m.pgPort, restPort: m.restPort, dataDir: m.dataDir, dir: m.dir }));

/** SQL through HAProxy, as the superuser (a fresh connection each time, as a client would). */
async function viaHaproxy<T extends pg.QueryResultRow>(port: number, text: string, params?: unknown[]): Promise<T[]> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: cluster.credentials.superuser.username,
    password: cluster.credentials.superuser.password,
    database: 'postgres',
    connectionTimeoutMillis: 3000,
    statement_timeout: 5000,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}
/** Which member answered: its PostgreSQL port, and whether it is a replica. */
const whoAnswers = async (port: number) =>
  (await viaHaproxy<{ port: string; replica: boolean }>(port, "SELECT current_setting('port') AS port, pg_is_in_recovery() AS replica"))[0]!;
const memberOnPort = (port: string): Member => cluster.members.find((m) => String(m.pgPort) === port)!;

beforeAll(async () => {
  // What the image and the systemd units run: the agent's bin and the control plane's dist/server.mjs.
  execFileSync(process.execPath, [repoPath('scripts/build.mjs'), 'agent', 'control-plane', '--if-needed'], { stdio: 'ignore' });
  // The passwords reach the agents through the environment, as docker-compose.yml passes them from .env.
  const example = envExample();
  const t0 = Date.now();
  cpDb = await startControlPlaneDb();
  // The two roles of docker-compose.yml: migrations as cp-db's owner, the server as the application role.
  const services = compose().services;
  expect(new URL(cpDb.ownerUrl).username).toBe(services['cp-db']!.environment!.POSTGRES_USER);
  expect(new URL(cpDb.databaseUrl).username).toBe(services['cp-migrate']!.environment!.CP_APP_DB_ROLE);
  cp = await startControlPlane({ databaseUrl: cpDb.databaseUrl, build: false, serverRuntime: 'built' });
  console.log(`topology test: control plane and its database up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const token = await cp.createAgentToken(SCOPE, [...NODE_NAMES]);
  const renderDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-render-'));
  cluster = await TestCluster.start({
    scope: SCOPE,
    startAgents: false,
    agentRuntime: 'built',
    tweak: (config, i) => {
      const name = NODE_NAMES[i]!;
      const testkit = config as { restapi: { listen: string }; postgresql: { listen: string; data_dir: string; pgpass: string }; etcd3: { hosts: string } };
      const m: NativeMember = {
        name,
        restPort: Number(testkit.restapi.listen.split(':')[1]),
        pgPort: Number(testkit.postgresql.listen.split(':')[1]),
        dataDir: testkit.postgresql.data_dir,
        dir: path.dirname(testkit.postgresql.pgpass),
      };
      // The image's entrypoint path: keel-render-config adds controlplane {url, token} from the environment.
      const plain = path.join(renderDir, `${name}.yml`);
      const rendered = path.join(renderDir, `${name}.rendered.yml`);
      fs.writeFileSync(plain, YAML.stringify(nativeAgentConfig(readRepo(agentConfigPath(name)), m, testkit.etcd3.hosts)));
      execFileSync('sh', [repoPath('deploy/docker/keel-render-config.sh'), plain, rendered], {
        env: { PATH: process.env.PATH, KEEL_CONTROLPLANE_URL: cp.url, KEEL_CONTROLPLANE_TOKEN: token },
      });
      const ours = YAML.parse(fs.readFileSync(rendered, 'utf8')) as Obj;
      for (const k of Object.keys(config)) delete config[k];
      Object.assign(config, ours);
    },
  });
  const creds = cluster.credentials;
  const env: Record<string, string> = {
    PATRONI_SUPERUSER_PASSWORD: creds.superuser.password,
    PATRONI_REPLICATION_PASSWORD: creds.replication.password,
    PATRONI_REWIND_PASSWORD: creds.rewind.password,
    PATRONI_RESTAPI_PASSWORD: creds.restapi.password,
  };
  for (const [k, v] of Object.entries(env)) {
    expect(example.has(k), `.env.example has ${k}`).toBe(true);
    savedEnv.set(k, process.env[k]);
    process.env[k] = v;
  }
  // The user names are the files' own; testkit connects with the same ones.
  const file = YAML.parse(readRepo(agentConfigPath('node1'))) as { postgresql: { authentication: Record<string, { username: string }> }; restapi: { authentication: { username: string } } };
  expect(file.postgresql.authentication.superuser!.username).toBe(creds.superuser.username);
  expect(file.postgresql.authentication.replication!.username).toBe(creds.replication.username);
  expect(file.restapi.authentication.username).toBe(creds.restapi.username);
  fs.rmSync(renderDir, { recursive: true, force: true }); // the rendered files hold the token
  for (const m of cluster.members) m.start();

  const ports = await freePorts(5);
  [writePort, readPort, statsPort] = [ports[0]!, ports[1]!, ports[2]!];
  const [healthPort, promPort] = [ports[3]!, ports[4]!];
  haproxy = await startHaproxy({
    config: nativeHaproxyConfig(readRepo(HAPROXY_CFG), { 5000: writePort, 5001: readPort, 7000: statsPort, 8404: healthPort }, natives()),
    statsUrl: `http://127.0.0.1:${statsPort}/`,
    dir: path.join(cluster.dir, 'haproxy'),
  });
  prometheus = await startPrometheus(path.join(cluster.dir, 'prometheus'), promPort, natives());

  const primary = await cluster.waitForPrimary(120_000);
  await cluster.waitForReplicas(cluster.members.filter((m) => m !== primary).map((m) => m.name), 180_000);
  console.log(`topology test: everything up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}, 360_000);

afterAll(async () => {
  await prometheus?.stop();
  await haproxy?.stop();
  await cluster?.stop();
  await cp?.stop();
  await cpDb?.stop();
  for (const [k, v] of savedEnv) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  console.log(`topology test: ${((Date.now() - startedAt) / 1000).toFixed(1)} s in all`);
}, 120_000);

describe('the compose topology, natively', () => {
  it('the agents run the committed configs: their timing and their REST auth', async () => {
    const primary = (await cluster.primary())!;
    const cfg = (await primary.api<Obj>('/config')).body;
    const file = YAML.parse(readRepo(agentConfigPath(primary.name))) as { bootstrap: { dcs: Obj } };
    expect(cfg.ttl).toBe(file.bootstrap.dcs.ttl);
    expect(cfg.loop_wait).toBe(file.bootstrap.dcs.loop_wait);
    expect(cfg.maximum_lag_on_failover).toBe(file.bootstrap.dcs.maximum_lag_on_failover);
    // A mutating call without the password from the environment is refused.
    expect((await primary.api('/restart', { method: 'POST', body: '{}' })).status).toBe(401);
  });

  it('the agents report to the control plane with the token keel-render-config put in their config', async () => {
    const client = new pg.Client({ connectionString: cpDb.databaseUrl });
    await client.connect();
    try {
      await waitFor(
        async () => {
          const rows = (
            await client.query<{ name: string }>(
              'SELECT m.name FROM members m JOIN clusters c ON c.id = m.cluster_id WHERE c.scope = $1 AND m.last_seen_at IS NOT NULL ORDER BY m.name',
              [SCOPE],
            )
          ).rows;
          return JSON.stringify(rows.map((r) => r.name)) === JSON.stringify([...NODE_NAMES]);
        },
        { timeoutMs: 60_000, message: `the control plane has snapshots from ${NODE_NAMES.join(', ')}` },
      );
    } finally {
      await client.end();
    }
  });

  it('HAProxy marks only the primary UP on 5000 and the two replicas UP on 5001', async () => {
    const primary = (await cluster.primary())!;
    const replicas = cluster.members.filter((m) => m !== primary).map((m) => m.name).sort();
    await waitFor(
      async () => JSON.stringify(await haproxy.upServers('primary')) === JSON.stringify([primary.name]) && JSON.stringify((await haproxy.upServers('replicas')).sort()) === JSON.stringify(replicas),
      { timeoutMs: 30_000, message: `HAProxy: primary=[${primary.name}], replicas=[${replicas}] (states: ${JSON.stringify(await haproxy.serverStates())})` },
    );
  });

  it('writes through 5000 reach the primary; reads through 5001 reach both replicas and see the writes', async () => {
    const primary = (await cluster.primary())!;
    const w = await whoAnswers(writePort);
    expect(w).toEqual({ port: String(primary.pgPort), replica: false });
    await viaHaproxy(writePort, 'CREATE TABLE deploy_check (id int PRIMARY KEY, at text)');
    await viaHaproxy(writePort, "INSERT INTO deploy_check VALUES (1, 'before the failover')");
    // Round robin across connections: each attempt asks who answers and reads the row on one connection.
    const seen = new Set<string>();
    await waitFor(
      async () => {
        const [r] = await viaHaproxy<{ port: string; replica: boolean; at: string }>(
          readPort,
          "SELECT current_setting('port') AS port, pg_is_in_recovery() AS replica, (SELECT at FROM deploy_check WHERE id = 1) AS at",
        );
        if (r?.replica && r.at === 'before the failover') seen.add(r.port);
        return seen.size === 2;
      },
      { timeoutMs: 30_000, message: 'both replicas answering through 5001 with the row' },
    );
    for (const p of seen) expect(memberOnPort(p)).not.toBe(primary);
  });

  it('every metric the alert rules and the dashboard read is one the agents serve on /metrics', async () => {
    const wanted = new Set([...rules().groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboardExprs(dashboard()).map((e) => e.expr)].flatMap(metricNames));
    wanted.delete('up'); // Prometheus' own
    for (const m of cluster.members) {
      const families = parsePrometheus(await (await fetch(`${m.apiUrl}/metrics`)).text()) as Array<{ name: string; metrics: Array<{ labels: Record<string, string> }> }>;
      const served = new Set(families.map((f) => f.name));
      for (const name of wanted) expect(served, `${m.name} serves ${name}`).toContain(name);
      expect(families.find((f) => f.name === 'patroni_primary')!.metrics[0]!.labels).toEqual({ scope: SCOPE, name: m.name });
    }
  });

  it('Prometheus scrapes every agent, loads the rules, and every dashboard query returns data', async () => {
    await waitFor(
      async () => {
        const t = await prometheus.api<{ activeTargets: Array<{ health: string; labels: { job: string } }> }>('targets');
        const ours = t.activeTargets.filter((x) => x.labels.job === 'keel-agents');
        return ours.length === 3 && ours.every((x) => x.health === 'up');
      },
      { timeoutMs: 60_000, message: 'Prometheus: the 3 agents up' },
    );
    const loaded = await prometheus.api<{ groups: Array<{ name: string; rules: Array<{ name: string; health: string }> }> }>('rules');
    const group = loaded.groups.find((g) => g.name === 'keel')!;
    expect(group.rules.map((r) => r.name)).toEqual(rules().groups[0]!.rules.map((r) => r.alert));
    await waitFor(async () => (await prometheus.api<{ groups: Array<{ rules: Array<{ health: string }> }> }>('rules')).groups[0]!.rules.every((r) => r.health === 'ok'), {
      timeoutMs: 40_000,
      message: 'every rule evaluated without error',
    });
    // Until Prometheus has scraped the cluster once after it settled, some panels are legitimately empty.
    const primary = (await cluster.primary())!;
    await waitFor(async () => JSON.stringify((await prometheus.query(`patroni_primary{scope="${SCOPE}"} == 1`)).map((r) => r.metric.name)) === JSON.stringify([primary.name]), {
      timeoutMs: 60_000,
      message: `Prometheus: ${primary.name} is the primary`,
    });
    const empty = async () => {
      const out: string[] = [];
      for (const { panel, expr } of dashboardExprs(dashboard(), SCOPE)) if ((await prometheus.query(expr)).length === 0) out.push(`${panel}: ${expr}`);
      return out;
    };
    await waitFor(async () => (await empty()).length === 0, { timeoutMs: 60_000, message: `every dashboard query returns data (empty now: ${(await empty()).join('; ')})` });
    expect(Number((await prometheus.query('sum(up{job="keel-agents"})'))[0]!.value[1])).toBe(3);
  });

  it('after kill -9 of the primary node, HAProxy routes writes to the new primary and reads to the surviving replica', async () => {
    const old = (await cluster.primary())!;
    await old.kill9Node();
    const killedAt = Date.now();
    const next = await waitFor(
      async () => {
        const w = await whoAnswers(writePort);
        if (w.replica || w.port === String(old.pgPort)) return null;
        await viaHaproxy(writePort, "INSERT INTO deploy_check VALUES (2, 'after the failover')");
        return memberOnPort(w.port);
      },
      { timeoutMs: 150_000, intervalMs: 500, message: `writes through 5000 on a new primary after killing ${old.name}` },
    );
    const seconds = (Date.now() - killedAt) / 1000;
    console.log(`topology test: writes through HAProxy 5000 reached ${next.name} ${seconds.toFixed(1)} s after kill -9 of ${old.name} (ttl ${30})`);
    expect((await viaHaproxy<{ at: string }>(writePort, 'SELECT at FROM deploy_check ORDER BY id')).map((r) => r.at)).toEqual(['before the failover', 'after the failover']);
    const survivor = cluster.members.find((m) => m !== old && m !== next)!;
    await waitFor(
      async () =>
        JSON.stringify(await haproxy.upServers('primary')) === JSON.stringify([next.name]) &&
        JSON.stringify(await haproxy.upServers('replicas')) === JSON.stringify([survivor.name]),
      { timeoutMs: 60_000, message: `HAProxy: primary=[${next.name}], replicas=[${survivor.name}]` },
    );
    await waitFor(
      async () => {
        const [r] = await viaHaproxy<{ port: string; replica: boolean; n: string }>(
          readPort,
          "SELECT current_setting('port') AS port, pg_is_in_recovery() AS replica, (SELECT count(*) FROM deploy_check) AS n",
        );
        return r?.replica && r.port === String(survivor.pgPort) && r.n === '2';
      },
      { timeoutMs: 60_000, message: `reads through 5001 on ${survivor.name} with both rows` },
    );
  });

  it('Prometheus sees it: the new primary in its series, KeelLeaderChanged firing, KeelAgentDown pending for the killed agent', async () => {
    const killed = cluster.members.find((m) => m.agent?.signalCode === 'SIGKILL')!;
    const downTarget = `127.0.0.1:${killed.restPort}`;
    const next = (await cluster.primary())!;
    await waitFor(
      async () => {
        // The alert may already fire from the bootstrap's election; the new primary's own series must show the change.
        const promoted = await prometheus.query(`changes(patroni_primary{name="${next.name}"}[5m]) > 0 and patroni_primary == 1`);
        const a = (await prometheus.api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('alerts')).alerts;
        const changed = promoted.length === 1 && a.some((x) => x.labels.alertname === 'KeelLeaderChanged' && x.labels.scope === SCOPE && x.state === 'firing');
        const down = a.some((x) => x.labels.alertname === 'KeelAgentDown' && x.labels.instance === downTarget && ['pending', 'firing'].includes(x.state));
        return changed && down;
      },
      { timeoutMs: 90_000, intervalMs: 1000, message: 'KeelLeaderChanged firing and KeelAgentDown pending in Prometheus' },
    );
  });
});

