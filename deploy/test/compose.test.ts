/**
 * docker-compose.yml, its Dockerfile and the config files it mounts, checked against each other
 * (no container engine runs here; deploy/test/topology.int.test.ts runs the same files natively).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../apps/agent/src/config.ts';
import {
  agentConfigPath,
  compose,
  composeVariables,
  dependsOn,
  DOCKERFILE,
  envExample,
  HAPROXY_CFG,
  haproxySection,
  NODE_NAMES,
  parseHaproxy,
  parsePort,
  parseVolume,
  PROMETHEUS_YML,
  readRepo,
  readYaml,
  repoPath,
  REPO,
  type Obj,
} from './files.ts';

const c = compose();
const services = c.services;
const dockerfile = readRepo(DOCKERFILE);
const ETCDS = ['etcd1', 'etcd2', 'etcd3'];
/** One-shot services: they exit when done and are not restarted. */
const ONE_SHOT = ['cp-migrate'];

const agentYaml = (name: string) => readYaml<Obj>(agentConfigPath(name));
const hostPort = (s: string) => {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
};
const get = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v as Obj | undefined)?.[k], o);
/** The environment the agents get from .env (values made up; the names are what matters). */
const fakeEnv = (): NodeJS.ProcessEnv => Object.fromEntries([...envExample().keys()].map((k) => [k, `x-${k.toLowerCase()}-0123456789abcdef0123456789`]));
/** CMD/ENTRYPOINT JSON arrays of a Dockerfile target. */
function dockerTarget(target: string): string {
  const start = dockerfile.search(new RegExp(`^FROM \\S+ AS ${target}$`, 'm'));
  expect(start, `Dockerfile target ${target}`).toBeGreaterThanOrEqual(0);
  const rest = dockerfile.slice(start + 1);
  const next = rest.search(/^FROM /m);
  return next < 0 ? rest : rest.slice(0, next);
}

describe('docker-compose.yml', () => {
  it('has the topology of the design: 3 etcd, 3 agents, HAProxy, control plane + database, Prometheus, Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(
      [...ETCDS, ...NODE_NAMES, 'haproxy', 'cp-db', 'cp-migrate', 'control-plane', 'prometheus', 'grafana'].sort(),
    );
  });

  it('gives every long-running service a restart policy and a healthcheck, and the one-shot migration none', () => {
    for (const [name, s] of Object.entries(services)) {
      if (ONE_SHOT.includes(name)) {
        expect(s.restart, name).toBe('no');
        expect(s.healthcheck, name).toBeUndefined();
        continue;
      }
      expect(['unless-stopped', 'always'], `${name}: restart`).toContain(s.restart);
      expect(s.healthcheck?.test?.[0], `${name}: healthcheck`).toBe('CMD');
      expect(s.healthcheck?.test.length, name).toBeGreaterThan(1);
      expect(s.healthcheck?.interval, name).toMatch(/^\d+s$/);
      expect(s.healthcheck?.timeout, name).toMatch(/^\d+s$/);
    }
  });

  it('builds from the repository Dockerfile targets that exist; other images are pinned', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) {
        expect(s.build.context, name).toBe('.');
        expect(s.build.dockerfile, name).toBe(DOCKERFILE);
        dockerTarget(s.build.target);
      } else {
        expect(s.image, name).toMatch(/^[\w./-]+:\d[\w.-]*$/); // a version tag, never "latest"
      }
    }
    // Debian base everywhere, PostgreSQL from Debian in the agent's image, the agent as postgres.
    for (const from of dockerfile.matchAll(/^ARG (\w+_IMAGE)=(\S+)$/gm)) expect(from[2]).toMatch(/bookworm/);
    const agent = dockerTarget('keel-agent');
    expect(agent).toMatch(/apt-get install -y --no-install-recommends postgresql-15 /);
    expect(agent).toMatch(/^USER postgres$/m);
    expect(agent).toContain('create_main_cluster = false');
  });

  it('runs the entrypoint and scripts it copies, and copies files that exist', () => {
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(\S+) (\S+)$/gm)) {
      if (m[1] === '.') continue;
      expect(fs.existsSync(repoPath(m[1]!)), `Dockerfile COPY ${m[1]}`).toBe(true);
    }
    expect(readRepo('.dockerignore').split('\n')).toEqual(expect.arrayContaining(['.env', '**/node_modules', '.git']));
  });

  it('declares every named volume it uses, uses every one it declares, and mounts files that exist', () => {
    const used = new Set<string>();
    for (const [name, s] of Object.entries(services)) {
      for (const spec of s.volumes ?? []) {
        const v = parseVolume(spec);
        if (v.bind) {
          expect(v.source.startsWith('./deploy/'), `${name}: ${spec} (config comes from deploy/)`).toBe(true);
          expect(fs.existsSync(repoPath(v.source)), `${name}: ${spec}`).toBe(true);
          expect(v.readOnly, `${name}: ${spec} read-only`).toBe(true);
        } else {
          used.add(v.source);
        }
      }
    }
    expect([...used].sort()).toEqual(Object.keys(c.volumes).sort());
    // Every stateful service keeps its state in a named volume.
    for (const name of [...ETCDS, ...NODE_NAMES, 'cp-db', 'prometheus', 'grafana']) {
      expect((services[name]!.volumes ?? []).some((v) => !parseVolume(v).bind), name).toBe(true);
    }
  });

  it('depends only on services that exist', () => {
    for (const [name, s] of Object.entries(services)) for (const d of dependsOn(s)) expect(Object.keys(services), `${name} -> ${d}`).toContain(d);
    expect(services['control-plane']!.depends_on).toEqual({ 'cp-migrate': { condition: 'service_completed_successfully' } });
  });

  it('publishes ports on 127.0.0.1 only', () => {
    for (const [name, s] of Object.entries(services)) for (const p of s.ports ?? []) expect(parsePort(p).host, `${name}: ${p}`).toBe('127.0.0.1');
  });
});

describe('secrets', () => {
  it('come from the uncommitted .env: every variable the compose file reads is in .env.example and the other way round', () => {
    const vars = composeVariables();
    const example = envExample();
    expect([...vars.keys()].sort()).toEqual([...example.keys()].sort());
    // The control plane's two database roles each have their own password.
    expect([...example.keys()]).toEqual(expect.arrayContaining(['CP_DB_PASSWORD', 'CP_APP_DB_PASSWORD']));
    for (const [k, v] of vars) if (k !== 'KEEL_CONTROLPLANE_TOKEN') expect(v.required, `${k} is \${${k}:?…}`).toBe(true);
    execFileSync('git', ['check-ignore', '-q', '.env'], { cwd: REPO }); // throws when .env is not ignored
    expect(() => execFileSync('git', ['check-ignore', '-q', '.env.example'], { cwd: REPO })).toThrow();
  });

  it('never appear as literals in the compose file or the agents’ configs', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        // (etcd's initial-cluster token only tells clusters apart; it is no secret)
        if (/PASSWORD|SECRET|TOKEN/.test(k) && k !== 'ETCD_INITIAL_CLUSTER_TOKEN') expect(String(v), `${name}: ${k}`).toMatch(/\$\{[A-Z_]+/);
        if (k === 'DATABASE_URL') expect(String(v), `${name}: ${k}`).toMatch(/^postgresql:\/\/keel:\$\{CP_APP_DB_PASSWORD:\?[^}]*\}@cp-db:5432\/keel$/);
      }
    }
    for (const n of NODE_NAMES) {
      const y = agentYaml(n);
      for (const user of ['superuser', 'replication', 'rewind']) expect(get(y, 'postgresql', 'authentication', user, 'password'), `${n} ${user}`).toBeUndefined();
      expect(get(y, 'restapi', 'authentication', 'password')).toBeUndefined();
    }
  });
});

describe('the agents (deploy/keel/node*.yml)', () => {
  const ttlOf = (n: string) => get(agentYaml(n), 'bootstrap', 'dcs', 'ttl');

  it('are valid for keel-agent with the passwords from .env, without warnings', () => {
    for (const n of NODE_NAMES) {
      const loaded = parseConfig(readRepo(agentConfigPath(n)), agentConfigPath(n), fakeEnv());
      expect(loaded.warnings, n).toEqual([]);
      expect(loaded.config.postgresql.authentication.superuser.password, n).toMatch(/^x-patroni_superuser_password/);
      expect(loaded.config.restapi.authentication?.password, n).toMatch(/^x-patroni_restapi_password/);
      expect(loaded.config.postgresql.authentication.rewind?.password, n).toMatch(/^x-patroni_rewind_password/);
    }
  });

  it('differ only in the member name and host names', () => {
    const norm = (n: string) => readRepo(agentConfigPath(n)).split('\n').slice(2).join('\n').replaceAll(n, 'NODE');
    expect(norm('node2')).toBe(norm('node1'));
    expect(norm('node3')).toBe(norm('node1'));
    expect(ttlOf('node1')).toBe(30);
  });

  it('match their compose service: name, addresses, mounted config, data volume, etcd members, healthcheck', () => {
    const cmd = dockerTarget('keel-agent');
    expect(cmd).toContain('CMD ["/etc/keel/keel.yml"]');
    for (const n of NODE_NAMES) {
      const s = services[n]!;
      const y = agentYaml(n);
      expect(y.name).toBe(n);
      const rest = hostPort(String(get(y, 'restapi', 'listen')));
      expect(get(y, 'restapi', 'connect_address')).toBe(`${n}:${rest.port}`);
      const pgPort = hostPort(String(get(y, 'postgresql', 'listen'))).port;
      expect(get(y, 'postgresql', 'connect_address')).toBe(`${n}:${pgPort}`);
      const vols = (s.volumes ?? []).map(parseVolume);
      expect(vols).toContainEqual({ source: `./${agentConfigPath(n)}`, target: '/etc/keel/keel.yml', readOnly: true, bind: true });
      const data = vols.find((v) => !v.bind)!;
      expect(data.source).toBe(`${n}-data`);
      expect(String(get(y, 'postgresql', 'data_dir')).startsWith(`${data.target}/`)).toBe(true);
      expect(String(get(y, 'postgresql', 'pgpass')).startsWith(`${data.target}/`)).toBe(true);
      expect(dockerfile).toContain(`install -d -o postgres -g postgres -m 0700 ${data.target}`);
      expect(get(y, 'etcd3', 'hosts')).toBe(ETCDS.map((e) => `${e}:2379`).join(','));
      expect(s.healthcheck!.test).toContain(`http://127.0.0.1:${rest.port}/liveness`);
      for (const e of ETCDS) expect(dependsOn(s)).toContain(e);
      for (const user of ['SUPERUSER', 'REPLICATION', 'REWIND', 'RESTAPI']) expect(s.environment).toHaveProperty(`PATRONI_${user}_PASSWORD`);
      // The agent's control-plane URL points at the control-plane service's port.
      expect(s.environment!.KEEL_CONTROLPLANE_URL).toBe(`http://control-plane:${services['control-plane']!.environment!.KEEL_CP_PORT}`);
    }
  });

  it('reach the etcd members compose starts, on the ports etcd advertises', () => {
    for (const e of ETCDS) {
      const s = services[e]!;
      expect(s.command).toContain(`--name=${e}`);
      expect(s.command).toContain(`--advertise-client-urls=http://${e}:2379`);
      expect(s.command).toContain(`--initial-advertise-peer-urls=http://${e}:2380`);
      expect(s.environment!.ETCD_INITIAL_CLUSTER).toContain(`${e}=http://${e}:2380`);
      expect(s.environment!.ETCD_LISTEN_CLIENT_URLS).toBe('http://0.0.0.0:2379');
    }
  });
});

describe('HAProxy (deploy/haproxy/haproxy.cfg)', () => {
  const cfg = parseHaproxy(readRepo(HAPROXY_CFG));
  const node = (n: string) => {
    const y = agentYaml(n);
    return { pg: hostPort(String(get(y, 'postgresql', 'listen'))).port, rest: hostPort(String(get(y, 'restapi', 'listen'))).port };
  };

  it('routes 5000 to the member whose agent answers /primary and 5001 to those answering /replica', () => {
    const primary = haproxySection(cfg, 'primary');
    const replicas = haproxySection(cfg, 'replicas');
    expect(primary.binds).toEqual(['*:5000']);
    expect(replicas.binds).toEqual(['*:5001']);
    expect(primary.httpchk).toBe('OPTIONS /primary');
    expect(replicas.httpchk).toBe('OPTIONS /replica');
    for (const s of [primary, replicas]) {
      expect(s.lines).toContain('http-check expect status 200');
      expect(s.servers).toEqual(NODE_NAMES.map((n) => ({ name: n, address: `${n}:${node(n).pg}`, checkPort: node(n).rest })));
    }
  });

  it('is published on the ports it binds and mounted where the image reads it', () => {
    const s = services.haproxy!;
    const published = (s.ports ?? []).map(parsePort);
    const binds = cfg.flatMap((x) => x.binds).map((b) => Number(b.split(':')[1]));
    for (const p of published) expect(binds).toContain(p.target);
    expect(published.map((p) => p.target).sort()).toEqual([5000, 5001, 7000]);
    expect(s.volumes).toContain(`./${HAPROXY_CFG}:/etc/haproxy/haproxy.cfg:ro`);
    expect(dockerTarget('haproxy')).toContain('"-f", "/etc/haproxy/haproxy.cfg"');
    const health = haproxySection(cfg, 'health');
    expect(health.lines).toContain('monitor-uri /healthz');
    expect(s.healthcheck!.test).toContain(`http://127.0.0.1:${health.binds[0]!.split(':')[1]}/healthz`);
  });

  it('passes `haproxy -c` (names that only resolve inside compose are the only warnings)', () => {
    const r = spawnSync('haproxy', ['-c', '-f', repoPath(HAPROXY_CFG)], { encoding: 'utf8' });
    expect(r.error, 'haproxy is not installed: run scripts/setup.sh').toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Configuration file is valid');
    const unexpected = r.stderr.split('\n').filter((l) => /WARNING|ALERT/.test(l) && !/could not resolve address 'node[123]'/.test(l));
    expect(unexpected).toEqual([]);
  });
});

describe('Prometheus, Grafana and the control plane in compose', () => {
  it('Prometheus scrapes every agent’s REST address and loads the rules from the mounted directory', () => {
    const prom = readYaml<{ rule_files: string[]; scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }> }>(PROMETHEUS_YML);
    const job = prom.scrape_configs.find((j) => j.job_name === 'keel-agents')!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs.flatMap((s) => s.targets)).toEqual(NODE_NAMES.map((n) => String(get(agentYaml(n), 'restapi', 'connect_address'))));
    for (const f of prom.rule_files) expect(fs.existsSync(repoPath('deploy/prometheus', f)), f).toBe(true);
    const s = services.prometheus!;
    const mount = (s.volumes ?? []).map(parseVolume).find((v) => v.source === './deploy/prometheus')!;
    expect(dockerTarget('prometheus')).toContain(`"--config.file=${mount.target}/prometheus.yml"`);
    expect(readRepo('deploy/prometheus/keel-rules.yml')).toContain(`up{job="${job.job_name}"}`);
  });

  it('Grafana reads Prometheus at its service address and the dashboard from the provisioned path', () => {
    const ds = readYaml<{ datasources: Array<{ uid: string; url: string; type: string }> }>('deploy/grafana/provisioning/datasources/prometheus.yml').datasources;
    expect(ds).toHaveLength(1);
    const port = /--web\.listen-address=:(\d+)/.exec(dockerTarget('prometheus'))![1];
    expect(ds[0]!.url).toBe(`http://prometheus:${port}`);
    expect(services.prometheus!.healthcheck!.test).toContain(`http://127.0.0.1:${port}/-/ready`);
    const provider = readYaml<{ providers: Array<{ options: { path: string } }> }>('deploy/grafana/provisioning/dashboards/keel.yml').providers[0]!;
    const vols = (services.grafana!.volumes ?? []).map(parseVolume);
    expect(vols).toContainEqual({ source: './deploy/grafana/dashboards', target: provider.options.path, readOnly: true, bind: true });
    expect(vols).toContainEqual({ source: './deploy/grafana/provisioning', target: '/etc/grafana/provisioning', readOnly: true, bind: true });
    const dash = JSON.parse(readRepo('deploy/grafana/dashboards/keel.json')) as { panels: Array<{ datasource: { uid: string }; targets: Array<{ datasource: { uid: string } }> }> };
    for (const p of dash.panels) {
      expect(p.datasource.uid).toBe(ds[0]!.uid);
      for (const t of p.targets) expect(t.datasource.uid).toBe(ds[0]!.uid);
    }
  });

  it('the control plane connects as the application role, cp-migrate as the database’s owner', () => {
    const db = services['cp-db']!.environment!;
    const owner = db.POSTGRES_USER!;
    const variable = (v: string | undefined) => /^\$\{([A-Z_]+):\?[^}]*\}$/.exec(String(v))?.[1];
    // cp-db's superuser is the owner: it owns the database (and so every table the migrations create).
    expect(owner).toBe('keel_owner');
    expect(services['cp-db']!.healthcheck!.test).toEqual(expect.arrayContaining(['pg_isready', '-U', owner, '-d', db.POSTGRES_DB!]));
    const ownerPassword = variable(db.POSTGRES_PASSWORD);
    expect(ownerPassword).toBe('CP_DB_PASSWORD');

    // cp-migrate: the owner's connection, nothing else; the app role's name and password.
    const m = services['cp-migrate']!;
    const me = m.environment!;
    expect({ host: me.PGHOST, port: me.PGPORT, db: me.PGDATABASE, user: me.PGUSER }).toEqual({ host: 'cp-db', port: '5432', db: db.POSTGRES_DB, user: owner });
    expect(variable(me.PGPASSWORD)).toBe(ownerPassword);
    expect(me.DATABASE_URL).toBeUndefined();
    const appRole = me.CP_APP_DB_ROLE!;
    expect(appRole).not.toBe(owner);
    expect(variable(me.CP_APP_DB_PASSWORD)).toBe('CP_APP_DB_PASSWORD');

    // The control plane: the application role with its own password, never the owner's.
    const cp = services['control-plane']!;
    const raw = cp.environment!.DATABASE_URL!;
    expect(raw).not.toContain(ownerPassword);
    const url = new URL(raw.replace(/\$\{[^}]+\}/, 'PW'));
    expect(url.hostname).toBe('cp-db');
    expect(url.username).toBe(appRole);
    expect(url.pathname).toBe(`/${db.POSTGRES_DB}`);
    expect(/^postgresql:\/\/[^:]+:\$\{([A-Z_]+)/.exec(raw)?.[1]).toBe('CP_APP_DB_PASSWORD');
    expect(cp.healthcheck!.test).toContain(`http://127.0.0.1:${cp.environment!.KEEL_CP_PORT}/api/health`);
    expect(cp.ports).toContain(`127.0.0.1:${cp.environment!.KEEL_CP_PORT}:${cp.environment!.KEEL_CP_PORT}`);
    expect(fs.existsSync(repoPath('apps/control-plane', cp.build ? 'server.ts' : ''))).toBe(true);

    // cp-migrate runs keel-cp-migrate from the control-plane image, which has psql for it.
    expect(m.build?.target).toBe('control-plane');
    expect(m.command).toEqual(['keel-cp-migrate']);
    const target = dockerTarget('control-plane');
    expect(target).toContain('COPY deploy/docker/keel-cp-migrate.sh /usr/local/bin/keel-cp-migrate');
    expect(target).toMatch(/apt-get install -y --no-install-recommends .*\bpostgresql-client\b/);
    expect(target).toMatch(/^WORKDIR \/opt\/keel\/apps\/control-plane$/m);
    expect(target).toMatch(/^USER node$/m);
  });

  it('keel-cp-migrate migrates and then grants the application role, as the owner', () => {
    const script = readRepo('deploy/docker/keel-cp-migrate.sh');
    const migrate = script.indexOf('node --import tsx scripts/prisma.ts migrate deploy');
    const grant = script.indexOf('node --import tsx scripts/grant-app-role.ts --role "$role"');
    expect(migrate).toBeGreaterThan(0);
    expect(grant).toBeGreaterThan(migrate);
    for (const f of ['scripts/prisma.ts', 'scripts/grant-app-role.ts']) expect(fs.existsSync(repoPath('apps/control-plane', f)), f).toBe(true);
    // The default control-plane directory is the image's WORKDIR; the role variable is what compose sets.
    expect(script).toContain('cp_dir="${KEEL_CP_DIR:-/opt/keel/apps/control-plane}"');
    expect(script).toContain('role="${CP_APP_DB_ROLE:-keel}"');
    expect(script).toMatch(/^set -euo pipefail$/m);
    // The password reaches psql through the environment, never through the command line.
    expect(script).toContain('\\getenv app_password CP_APP_DB_PASSWORD');
    expect(script).not.toMatch(/-v app_password/);
  });
});

describe('the backup examples (deploy/keel/examples/pgbackrest-*.yml, excerpted in the README)', () => {
  const load = (f: string) => parseConfig(readRepo(`deploy/keel/examples/${f}`), f, fakeEnv());

  it('restore replicas with pgBackRest, then pg_basebackup, catch up from the archive, and report the last backup', () => {
    const { config, warnings } = load('pgbackrest-replicas.yml');
    expect(warnings).toEqual([]);
    const methods = config.postgresql.create_replica_methods;
    expect(methods.map((m) => m.name)).toEqual(['pgbackrest', 'basebackup']);
    const m = methods[0]!;
    expect(m.kind === 'command' && m.argv).toEqual(['/usr/bin/pgbackrest', '--stanza=main', '--delta', 'restore']);
    expect(m.kind === 'command' && m.keepData && m.noParams).toBe(true);
    expect(config.backup).toEqual({ tool: 'pgbackrest', target: 'main', argv: ['/usr/bin/pgbackrest', '--config=/etc/pgbackrest/pgbackrest.conf'], interval: 300, timeout: 60 });
  });

  it('a standby cluster following another site (standby_cluster in bootstrap.dcs)', () => {
    const { config, warnings } = load('standby-cluster.yml');
    expect(warnings).toEqual([]);
    expect(config.bootstrap.dcs.standby_cluster).toEqual({ host: '10.0.0.5', port: 5432, primary_slot_name: 'site_b' });
  });

  it('bootstrap a new cluster from a pgBackRest backup to a point in time', () => {
    const { config, warnings } = load('pgbackrest-bootstrap.yml');
    expect(warnings).toEqual([]);
    const b = config.bootstrap.method;
    expect(b?.name).toBe('pgbackrest');
    expect(b?.argv).toEqual(['/usr/bin/pgbackrest', '--stanza=main', 'restore']);
    expect(b?.noParams).toBe(true);
  });
});
