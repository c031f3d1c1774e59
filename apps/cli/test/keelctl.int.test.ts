/**
 * keelctl as a user runs it (`node --import tsx apps/cli/src/main.ts ...`, no terminal on stdin)
 * against a real 3-member cluster: etcd, three agents, three PostgreSQL servers.
 *
 * The tests marked `ops` need the agents' mutating REST endpoints (POST /switchover, POST /restart,
 * PATCH /config); they run when KEEL_OPS is set.
 */

import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { freePorts, TestCluster, waitFor, type Member } from '@keel/testkit';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(REPO_ROOT, 'apps/cli/src/main.ts');
const execFileP = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs keelctl with stdin closed (not a terminal), as a script or a CI job would. */
async function keelctl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, KEEL_CONFIG: '', PATRONICTL_CONFIG_FILE: '', PATRONI_SCOPE: '', PATRONI_ETCD3_HOSTS: '', ...env },
      timeout: 240_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

type Row = Record<string, string | number>;

/** The member rows of a patronictl-style table ("| a | b |" lines after the header). */
function tableRows(text: string): Row[] {
  const lines = text.split('\n').filter((l) => l.startsWith('|'));
  const cells = (l: string) =>
    l
      .slice(1, -1)
      .split('|')
      .map((c) => c.trim());
  const header = cells(lines[0]!);
  return lines.slice(1).map((l) => Object.fromEntries(cells(l).map((c, i) => [header[i]!, c])));
}

// The agent implements the operation endpoints: these run by default (KEEL_OPS=0 skips them).
const OPS = process.env.KEEL_OPS !== "0";

describe('keelctl on a real 3-member cluster', () => {
  let c: TestCluster;
  let leader: Member;
  let cfg: string;

  beforeAll(async () => {
    c = await TestCluster.start({ members: 3, ttl: 10, loopWait: 2, retryTimeout: 3 });
    leader = await c.waitForPrimary(120_000);
    await c.waitForReplicas(
      c.members.filter((m) => m !== leader).map((m) => m.name),
      120_000,
    );
    cfg = c.members[0]!.configPath;
    // every member has published its timeline, so the table is complete
    await waitFor(
      async () => {
        const r = await keelctl(['-c', cfg, 'list', '-f', 'json']);
        const rows = JSON.parse(r.stdout) as Row[];
        return rows.length === 3 && rows.every((x) => x.TL === 1 && x.State === 'running');
      },
      { timeoutMs: 60_000, intervalMs: 500, message: 'every member running on timeline 1 in keelctl list' },
    );
  });

  afterAll(async () => {
    await c?.stop();
  });

  it("lists the cluster in patronictl's table shape, from the agent's own config file", async () => {
    const r = await keelctl(['-c', cfg, 'list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^\\+ Cluster: ${c.scope} -+\\+`));
    expect(lines[1]).toMatch(/^\| Member +\| Host +\| Role +\| State +\| TL \| Lag in MB \|$/);
    expect(lines.at(-1)).toMatch(/^\+-+\+/);
    const rows = tableRows(r.stdout);
    expect(rows.map((x) => [x.Member, x.Host, x.Role, x.State, x.TL])).toEqual(
      c.members.map((m) => [m.name, `127.0.0.1:${m.pgPort}`, m === leader ? 'Leader' : 'Replica', 'running', '1']),
    );
    expect(rows.find((x) => x.Member === leader.name)!['Lag in MB']).toBe('');
    for (const x of rows.filter((y) => y.Member !== leader.name)) expect(x['Lag in MB']).toMatch(/^\d+$/);
    expect(r.stderr).toBe('');
  });

  it('lists as JSON for scripts: roles, states, timelines', async () => {
    const r = await keelctl(['-c', cfg, 'list', '--format', 'json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((x) => ({ Cluster: x.Cluster, Member: x.Member, Role: x.Role, State: x.State, TL: x.TL }))).toEqual(
      c.members.map((m) => ({ Cluster: c.scope, Member: m.name, Role: m === leader ? 'Leader' : 'Replica', State: 'running', TL: 1 })),
    );
    expect(rows.find((x) => x.Member === leader.name)).not.toHaveProperty('Lag in MB');
  });

  it('agrees with the real patronictl 3.0.2 reading the same etcd', async () => {
    const { stdout } = await execFileP('patronictl', ['-c', cfg, 'list', '-f', 'json'], { timeout: 30_000 });
    const pick = (rows: Row[]) => rows.map((x) => [x.Member, x.Host, x.Role, x.State, x.TL]);
    const ours = JSON.parse((await keelctl(['-c', cfg, 'list', '-f', 'json'])).stdout) as Row[];
    expect(pick(ours)).toEqual(pick(JSON.parse(stdout) as Row[]));
  });

  it('finds the cluster from PATRONI_SCOPE and PATRONI_ETCD3_HOSTS alone', async () => {
    const r = await keelctl(['list', '-f', 'json'], { PATRONI_SCOPE: c.scope, PATRONI_ETCD3_HOSTS: c.etcd.hostPort });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Row[]).map((x) => x.Member)).toEqual(['node1', 'node2', 'node3']);
  });

  it('shows the topology: the leader, then its replicas indented under it', async () => {
    const r = await keelctl(['-c', cfg, 'topology']);
    expect(r.code).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows.map((x) => x.Member)).toEqual([leader.name, ...c.members.filter((m) => m !== leader).map((m) => `+ ${m.name}`)]);
    expect(rows[0]!.Role).toBe('Leader');
  });

  it('shows the history (empty for a fresh cluster) as a table and as JSON', async () => {
    const r = await keelctl(['-c', cfg, 'history']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('| TL | LSN | Reason | Timestamp | New Leader |');
    const j = await keelctl(['-c', cfg, 'history', '-f', 'json']);
    expect(JSON.parse(j.stdout)).toEqual([]);
  });

  it("shows the dynamic configuration as YAML, the same document as the agent's GET /config", async () => {
    const r = await keelctl(['-c', cfg, 'show-config']);
    expect(r.code).toBe(0);
    const fromApi = (await leader.api('/config')).body;
    expect(YAML.parse(r.stdout)).toEqual(fromApi);
    expect(r.stdout).toMatch(/^loop_wait: 2\n/);
    expect(r.stdout).toContain('\nttl: 10\n');
  });

  it("prints its version and each member's agent and PostgreSQL versions", async () => {
    const r = await keelctl(['-c', cfg, 'version']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('keelctl version 0.1.0');
    expect(lines[1]).toBe('');
    expect(lines.slice(2)).toEqual(c.members.map((m) => expect.stringMatching(new RegExp(`^${m.name}: Keel \\d+\\.\\d+\\.\\d+ PostgreSQL \\d+\\.\\d+$`))));
  });

  it('says which etcd it cannot reach and exits 3, without a stack trace', async () => {
    const [port] = await freePorts(1);
    const t0 = Date.now();
    const r = await keelctl(['--dcs-url', `127.0.0.1:${port}`, '--scope', c.scope, 'list']);
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe(`Error: cannot reach etcd at 127.0.0.1:${port} (deadline 5 s exceeded)`);
    expect(r.stdout).toBe('');
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('exits 2 with a clear message when no cluster is configured or the file is missing', async () => {
    const none = await keelctl(['list'], { HOME: c.dir });
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toMatch(/^Error: no cluster given: pass -c\/--config-file/);
    const missing = await keelctl(['-c', path.join(c.dir, 'nope.yml'), 'list']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`Error: cannot read the configuration file ${path.join(c.dir, 'nope.yml')} (ENOENT): check -c/--config-file`);
  });

  it('refuses a switchover without a terminal and without --force (exit 2), changing nothing', async () => {
    const r = await keelctl(['-c', cfg, 'switchover', '--candidate', c.members.find((m) => m !== leader)!.name]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('Error: refusing to switch over without confirmation: pass --force');
    expect((await c.primary())?.name).toBe(leader.name);
  });

  describe('operations through the agents (needs the mutating REST endpoints)', () => {
    it.skipIf(!OPS)('edit-config -p max_connections=... --force changes /config and the members then want a restart', async () => {
      const r = await keelctl(['-c', cfg, 'edit-config', '-p', 'max_connections=60', '--force']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('-    max_connections: 50\n+    max_connections: 60\n');
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('Configuration changed');
      expect(((await leader.api<{ postgresql: { parameters: Record<string, unknown> } }>('/config')).body.postgresql.parameters.max_connections)).toBe(60);
      await waitFor(
        async () => {
          const rows = JSON.parse((await keelctl(['-c', cfg, 'list', '-e', '-f', 'json'])).stdout) as Row[];
          return rows.length === 3 && rows.every((x) => x['Pending restart'] === '*');
        },
        { timeoutMs: 60_000, intervalMs: 1000, message: 'every member shows a pending restart' },
      );
    });

    it.skipIf(!OPS)('restart --pending --force restarts the members that need it, and the new value is live everywhere', async () => {
      const r = await keelctl(['-c', cfg, 'restart', '--pending', '--force']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      for (const m of c.members) expect(r.stdout).toContain(`Success: restart on member ${m.name}`);
      await waitFor(
        async () => {
          for (const m of c.members) {
            const rows = await m.sql<{ max_connections: string }>('SHOW max_connections').catch(() => []);
            if (rows[0]?.max_connections !== '60') return false;
          }
          const list = JSON.parse((await keelctl(['-c', cfg, 'list', '-e', '-f', 'json'])).stdout) as Row[];
          return list.every((x) => x['Pending restart'] === undefined && x.State === 'running');
        },
        { timeoutMs: 90_000, intervalMs: 1000, message: 'max_connections = 60 on every member and no pending restart' },
      );
    });

    it.skipIf(!OPS)('pause shows "Maintenance mode: on" under the table, resume --wait takes it away', async () => {
      const p = await keelctl(['-c', cfg, 'pause', '--wait']);
      expect(p.code, p.stdout + p.stderr).toBe(0);
      expect(p.stdout.trimEnd().split('\n').at(-1)).toBe('Success: cluster management is paused');
      expect((await keelctl(['-c', cfg, 'list'])).stdout.trimEnd().split('\n').at(-1)).toBe(' Maintenance mode: on');
      const again = await keelctl(['-c', cfg, 'pause']);
      expect(again.code).toBe(1);
      expect(again.stderr.trim()).toBe('Error: Cluster is already paused');
      const r = await keelctl(['-c', cfg, 'resume', '--wait']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('Success: cluster management is resumed');
      expect((await keelctl(['-c', cfg, 'list'])).stdout).not.toContain('Maintenance mode');
    });

    it.skipIf(!OPS)('switchover --force hands the leader role to another member and the history records it', async () => {
      const r = await keelctl(['-c', cfg, 'switchover', '--force']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const said = /Successfully switched over to "([^"]+)"/.exec(r.stdout);
      expect(said, r.stdout).not.toBeNull();
      const newLeader = await c.waitForPrimary(60_000, leader.name);
      expect(newLeader.name).toBe(said![1]);
      expect(newLeader.name).not.toBe(leader.name);
      await waitFor(
        async () => {
          const rows = JSON.parse((await keelctl(['-c', cfg, 'list', '-f', 'json'])).stdout) as Row[];
          return rows.find((x) => x.Role === 'Leader')?.Member === newLeader.name;
        },
        { timeoutMs: 30_000, intervalMs: 500, message: `keelctl list shows ${newLeader.name} as the leader` },
      );
      const history = JSON.parse((await keelctl(['-c', cfg, 'history', '-f', 'json'])).stdout) as Row[];
      expect(history.at(-1)).toMatchObject({ TL: 1, 'New Leader': newLeader.name });
      leader = newLeader;
    });

    it.skipIf(!OPS)("prints the agent's refusal in patronictl's words and exits 1", async () => {
      const past = new Date(Date.now() - 3600_000).toISOString();
      const r = await keelctl(['-c', cfg, 'switchover', '--force', '--scheduled', past]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Switchover failed, details: 4\d\d, \S/);
      expect((await c.primary())?.name).toBe(leader.name);
    });
  });

});
