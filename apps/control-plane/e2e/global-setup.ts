/**
 * The e2e world, started once per run and stopped by PID afterwards (the returned function is
 * Playwright's teardown):
 *   1. the control plane's own PostgreSQL (startControlPlaneDb) and the real server (startControlPlane,
 *      which builds the Next app when its sources changed, migrates and creates the admin);
 *   2. an agent token created through the server: the admin signs in and calls tokens.create;
 *   3. a real 3-member cluster (etcd + 3 agents + 3 PostgreSQL; ttl 10, loop_wait 2, retry_timeout 3)
 *      whose agents connect to the control plane with that token;
 *   4. a small harness endpoint on loopback through which tests ask which member is primary,
 *      kill -9 a node (member.kill9Node()) and pause/resume the control plane's database, since
 *      those processes belong to this process.
 * Tests find all of it in KEEL_E2E_* variables (workers inherit the environment).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PgBackRest, startControlPlane, startControlPlaneDb, TestCluster, waitFor } from '@keel/testkit';
import { startHarness } from './support/harness.ts';
import { adminTrpc, signInCookie } from './support/http.ts';
import { E2E } from './support/env.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ARTIFACTS = path.join(REPO_ROOT, '.artifacts/e2e');

const SCOPE = 'e2e-cluster';
const TTL = 10;
/** The stale threshold for this run: a few HA loops (loop_wait 2) without a snapshot. */
const STALE_AFTER_SECONDS = 6;

function step(what: string, t0: number): void {
  process.stdout.write(`[e2e setup +${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}\n`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const t0 = Date.now();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const stops: Array<{ what: string; stop: () => Promise<void> }> = [];
  const teardown = async () => {
    const t1 = Date.now();
    for (const s of stops.reverse()) {
      try {
        await s.stop();
      } catch (e) {
        process.stderr.write(`[e2e teardown] stopping ${s.what} failed: ${(e as Error).message}\n`);
      }
    }
    step('stopped everything', t1);
  };

  try {
    const db = await startControlPlaneDb();
    stops.push({ what: 'control-plane database', stop: () => db.stop() });
    step(`control-plane database on port ${db.port}`, t0);

    const cp = await startControlPlane({
      databaseUrl: db.databaseUrl,
      logPath: path.join(ARTIFACTS, 'control-plane.log'),
      // incidents end after 30 s of quiet here (120 s by default), so that each spec's failover is its own incident
      env: { KEEL_CP_STALE_AFTER_SECONDS: String(STALE_AFTER_SECONDS), KEEL_CP_INCIDENT_QUIET_SECONDS: '30' },
    });
    stops.push({ what: `control plane (pid ${cp.pid})`, stop: () => cp.stop() });
    step(`control plane at ${cp.url} (pid ${cp.pid}, log ${cp.logPath})`, t0);

    // the agents' token, created through the server like an admin would
    const cookie = await signInCookie(cp.url, cp.admin.email, cp.admin.password);
    const trpc = adminTrpc(cp.url, cookie);
    // one token for the three members (an explicit list; one token per member also works)
    const created = await trpc.tokens.create.mutate({ scope: SCOPE, members: ['node1', 'node2', 'node3'], label: 'e2e agents' });
    step(`agent token ${created.prefix}… for ${SCOPE}`, t0);

    // a pgBackRest repository without the stanza: the leader's agent reports pgbackrest info's
    // "missing stanza path" as the last backup's status (the cluster page's Backups card)
    const backupRepo = PgBackRest.create('e2e');
    stops.push({ what: 'pgBackRest repository', stop: async () => backupRepo.remove() });
    const cluster = await TestCluster.start({
      scope: SCOPE,
      members: 3,
      ttl: TTL,
      loopWait: 2,
      retryTimeout: 3,
      tweak: (cfg) => {
        cfg.controlplane = { url: cp.url, token: created.token };
        cfg.backup = backupRepo.backupSection(30);
      },
    });
    stops.push({
      what: `cluster ${SCOPE} (etcd + 3 agents + PostgreSQL)`,
      stop: async () => {
        // keep the agents' logs: the cluster's directory goes with it
        for (const m of cluster.members) fs.copyFileSync(m.logPath, path.join(ARTIFACTS, `agent-${m.name}.log`));
        await cluster.stop();
      },
    });
    const primary = await cluster.waitForPrimary(120_000);
    const replicas = cluster.members.filter((m) => m !== primary).map((m) => m.name);
    await cluster.waitForReplicas(replicas, 180_000);
    step(`cluster up: ${primary.name} primary, ${replicas.join(' + ')} replicas`, t0);

    // the control plane sees what the agents see
    await waitFor(
      async () => {
        const c = await trpc.clusters.byScope.query({ scope: SCOPE });
        const fresh = c.members.filter((m) => !m.stale && m.state === 'running');
        return c.health.leader === primary.name && fresh.length === 3 && fresh.filter((m) => m.role === 'replica').length === 2;
      },
      { timeoutMs: 60_000, message: `the control plane to show ${SCOPE} with ${primary.name} leading 2 running replicas` },
    );
    step('control plane shows 1 leader + 2 replicas', t0);

    const harness = await startHarness(cluster, db);
    stops.push({ what: 'harness', stop: () => harness.close() });

    const env: Record<string, string> = {
      [E2E.url]: cp.url,
      [E2E.adminEmail]: cp.admin.email,
      [E2E.adminPassword]: cp.admin.password,
      [E2E.scope]: SCOPE,
      [E2E.ttl]: String(TTL),
      [E2E.staleAfter]: String(STALE_AFTER_SECONDS),
      [E2E.harnessUrl]: harness.url,
      [E2E.harnessToken]: harness.token,
    };
    Object.assign(process.env, env);
    fs.writeFileSync(
      path.join(ARTIFACTS, 'world.json'),
      `${JSON.stringify(
        {
          controlPlane: { url: cp.url, pid: cp.pid, log: cp.logPath },
          database: { port: db.port, dataDir: db.dataDir },
          cluster: { scope: SCOPE, dir: cluster.dir, etcd: cluster.etcd.hostPort, members: cluster.members.map((m) => ({ name: m.name, agentPid: m.agentPid, pgPort: m.pgPort, api: m.apiUrl, log: m.logPath })) },
        },
        null,
        2,
      )}\n`,
    );
    step('ready', t0);
    return teardown;
  } catch (e) {
    await teardown();
    throw e;
  }
}
