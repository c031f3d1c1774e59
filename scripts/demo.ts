// Demo: a real local Keel cluster. Prints the members, their roles and a psql connection string
// for the primary, then the member table each time it changes. Ctrl-C stops every process.
import fs from 'node:fs';
import path from 'node:path';
import { TestCluster, type Member } from '@keel/testkit';
import { renderMemberTable, type ClusterRow } from './render-table.ts';

const keep = process.argv.includes('--keep');
const base = path.resolve('.keel-demo', new Date().toISOString().replace(/[:.]/g, '-'));
fs.mkdirSync(base, { recursive: true });

console.log(`keel demo: starting etcd and 3 agents under ${base}`);
const cluster = await TestCluster.start({ members: 3, scope: 'demo', baseDir: base, keepData: true, ttl: 10, loopWait: 2, retryTimeout: 3 });

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nkeel demo: stopping agents (each stops its PostgreSQL), then etcd ...');
  await cluster.stop({ graceful: true });
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
console.log(`\nprimary: ${primary.name}`);
console.log(`psql:    psql "postgresql://${su.username}:${su.password}@127.0.0.1:${primary.pgPort}/postgres"`);
for (const m of cluster.members) console.log(`${m.name}: REST ${m.apiUrl}/patroni  PostgreSQL 127.0.0.1:${m.pgPort}  log ${m.logPath}`);
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
