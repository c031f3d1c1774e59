/**
 * Real agents (apps/agent with its uplink, real etcd, real PostgreSQL) reporting to the real
 * control plane: the members show up with their roles, events and lag history are stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, startControlPlane, startControlPlaneDb, waitFor, type ControlPlane, type ControlPlaneDb } from '@keel/testkit';
import { signIn, trpcAs } from './support/session.ts';

let db: ControlPlaneDb;
let cp: ControlPlane;
let cluster: TestCluster | undefined;
let api: ReturnType<typeof trpcAs>;

beforeAll(async () => {
  db = await startControlPlaneDb();
  cp = await startControlPlane({ databaseUrl: db.databaseUrl, build: false });
  // one token per member (TestCluster names them node1..node3)
  const tokens = await Promise.all(['node1', 'node2', 'node3'].map((member) => cp.createAgentToken('real', member)));
  cluster = await TestCluster.start({
    scope: 'real',
    members: 3,
    ttl: 10,
    loopWait: 2,
    retryTimeout: 3,
    tweak: (config, i) => {
      config.controlplane = { url: cp.url, token: tokens[i] };
    },
  });
  api = trpcAs(cp.url, (await signIn(cp.url, cp.admin.email, cp.admin.password)).cookie);
});

afterAll(async () => {
  await cluster?.stop();
  await cp?.stop();
  await db?.stop();
});

describe('real agents', () => {
  it('report a primary and two streaming replicas, with events and lag history', async () => {
    const primary = await cluster!.waitForPrimary(120_000);
    const detail = await waitFor(
      async () => {
        const c = await api.clusters.byScope.query({ scope: 'real' });
        const roles = c.members.map((m) => m.role).sort();
        return c.members.length === 3 && roles.join() === 'primary,replica,replica' && c.health.membersUp === 3 ? c : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: 'three members reporting with their roles' },
    );
    expect(detail.health.leader).toBe(primary.name);
    expect(detail.members.every((m) => m.connected && !m.stale && m.state === 'running')).toBe(true);
    expect(detail.recentEvents.some((e) => e.type === 'postgres_up')).toBe(true);

    const lag = await api.lag.series.query({ scope: 'real', from: new Date(Date.now() - 600_000).toISOString() });
    expect(lag.series.map((s) => s.member).sort()).toEqual(detail.members.map((m) => m.name).sort());
  });
});
