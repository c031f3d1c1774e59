import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { EtcdDcs, type ClusterSnapshot } from '@keel/dcs';
import type { TNodeStatus } from '@keel/protocol';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);

// Debian's real patronictl 3.0.2 (/usr/bin/patronictl) drives a Keel cluster through every command a
// DBA uses; each case checks the effect in the DCS, the REST API or PostgreSQL, not only the exit code.
// The same cluster then drops restapi.authentication from every agent's YAML (SIGHUP reload, the path
// a config change takes in production) and every mutating command gets Keel's 403 and changes nothing.
describe('patronictl (Debian package) against a Keel cluster', () => {
  let c: TestCluster;
  let dcs: EtcdDcs;
  let cfgPath: string;
  let leader: Member;

  /** Run patronictl; never throws (the exit code is part of the result). */
  async function ctl(...args: string[]): Promise<{ code: number; out: string }> {
    try {
      const { stdout, stderr } = await execFileP('patronictl', ['-c', cfgPath, ...args], { timeout: 180_000 });
      return { code: 0, out: stdout + stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  }
  /** patronictl must succeed: exit 0 and no "Failed" line. */
  async function ok(...args: string[]): Promise<string> {
    const r = await ctl(...args);
    expect({ args, code: r.code, failed: /Failed|Error|Traceback/.test(r.out) ? r.out : null }).toEqual({ args, code: 0, failed: null });
    return r.out;
  }
  const snap = (): Promise<ClusterSnapshot> => dcs.readCluster();
  const memberKey = async (name: string) => (await snap()).members.find((m) => m.name === name)?.value;
  const startTime = async (m: Member) => (await m.api<TNodeStatus>('/patroni')).body.postmaster_start_time;
  const startTimes = async () => Object.fromEntries(await Promise.all(c.members.map(async (m) => [m.name, await startTime(m)] as const)));
  const replicas = () => c.members.filter((m) => m !== leader);
  const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

  beforeAll(async () => {
    c = await TestCluster.start({ members: 3, ttl: 10, loopWait: 2, retryTimeout: 3 });
    dcs = new EtcdDcs({ hosts: c.etcd.hostPort, namespace: '/service/', scope: c.scope });
    cfgPath = path.join(c.dir, 'patronictl.yml');
    fs.writeFileSync(
      cfgPath,
      YAML.stringify({ scope: c.scope, namespace: '/service/', etcd3: { hosts: c.etcd.hostPort }, restapi: { authentication: c.credentials.restapi } }),
    );
    leader = await c.waitForPrimary(90_000);
    await c.waitForReplicas(replicas().map((m) => m.name), 120_000);
  });
  afterAll(async () => {
    await dcs?.close();
    await c?.stop();
  });

  it('list, topology and show-config read the cluster; the member keys say role "master" like Patroni 3.0.2', async () => {
    const rows = JSON.parse(await ok('list', c.scope, '-f', 'json')) as Array<Record<string, unknown>>;
    expect(rows.map((r) => [r.Member, r.Role, r.State])).toEqual(c.members.map((m) => [m.name, m === leader ? 'Leader' : 'Replica', 'running']));
    const topology = await ok('topology', c.scope);
    for (const r of replicas()) expect(topology).toMatch(new RegExp(`\\+ ${r.name}\\s`));
    expect(topology).toContain(leader.name);
    expect(YAML.parse(await ok('show-config', c.scope))).toMatchObject({ ttl: 10, loop_wait: 2, retry_timeout: 3 });
    expect((await memberKey(leader.name))?.role).toBe('master');
    expect((await memberKey(replicas()[0]!.name))?.role).toBe('replica');
  });

  it('edit-config -p, -s and --apply change /config and PostgreSQL', async () => {
    await ok('edit-config', c.scope, '-p', 'work_mem=8MB', '-s', 'maximum_lag_on_failover=2097152', '--force');
    let cfg = (await snap()).config?.value;
    expect(cfg).toMatchObject({ maximum_lag_on_failover: 2097152, postgresql: { parameters: { work_mem: '8MB' } } });
    await waitFor(async () => (await leader.sql<{ work_mem: string }>('SHOW work_mem'))[0]?.work_mem === '8MB', { timeoutMs: 30_000, message: 'work_mem applied' });
    const file = path.join(c.dir, 'patch.yml');
    fs.writeFileSync(file, YAML.stringify({ postgresql: { parameters: { shared_buffers: '48MB' } } }));
    await ok('edit-config', c.scope, '--apply', file, '--force');
    cfg = (await snap()).config?.value;
    expect(cfg).toMatchObject({ postgresql: { parameters: { work_mem: '8MB', shared_buffers: '48MB' } } });
    // shared_buffers needs a restart: every member says so (the next case restarts them with --pending).
    await waitFor(async () => (await snap()).members.every((m) => m.value.pending_restart === true), { timeoutMs: 60_000, message: 'pending_restart everywhere' });
  });

  it('restart --pending restarts the members with a pending restart and clears the flag', async () => {
    const before = await startTimes();
    const out = await ok('restart', c.scope, '--pending', '--force');
    for (const m of c.members) expect(out).toContain(`Success: restart on member ${m.name}`);
    const after = await startTimes();
    for (const m of c.members) expect(after[m.name]).not.toBe(before[m.name]);
    await waitFor(async () => (await snap()).members.every((m) => !m.value.pending_restart), { timeoutMs: 60_000, message: 'no pending restart' });
    expect((await leader.sql<{ shared_buffers: string }>('SHOW shared_buffers'))[0]?.shared_buffers).toBe('48MB');
  });

  it('restart of one member, and --role master / --role replica', async () => {
    const [r1] = replicas();
    let before = await startTimes();
    await ok('restart', c.scope, r1!.name, '--force');
    let after = await startTimes();
    expect(Object.keys(after).filter((n) => after[n] !== before[n])).toEqual([r1!.name]);

    before = after;
    await ok('restart', c.scope, '--role', 'master', '--force');
    after = await startTimes();
    expect(Object.keys(after).filter((n) => after[n] !== before[n])).toEqual([leader.name]);

    before = after;
    await ok('restart', c.scope, '--role', 'replica', '--force');
    after = await startTimes();
    expect(Object.keys(after).filter((n) => after[n] !== before[n]).sort()).toEqual(replicas().map((m) => m.name).sort());
  });

  it('restart --scheduled shows in the member key, flush restart removes it, and a scheduled restart runs on time', async () => {
    const r = replicas()[1]!;
    await ok('restart', c.scope, r.name, '--scheduled', inSeconds(600), '--force');
    await waitFor(async () => Boolean((await memberKey(r.name))?.scheduled_restart), { timeoutMs: 15_000, message: 'scheduled_restart in the member key' });
    expect(await ok('flush', c.scope, 'restart', '--force')).toContain(`Success: flush scheduled restart for member ${r.name}`);
    await waitFor(async () => !(await memberKey(r.name))?.scheduled_restart, { timeoutMs: 15_000, message: 'scheduled_restart gone' });

    const before = await startTime(r);
    await ok('restart', c.scope, r.name, '--scheduled', inSeconds(4), '--force');
    await waitFor(async () => (await startTime(r).catch(() => before)) !== before, { timeoutMs: 60_000, message: 'the scheduled restart ran' });
    await waitFor(async () => !(await memberKey(r.name))?.scheduled_restart, { timeoutMs: 15_000, message: 'scheduled_restart cleared' });
  });

  it('reload re-reads the YAML of each member (a new tag is published)', async () => {
    for (const m of c.members) {
      const y = YAML.parse(fs.readFileSync(m.configPath, 'utf8')) as Record<string, unknown>;
      y.tags = { ...((y.tags as Record<string, unknown>) ?? {}), rack: `r-${m.name}` };
      fs.writeFileSync(m.configPath, YAML.stringify(y));
    }
    const out = await ok('reload', c.scope, '--force');
    for (const m of c.members) expect(out).toContain(`Reload request received for member ${m.name}`);
    await waitFor(async () => (await snap()).members.every((m) => m.value.tags?.rack === `r-${m.name}`), { timeoutMs: 30_000, message: 'new tags published' });
  });

  it('reinit --wait re-clones a replica (its old data directory is gone) and it streams again', async () => {
    const r = replicas()[0]!;
    const marker = path.join(r.dataDir, 'keel-reinit-marker');
    fs.writeFileSync(marker, 'old data directory');
    const out = await ok('reinit', c.scope, r.name, '--force', '--wait');
    expect(out).toContain(`Success: reinitialize for member ${r.name}`);
    expect(out).toContain(`Reinitialize is completed on: ${r.name}`);
    expect(fs.existsSync(marker)).toBe(false);
    await c.waitForReplicas([r.name], 120_000);
  });

  it('switchover --leader/--candidate, a scheduled switchover removed by flush, and failover --candidate', async () => {
    const [a, b] = replicas();
    const out = await ok('switchover', c.scope, '--leader', leader.name, '--candidate', a!.name, '--force');
    expect(out).toContain(`Successfully switched over to "${a!.name}"`);
    expect((await c.waitForPrimary(60_000)).name).toBe(a!.name);
    expect((await snap()).leader?.name).toBe(a!.name);
    const old = leader;
    leader = a!;
    await c.waitForReplicas([old.name, b!.name], 120_000);

    const at = inSeconds(3600);
    expect(await ok('switchover', c.scope, '--leader', leader.name, '--candidate', b!.name, '--scheduled', at, '--force')).toContain('Switchover scheduled');
    const f = (await snap()).failover?.value;
    expect(f).toMatchObject({ leader: leader.name, member: b!.name });
    expect(Date.parse(String(f?.scheduled_at))).toBe(Date.parse(at));
    expect(await ok('flush', c.scope, 'switchover', '--force')).toContain('Success: scheduled switchover deleted');
    expect((await snap()).failover).toBeNull();

    await ok('failover', c.scope, '--candidate', b!.name, '--force');
    expect((await c.waitForPrimary(60_000)).name).toBe(b!.name);
    leader = b!;
    await c.waitForReplicas(replicas().map((m) => m.name), 120_000);
    // history: one line per switchover
    const history = JSON.parse(await ok('history', c.scope, '-f', 'json')) as unknown[];
    expect(history.length).toBeGreaterThanOrEqual(2);
  });

  it('pause --wait and resume --wait', async () => {
    expect(await ok('pause', c.scope, '--wait')).toContain('Success: cluster management is paused');
    expect((await snap()).config?.value.pause).toBe(true);
    expect((await snap()).members.every((m) => m.value.pause === true)).toBe(true);
    expect(await ok('resume', c.scope, '--wait')).toContain('Success: cluster management is resumed');
    expect((await snap()).config?.value.pause).toBeUndefined();
    expect((await snap()).members.some((m) => m.value.pause)).toBe(false);
  });

  it('without restapi.authentication every mutating command gets Keel\'s 403 and changes nothing', async () => {
    // Drop authentication from every agent's YAML and reload it (SIGHUP), as an operator would.
    for (const m of c.members) {
      const y = YAML.parse(fs.readFileSync(m.configPath, 'utf8')) as { restapi: Record<string, unknown> };
      delete y.restapi.authentication;
      fs.writeFileSync(m.configPath, YAML.stringify(y));
      m.agent!.kill('SIGHUP');
    }
    const refused = 'mutating REST calls are refused: configure restapi.authentication';
    await waitFor(async () => (await fetch(`${leader.apiUrl}/reload`, { method: 'POST' })).status === 403, { timeoutMs: 15_000, message: 'the agents reloaded' });
    for (const m of c.members) expect((await fetch(`${m.apiUrl}/restart`, { method: 'POST', body: '{}' })).status).toBe(403);

    const before = await snap();
    const times = await startTimes();
    const r = replicas()[0]!;
    // patronictl prints the member's answer; it exits 0 for restart/reload/reinit/switchover/pause (its own rule).
    const cases: string[][] = [
      ['restart', c.scope, r.name, '--force'],
      ['reload', c.scope, r.name, '--force'],
      ['reinit', c.scope, r.name, '--force'],
      ['switchover', c.scope, '--leader', leader.name, '--candidate', r.name, '--force'],
      ['failover', c.scope, '--candidate', r.name, '--force'],
      ['pause', c.scope],
    ];
    for (const args of cases) {
      const res = await ctl(...args);
      expect({ args, says403: res.out.includes('403') && res.out.includes(refused) }).toEqual({ args, says403: true });
    }
    const after = await snap();
    expect(after.leader?.name).toBe(before.leader?.name);
    expect(after.failover).toBeNull();
    expect(after.config?.value.pause).toBeUndefined();
    expect(await startTimes()).toEqual(times);
  });
});
