// Demo: a real local Keel cluster. Prints the members, their roles and a psql connection string
// for the primary, then the member table each time it changes. Ctrl-C stops every process.
import fs from 'node:fs';
import path from 'node:path';
import { TestCluster, startControlPlane, startControlPlaneDb, type Member } from '@keel/testkit';
import { renderMemberTable, type ClusterRow } from './render-table.ts';

const keep = process.argv.includes('--keep');
const base = path.resolve('.keel-demo', new Date().toISOString().replace(/[:.]/g, '-'));
fs.mkdirSync(base, { recursive: true });

const cpPort = Number(process.env.KEEL_DEMO_PORT ?? 3000);
console.log(`keel demo: starting the control plane (its own PostgreSQL, next build when needed) on port ${cpPort}`);
const cpDb = await startControlPlaneDb({ baseDir: path.join(base, 'control-plane-db'), keepData: true });
// The built artifacts, as in production (demo.sh runs `npm run build` first when needed).
const cp = await startControlPlane({ databaseUrl: cpDb.databaseUrl, port: cpPort, logPath: path.join(base, 'control-plane.log'), serverRuntime: 'built' }).catch(async (e: Error) => {
  await cpDb.stop();
  throw e;
});
// one agent token per member: each speaks only for its own member (TestCluster names them node1..node3)
const tokens = await Promise.all(['node1', 'node2', 'node3'].map((member) => cp.createAgentToken('demo', member)));

console.log(`keel demo: starting etcd and 3 agents under ${base}`);
const cluster = await TestCluster.start({
  members: 3,
  scope: 'demo',
  baseDir: base,
  keepData: true,
  ttl: 10,
  loopWait: 2,
  retryTimeout: 3,
  agentRuntime: 'built',
  tweak: (config, i) => {
    config.controlplane = { url: cp.url, token: tokens[i] };
  },
});

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nkeel demo: stopping agents (each stops its PostgreSQL), then etcd and the control plane ...');
  await cluster.stop({ graceful: true });
  await cp.stop();
  await cpDb.stop();
  if (keep) console.log(`keel demo: data kept in ${base}`);
  else fs.rmSync(base, { recursive: true, force: true });
  console.log('keel demo: stopped, no process left behind');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

const primary = await cluster.waitForPrimary(120_000);
await cluster.waitForReplicas(cluster.members.filter((m) => m !== primary).map((m) => m.name), 180_000);
const su = cluster.credentials.superuser;
console.log(`\ncontrol plane: ${cp.url}   sign in as ${cp.admin.email} / ${cp.admin.password}`);
console.log(`primary: ${primary.name}`);
console.log(`psql:    psql "postgresql://${su.username}:${su.password}@127.0.0.1:${primary.pgPort}/postgres"`);
for (const m of cluster.members) {
  console.log(`${m.name}: REST ${m.apiUrl}/patroni  PostgreSQL 127.0.0.1:${m.pgPort}  agent pid ${m.agentPid}  postmaster pid ${m.postmasterPid()}  log ${m.logPath}`);
}
console.log(`keelctl: apps/cli/bin/keelctl.js -c ${cluster.members[0]!.configPath} list`);
console.log('\nTry: kill -9 the primary\'s postmaster or agent and watch the table. Ctrl-C stops everything.\n');

async function fetchCluster(members: Member[]): Promise<ClusterRow[] | null> {
  for (const m of members) {
    try {
      const r = await m.api<{ members: ClusterRow[] }>('/cluster');
      if (r.status === 200) return r.body.members;
    } catch {
      /* try the next member */
    }
  }
  return null;
}

let last = '';
for (;;) {
  if (stopping) break;
  const rows = await fetchCluster(cluster.members);
  const table = rows ? renderMemberTable('demo', rows) : '(no agent answers /cluster)';
  if (table !== last) {
    console.log(`${new Date().toISOString()}\n${table}`);
    last = table;
  }
  await new Promise((r) => setTimeout(r, 1000));
}
