import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TNodeStatus } from '@keel/protocol';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const KEELCTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/src/main.ts');

// Two sites: a 2-member primary cluster (site-a) and a 2-member standby cluster (site-b) whose
// bootstrap.dcs has standby_cluster pointing at site-a's primary. site-b's leader is a standby leader
// (it streams from site-a, never promotes), its other member cascades from it. Debian's patronictl
// lists it and its bad standby_cluster is skipped; a switchover inside site-b moves the standby leader;
// a planned site switchover (keelctl demote-cluster on site-a, promote-cluster on site-b) reverses the
// roles; then site-b stops and promote-cluster makes site-a's standby leader a primary with every row.
describe('a standby cluster following a primary cluster', () => {
  let a: TestCluster;
  let b: TestCluster;
  let aLeader: Member;
  let cfgA: string;
  let cfgB: string;

  const role = async (m: Member) => (await m.api<TNodeStatus>('/patroni')).body.role;
  const count = async (m: Member) => Number((await m.sql<{ n: string }>('SELECT count(*) AS n FROM site_rows'))[0]!.n);
  const inRecovery = async (m: Member) => (await m.sql<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))[0]!.r;
  const insert = (m: Member, from: number, to: number) => m.sql(`INSERT INTO site_rows SELECT g, 'site-a' FROM generate_series(${from}, ${to}) g`);
  async function standbyLeader(timeoutMs = 60_000, not?: string, site: TestCluster = b): Promise<Member> {
    let found: Member | undefined;
    await waitFor(
      async () => {
        for (const m of site.members) {
          if (m.name !== not && (await role(m).catch(() => null)) === 'standby_leader') found = m;
        }
        return found !== undefined;
      },
      { timeoutMs, message: `${site.scope} has a standby leader` },
    );
    return found!;
  }
  async function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
    try {
      const { stdout, stderr } = await execFileP(cmd, args, { timeout: 120_000 });
      return { code: 0, out: stdout + stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  }
  const patronictl = (...args: string[]) => run('patronictl', ['-c', cfgB, ...args]);
  const keelctl = (cfg: string, ...args: string[]) => run(process.execPath, ['--import', 'tsx', KEELCTL, '-c', cfg, ...args]);
  const ctlConfig = (c: TestCluster) => {
    const f = path.join(c.dir, 'ctl.yml');
    fs.writeFileSync(f, YAML.stringify({ scope: c.scope, namespace: '/service/', etcd3: { hosts: c.etcd.hostPort }, restapi: { authentication: c.credentials.restapi } }));
    return f;
  };

  beforeAll(async () => {
    a = await TestCluster.start({ members: 2, scope: 'site-a' });
    aLeader = await a.waitForPrimary(90_000);
    await a.waitForReplicas(a.members.filter((m) => m !== aLeader).map((m) => m.name), 90_000);
    await aLeader.sql('CREATE TABLE site_rows (id int PRIMARY KEY, site text NOT NULL)');
    await insert(aLeader, 1, 50);
    b = await TestCluster.start({
      members: 2,
      scope: 'site-b',
      credentials: a.credentials, // the standby cluster's data (roles included) comes from site-a
      tweak: (config) => {
        const dcs = (config['bootstrap'] as { dcs: Record<string, unknown> }).dcs;
        dcs['standby_cluster'] = { host: '127.0.0.1', port: aLeader.pgPort };
      },
    });
    cfgA = ctlConfig(a);
    cfgB = ctlConfig(b);
  }, 240_000);

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('its leader is a standby leader following site-a, the other member cascades from it, and site-a rows reach both', async () => {
    const leader = await standbyLeader(120_000);
    const replica = b.members.find((m) => m !== leader)!;
    await insert(aLeader, 51, 100);
    for (const m of b.members) await waitFor(async () => (await count(m).catch(() => 0)) === 100, { timeoutMs: 60_000, message: `${m.name} has the 100 rows` });
    // the standby leader streams from site-a, the replica from the standby leader
    const upstream = async (m: Member) => Number((await m.sql<{ p: number }>('SELECT sender_port AS p FROM pg_stat_wal_receiver'))[0]?.p);
    expect(await upstream(leader)).toBe(aLeader.pgPort);
    await waitFor(async () => (await upstream(replica).catch(() => 0)) === leader.pgPort, { timeoutMs: 30_000, message: 'the replica cascades from the standby leader' });
    // Patroni's health checks
    const codes = async (m: Member) =>
      Object.fromEntries(await Promise.all(['/standby-leader', '/primary', '/leader', '/replica'].map(async (p) => [p, (await m.api(p)).status] as const)));
    expect(await codes(leader)).toEqual({ '/standby-leader': 200, '/primary': 503, '/leader': 200, '/replica': 503 });
    expect(await codes(replica)).toEqual({ '/standby-leader': 503, '/primary': 503, '/leader': 503, '/replica': 200 });
    // no writable primary while standby_cluster is set
    await expect(leader.sql("INSERT INTO site_rows VALUES (0, 'site-b')")).rejects.toThrow(/read-only transaction/);
  });

  it('patronictl lists the Standby Leader; a bad standby_cluster from its edit-config is skipped whole and the site keeps following', async () => {
    const leader = await standbyLeader();
    const list = await patronictl('list', '-f', 'json');
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.out) as Array<{ Member: string; Role: string }>;
    expect(rows.find((r) => r.Member === leader.name)?.Role).toBe('Standby Leader');
    // patronictl 3.0.2 writes /config straight into etcd: the agents check what they adopt
    const bad = await patronictl('edit-config', '--force', '-s', 'standby_cluster.port=99999');
    expect(bad.code).toBe(0);
    for (const m of b.members) {
      await waitFor(async () => m.logs().some((l) => String(l['msg']).includes('skipped a /config value: standby_cluster.port: expected a port number from 1 to 65535')), {
        timeoutMs: 30_000,
        message: `${m.name} skips the bad standby_cluster`,
      });
    }
    await insert(aLeader, 101, 110);
    for (const m of b.members) await waitFor(async () => (await count(m).catch(() => 0)) === 110, { timeoutMs: 60_000, message: `${m.name} still follows site-a` });
    expect(await role(leader)).toBe('standby_leader');
    const fixed = await patronictl('edit-config', '--force', '-s', `standby_cluster.port=${aLeader.pgPort}`);
    expect(fixed.code).toBe(0);
  });

  it('a switchover inside the standby cluster moves the standby leader, which never promotes', async () => {
    const old = await standbyLeader();
    const candidate = b.members.find((m) => m !== old)!;
    const r = await patronictl('switchover', '--force', '--leader', old.name, '--candidate', candidate.name);
    expect(r.out).toMatch(/Successfully switched over to "?/);
    const now = await standbyLeader(60_000, old.name);
    expect(now.name).toBe(candidate.name);
    await insert(aLeader, 111, 120);
    for (const m of b.members) {
      await waitFor(async () => (await count(m).catch(() => 0)) === 120, { timeoutMs: 60_000, message: `${m.name} has the 120 rows after the switchover` });
      expect(await inRecovery(m)).toBe(true);
    }
    expect(await role(old)).toBe('replica');
  });

  it('a planned site switchover: demote-cluster site-a to follow site-b, promote-cluster site-b; site-a follows it', async () => {
    const bLeader = await standbyLeader();
    const demoted = await keelctl(cfgA, 'demote-cluster', '--host', '127.0.0.1', '--port', String(bLeader.pgPort), '--force');
    expect(demoted).toMatchObject({ code: 0 });
    expect(demoted.out).toMatch(/Success: the site-a cluster is a standby cluster following 127\.0\.0\.1:\d+/);
    const aStandbyLeader = await standbyLeader(60_000, undefined, a);
    expect(aStandbyLeader.name).toBe(aLeader.name); // the lock holder stayed, now in recovery
    for (const m of a.members) expect(await inRecovery(m)).toBe(true);
    const promoted = await keelctl(cfgB, 'promote-cluster', '--force');
    expect(promoted).toMatchObject({ code: 0 });
    expect(['primary', 'master']).toContain(await role(bLeader)); // Patroni 3 spells it master
    await bLeader.sql("INSERT INTO site_rows SELECT g, 'site-b' FROM generate_series(121, 130) g");
    for (const m of [...a.members, ...b.members]) {
      await waitFor(async () => (await count(m).catch(() => 0)) === 130, { timeoutMs: 60_000, message: `${m.name} has site-b's rows` });
    }
    expect((await aStandbyLeader.api('/standby-leader')).status).toBe(200);
    expect((await bLeader.api('/primary')).status).toBe(200);
  });

  it('after site-b stops, keelctl promote-cluster promotes site-a\'s standby leader: it accepts writes and has every row', async () => {
    const leader = await standbyLeader(60_000, undefined, a);
    const replica = a.members.find((m) => m !== leader)!;
    await b.stop();
    const r = await keelctl(cfgA, 'promote-cluster', '--force');
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/Success: the site-a cluster is promoted/);
    expect(['primary', 'master']).toContain(await role(leader));
    expect(await count(leader)).toBe(130);
    await insert(leader, 131, 140);
    await waitFor(async () => (await count(replica).catch(() => 0)) === 140, { timeoutMs: 60_000, message: 'the replica follows the promoted leader' });
    expect((await leader.api('/primary')).status).toBe(200);
    expect((await leader.api('/standby-leader')).status).toBe(503);
  });
});
