/**
 * The production artifacts work: `npm run build` (scripts/build.mjs), then a real cluster whose
 * agents run apps/agent/bin/keel-agent.js (the bundle, no tsx), with the fence process found next
 * to the bundle, and keelctl run from apps/cli/bin/keelctl.js against it.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AGENT_BIN, TestCluster, waitFor } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const KEELCTL_BIN = path.join(REPO_ROOT, 'apps/cli/bin/keelctl.js');
const execFileP = promisify(execFile);

const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

/** PIDs whose parent is `pid`. */
function children(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('the built artifacts (npm run build)', () => {
  let c: TestCluster;

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build.mjs'), 'agent', 'cli', '--if-needed'], { cwd: REPO_ROOT, stdio: 'pipe' });
    // The second member logs log.type plain: pino-pretty in-process, loaded from node_modules by the bundle.
    c = await TestCluster.start({
      members: 2,
      agentRuntime: 'built',
      tweak: (cfg, i) => {
        if (i === 1) cfg.log = { level: 'INFO', type: 'plain' };
      },
    });
    const p = await c.waitForPrimary(90_000);
    await c.waitForReplicas(c.members.filter((m) => m !== p).map((m) => m.name), 120_000);
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('runs the agents from the bundle, with the fence next to it, and no TypeScript at run time', async () => {
    const primary = (await c.primary())!;
    for (const m of c.members) {
      const args = cmdline(m.agentPid!);
      expect(args).toContain(AGENT_BIN);
      expect(args.join(' ')).not.toMatch(/tsx/);
      const maps = fs.readFileSync(`/proc/${m.agentPid}/maps`, 'utf8');
      expect(maps).not.toMatch(/node_modules\/(tsx|esbuild)/);
    }
    // The primary's fence: a bash process running dist/keel-fence.sh, child of its agent.
    const fence = await waitFor(
      () => children(primary.agentPid!).find((pid) => cmdline(pid).some((a) => a.endsWith('apps/agent/dist/keel-fence.sh'))) ?? null,
      { timeoutMs: 10_000, message: 'the fence process of the primary' },
    );
    expect(cmdline(fence)[0]).toMatch(/bash$/);
    const body = (await primary.api<{ role: string; state: string }>('/patroni')).body;
    expect(body).toMatchObject({ role: 'master', state: 'running' }); // Patroni 3's word in /patroni (README: role vocabulary)
  });

  it('logs JSON lines by default and readable lines with log.type plain', () => {
    const [json, plain] = c.members.map((m) => fs.readFileSync(m.logPath, 'utf8'));
    const records = json!.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.filter((r) => r.member === c.members[0]!.name).length).toBeGreaterThan(0);
    expect(plain).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [^\]]*\] (INFO|WARN): /m);
    expect(plain).toContain(`member: "${c.members[1]!.name}"`);
    expect(plain).not.toContain('"member":');
  });

  it('keelctl from its built bin lists the cluster', async () => {
    const primary = (await c.primary())!;
    const { stdout } = await execFileP(KEELCTL_BIN, ['-c', c.members[0]!.configPath, 'list', '--format', 'json'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PATRONICTL_CONFIG_FILE: '', PATRONI_SCOPE: '', PATRONI_ETCD3_HOSTS: '' },
      timeout: 60_000,
    });
    const rows = JSON.parse(stdout) as Array<{ Member: string; Role: string; State: string }>;
    expect(rows.map((r) => r.Member).sort()).toEqual(c.members.map((m) => m.name).sort());
    expect(rows.find((r) => r.Member === primary.name)).toMatchObject({ Role: 'Leader', State: 'running' });
  });
});
