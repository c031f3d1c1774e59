import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ZooKeeperDcs } from '@keel/dcs';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const KEELCTL = path.join(ROOT, 'apps/cli/src/main.ts');

// One 2-member cluster on a real standalone ZooKeeper (no etcd anywhere): bootstrap, Debian's
// patronictl 3.0.2 (kazoo) reads it, kill -9 of the primary's node -> failover when its session
// expires, the old primary rejoins as a replica; patronictl sees the new roles. The agents run from
// the built bundle, which loads node-zookeeper-client from node_modules only for a ZooKeeper DCS.
describe('a Keel cluster on ZooKeeper', () => {
  let c: TestCluster;
  let dcs: ZooKeeperDcs;
  let cfgPath: string;
  let first: Member;
  let second: Member;

  async function patronictlList(): Promise<Array<[unknown, unknown, unknown]>> {
    const { stdout } = await execFileP('patronictl', ['-c', cfgPath, 'list', c.scope, '-f', 'json'], { timeout: 60_000 });
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    return rows.map((r) => [r.Member, r.Role, r.State]);
  }

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), 'agent', '--if-needed'], { cwd: ROOT, stdio: 'pipe' });
    c = await TestCluster.start({ dcs: 'zookeeper', members: 2, ttl: 10, loopWait: 2, retryTimeout: 3, agentRuntime: 'built' });
    const zk = c.zookeeper!;
    dcs = new ZooKeeperDcs({ hosts: zk.hostPort, scope: c.scope });
    cfgPath = path.join(c.dir, 'patronictl.yml');
    fs.writeFileSync(cfgPath, YAML.stringify({ scope: c.scope, namespace: '/service/', zookeeper: { hosts: [zk.hostPort] } }));
  });
  afterAll(async () => {
    await dcs?.close();
    await c?.stop();
  });

  it('bootstraps one leader and a streaming replica; the leader znode is ephemeral; patronictl lists the roles', async () => {
    first = await c.waitForPrimary(90_000);
    second = c.members.find((m) => m !== first)!;
    await c.waitForReplicas([second.name], 120_000);
    const snap = await dcs.readCluster();
    expect(snap.leader?.name).toBe(first.name);
    expect(snap.leader?.lease).not.toBe('0'); // the agent's session owns it
    expect(snap.members.map((m) => [m.name, m.value.role])).toEqual(
      c.members.map((m) => [m.name, m === first ? 'master' : 'replica']),
    );
    expect(snap.initialize).toMatch(/^[0-9]+$/);
    expect(snap.config?.value).toMatchObject({ ttl: 10, loop_wait: 2 });
    await waitFor(async () => JSON.stringify(await patronictlList()) === JSON.stringify(c.members.map((m) => [m.name, m === first ? 'Leader' : 'Replica', 'running'])), {
      timeoutMs: 20_000,
      message: `patronictl lists ${first.name} as Leader and ${second.name} as Replica`,
    });
  });

  it('kill -9 of the primary node: the replica takes over once the dead session expires', async () => {
    await first.sql('CREATE TABLE t (id int primary key, note text)');
    await first.sql("INSERT INTO t VALUES (1, 'before failover')");
    await waitFor(async () => (await second.sql('SELECT note FROM t WHERE id = 1').catch(() => []))[0]?.note === 'before failover', {
      timeoutMs: 15_000,
      message: `row 1 on ${second.name}`,
    });
    const killedAt = Date.now();
    await first.kill9Node();
    // ZooKeeper deletes the leader znode when the session (timeout ttl) expires; the watch wakes the replica.
    const budget = (c.ttl + 2 * c.loopWait) * 1000 + 3000;
    await waitFor(
      async () => {
        await second.sql("INSERT INTO t VALUES (2, 'after failover')");
        return true;
      },
      { timeoutMs: budget, intervalMs: 100, message: `${second.name} accepts writes` },
    );
    const elapsed = Date.now() - killedAt;
    console.log(`zookeeper failover after kill -9 of the primary node: ${elapsed} ms (ttl ${c.ttl} s)`);
    expect(elapsed).toBeLessThanOrEqual(budget);
    expect((await dcs.readCluster()).leader?.name).toBe(second.name);
    expect((await second.api('/primary')).status).toBe(200);
  });

  it("the old primary rejoins as a replica; patronictl, and keelctl from the agent's own YAML, show the new roles", async () => {
    first.start();
    await c.waitForReplicas([first.name], 90_000);
    await second.sql("INSERT INTO t VALUES (3, 'after rejoin')");
    await waitFor(async () => (await first.sql('SELECT note FROM t WHERE id = 3').catch(() => []))[0]?.note === 'after rejoin', {
      timeoutMs: 30_000,
      message: `${first.name} receives rows from ${second.name}`,
    });
    await waitFor(async () => JSON.stringify(await patronictlList()) === JSON.stringify(c.members.map((m) => [m.name, m === second ? 'Leader' : 'Replica', 'running'])), {
      timeoutMs: 30_000,
      message: `patronictl lists ${second.name} as Leader and ${first.name} as Replica`,
    });
    const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', KEELCTL, '-c', second.configPath, 'list', '-f', 'json'], {
      cwd: ROOT,
      env: { ...process.env, KEEL_CONFIG: '', PATRONICTL_CONFIG_FILE: '', PATRONI_SCOPE: '', PATRONI_ETCD3_HOSTS: '', PATRONI_ZOOKEEPER_HOSTS: '' },
      timeout: 60_000,
    });
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => [r.Member, r.Role, r.State])).toEqual(c.members.map((m) => [m.name, m === second ? 'Leader' : 'Replica', 'running']));
  });
});
