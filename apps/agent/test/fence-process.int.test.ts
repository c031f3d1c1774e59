/**
 * keel-fence.sh on its own, driven over stdin the way fence/index.ts drives it, against a stand-in
 * "postmaster" (a Node process named in postmaster.pid). The whole-cluster guarantees are in
 * watchdog.int.test.ts and fencing.int.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { isAlive, startEtcd, waitFor } from '@keel/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/fence/keel-fence.sh');
const started: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const p of started.splice(0)) if (p.pid && isAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A stand-in postmaster in a temp data directory; `ignoreQuit` makes it survive SIGQUIT. */
async function fakePostmaster(ignoreQuit = false): Promise<{ dir: string; proc: ChildProcess; exited: Promise<NodeJS.Signals | null> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-fence-'));
  dirs.push(dir);
  const code = `${ignoreQuit ? "process.on('SIGQUIT', () => {});" : ''} setInterval(() => {}, 1000); console.log('ready');`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve) => proc.stdout!.once('data', resolve)); // its signal handlers are in place
  started.push(proc);
  fs.writeFileSync(path.join(dir, 'postmaster.pid'), `${proc.pid}\n${dir}\n`);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.once('exit', (_c, s) => resolve(s)));
  return { dir, proc, exited };
}

function startFence(): { fence: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const fence = spawn('bash', [SCRIPT], { stdio: ['pipe', 'ignore', 'pipe'] });
  started.push(fence);
  let err = '';
  fence.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => fence.once('exit', (c) => resolve(c)));
  return { fence, stderr: () => err, exited };
}

describe('keel-fence.sh', () => {
  it('SIGQUITs the postmaster at the latest deadline, ignores SIGTERM, and exits after stdin closes', async () => {
    const pm = await fakePostmaster();
    const f = startFence();
    const t0 = Date.now();
    f.fence.stdin!.write(`arm ${t0 + 400} ${pm.dir}\n`);
    await new Promise((r) => setTimeout(r, 150));
    f.fence.stdin!.write(`arm ${t0 + 1200} ${pm.dir}\n`); // re-arm moves the deadline
    f.fence.kill('SIGTERM'); // only disarm + close ends a fence
    f.fence.stdin!.end(); // the agent died: stays armed until the deadline
    expect(await pm.exited).toBe('SIGQUIT');
    const at = Date.now() - t0;
    expect(at).toBeGreaterThanOrEqual(1200);
    expect(at).toBeLessThan(3000);
    expect(await f.exited).toBe(0);
    expect(f.stderr()).toMatch(/"component":"fence".*stopping PostgreSQL \(immediate\)/);
  });

  it('does nothing once disarmed, and ignores malformed commands', async () => {
    const pm = await fakePostmaster();
    const f = startFence();
    f.fence.stdin!.write(`arm ${Date.now() + 300} ${pm.dir}\n`);
    f.fence.stdin!.write('arm soon\n');
    f.fence.stdin!.write('disarm\n');
    await new Promise((r) => setTimeout(r, 800));
    expect(isAlive(pm.proc.pid!)).toBe(true);
    f.fence.stdin!.end();
    expect(await f.exited).toBe(0);
    expect(isAlive(pm.proc.pid!)).toBe(true);
    expect(f.stderr()).toContain('ignoring a malformed fence command');
  });

  it('sends SIGKILL when PostgreSQL ignores the immediate shutdown for 3 s', async () => {
    const pm = await fakePostmaster(true);
    const f = startFence();
    const t0 = Date.now();
    f.fence.stdin!.write(`arm ${t0 + 100} ${pm.dir}\n`);
    expect(await pm.exited).toBe('SIGKILL');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
    f.fence.stdin!.end();
    expect(await f.exited).toBe(0);
  });

  it('when the agent dies: stops PostgreSQL and what is left in its data directory at once, then revokes the lease', async () => {
    const etcd = await startEtcd();
    try {
      const ctl = (...args: string[]) => execFileSync('etcdctl', ['--endpoints', etcd.endpoint, ...args], { encoding: 'utf8' });
      const hex = /lease ([0-9a-f]+) granted/.exec(ctl('lease', 'grant', '60'))![1]!;
      ctl('put', '/service/x/leader', 'node1', '--lease', hex);
      const pm = await fakePostmaster();
      // A backend orphaned by its postmaster: same data directory as its working directory.
      const orphan = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { cwd: pm.dir, stdio: 'ignore' });
      started.push(orphan);
      const orphanExit = new Promise<NodeJS.Signals | null>((resolve) => orphan.once('exit', (_c, s) => resolve(s)));
      // A stand-in agent: the fence's parent, passing our commands on, with etcdctl's environment.
      const agentCode = `
        const { spawn } = require('node:child_process');
        const f = spawn('bash', [${JSON.stringify(SCRIPT)}], { stdio: ['pipe', 'ignore', 'inherit'], detached: true });
        f.unref();
        console.log(f.pid);
        process.stdin.pipe(f.stdin);`;
      const agent = spawn(process.execPath, ['-e', agentCode], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ETCDCTL_ENDPOINTS: etcd.endpoint } });
      started.push(agent);
      let err = '';
      agent.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const fencePid = Number(await new Promise<string>((resolve) => agent.stdout!.once('data', (d: Buffer) => resolve(d.toString()))));
      agent.stdin!.write(`lease ${hex}\narm ${Date.now() + 60_000} ${pm.dir}\n`);
      await new Promise((r) => setTimeout(r, 300));
      expect(isAlive(pm.proc.pid!)).toBe(true);
      const t0 = Date.now();
      agent.kill('SIGKILL');
      expect(await pm.exited).toBe('SIGQUIT');
      expect(await orphanExit).toBe('SIGKILL');
      await waitFor(() => ctl('get', '/service/x/leader').trim() === '', { timeoutMs: 10_000, message: 'the leader key revoked' });
      expect(Date.now() - t0).toBeLessThan(5000); // not the 60 s deadline nor the lease's 60 s
      await waitFor(() => !isAlive(fencePid), { timeoutMs: 5000, message: 'the fence exits' });
      expect(err).toMatch(/the agent died: stopping PostgreSQL \(immediate\)/);
      expect(err).toMatch(/killing processes left in the data directory/);
      // the fence's stderr reaches us through a pipe it inherited from the killed agent: read until it says so
      await waitFor(() => /revoked the leader lease/.test(err), { timeoutMs: 5000, message: 'the fence reports the revoke' });
    } finally {
      await etcd.stop();
    }
  });

  it('when the agent dies with no lease id known: stops PostgreSQL and leaves the lease to expire', async () => {
    const pm = await fakePostmaster();
    const agentCode = `
      const { spawn } = require('node:child_process');
      const f = spawn('bash', [${JSON.stringify(SCRIPT)}], { stdio: ['pipe', 'ignore', 'inherit'], detached: true });
      f.unref();
      process.stdin.pipe(f.stdin);
      console.log('up');`;
    const agent = spawn(process.execPath, ['-e', agentCode], { stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(agent);
    let err = '';
    agent.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise((resolve) => agent.stdout!.once('data', resolve));
    agent.stdin!.write(`arm ${Date.now() + 60_000} ${pm.dir}\n`);
    await new Promise((r) => setTimeout(r, 300));
    agent.kill('SIGKILL');
    expect(await pm.exited).toBe('SIGQUIT');
    await waitFor(() => /no lease id known/.test(err), { timeoutMs: 5000, message: 'the fence says it cannot revoke' });
  });

  it('starts fast (no second Node runtime)', async () => {
    const t0 = Date.now();
    const f = startFence();
    f.fence.stdin!.end(); // it must start, read EOF while disarmed, and exit
    expect(await f.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
