import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdHandle } from '../src/index.ts';

const run = promisify(execFile);
const etcdctl = (h: EtcdHandle, ...args: string[]) =>
  run('etcdctl', ['--endpoints', h.endpoint, '--dial-timeout', '1s', '--command-timeout', '2s', ...args], { timeout: 5000 }).then((r) => r.stdout.trim());

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startEtcd', () => {
  const started: EtcdHandle[] = [];
  afterAll(async () => {
    await Promise.all(started.map((h) => h.stop()));
  });

  it('starts a healthy single-node etcd on loopback in its own temp dir; stop() kills it by pid and removes the dir', async () => {
    const h = await startEtcd();
    started.push(h);
    expect(h.endpoint).toBe(`http://${h.hostPort}`);
    expect(h.hostPort).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(alive(h.pid)).toBe(true);
    expect(fs.existsSync(`${h.dataDir}/data/member`)).toBe(true);
    expect(fs.readFileSync(h.logFile, 'utf8')).toContain('serving client traffic');
    await etcdctl(h, 'put', 'k', 'v');
    expect(await etcdctl(h, 'get', '--print-value-only', 'k')).toBe('v');

    const pid = h.pid;
    await h.stop();
    expect(alive(pid)).toBe(false);
    expect(h.running).toBe(false);
    expect(fs.existsSync(h.dataDir)).toBe(false);
    await h.stop(); // idempotent
  });

  it('two instances get distinct ports and dirs', async () => {
    const [a, b] = await Promise.all([startEtcd(), startEtcd()]);
    started.push(a!, b!);
    expect(a!.clientPort).not.toBe(b!.clientPort);
    expect(a!.dataDir).not.toBe(b!.dataDir);
    await etcdctl(a!, 'put', 'only-in-a', '1');
    expect(await etcdctl(b!, 'get', '--print-value-only', 'only-in-a')).toBe('');
  });

  it('kill9() then restart() brings the same member back with its data on the same port', async () => {
    const h = await startEtcd();
    started.push(h);
    await etcdctl(h, 'put', 'durable', 'yes');
    const pid = h.pid;
    await h.kill9();
    expect(alive(pid)).toBe(false);
    await expect(etcdctl(h, 'get', 'durable')).rejects.toThrow();
    await h.restart();
    expect(h.pid).not.toBe(pid);
    expect(await etcdctl(h, 'get', '--print-value-only', 'durable')).toBe('yes');
  });

  it('a caller-owned dataDir is kept by stop()', async () => {
    const dir = fs.mkdtempSync('/tmp/keel-etcd-owned-');
    try {
      const h = await startEtcd({ dataDir: dir });
      started.push(h);
      await h.stop();
      expect(fs.existsSync(`${dir}/data/member`)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails fast with the log tail when etcd cannot start', async () => {
    const t0 = Date.now();
    const err = await startEtcd({ extraArgs: ['--no-such-flag'] }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/etcd exited early/);
    expect((err as Error).message).toContain('no-such-flag');
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
