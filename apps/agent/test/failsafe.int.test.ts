import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestCluster, postgresOsUser, restAuth, waitFor, type Member } from '@keel/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * DCS failsafe mode and the watchdog device on one real 2-member cluster (ttl 10, loop_wait 2):
 * failsafe_mode on, and each member's watchdog (mode required) a named pipe the test reads, as in
 * Patroni's acceptance tests: '1' is a keepalive, 'V' the magic close. failsafe_mode off (the default)
 * is fencing.int.test.ts (a primary cut off from etcd demotes) and the fault suite's etcd-down.
 */

/** Everything an agent writes to its pipe, with the time it arrived. */
class PipeReader {
  readonly events: Array<{ at: number; ch: string }> = [];
  private readonly fd: number;
  private readonly timer: NodeJS.Timeout;
  constructor(readonly file: string) {
    this.fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    this.timer = setInterval(() => this.drain(), 50);
  }
  private drain(): void {
    const buf = Buffer.alloc(4096);
    for (;;) {
      let n = 0;
      try {
        n = fs.readSync(this.fd, buf, 0, buf.length, null);
      } catch {
        return; // EAGAIN: nothing more now
      }
      if (n === 0) return; // no writer at the moment
      const at = Date.now();
      for (const ch of buf.subarray(0, n).toString()) this.events.push({ at, ch });
    }
  }
  since(t: number): string {
    this.drain();
    return this.events
      .filter((e) => e.at >= t)
      .map((e) => e.ch)
      .join('');
  }
  close(): void {
    clearInterval(this.timer);
    fs.closeSync(this.fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('failsafe_mode and the watchdog device', () => {
  let c: TestCluster;
  let dir: string;
  const pipes: PipeReader[] = [];
  let primary: Member;
  let replica: Member;
  const pipeOf = (m: Member) => pipes[c.members.indexOf(m)]!;

  async function writable(m: Member): Promise<boolean> {
    try {
      await m.sql('INSERT INTO fs_writes DEFAULT VALUES');
      return true;
    } catch {
      return false;
    }
  }

  async function patchConfig(m: Member, body: Record<string, unknown>): Promise<void> {
    const res = await c.fetch(`${m.apiUrl}/config`, {
      method: 'PATCH',
      headers: { ...restAuth(c), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
  }

  // A failed case must not leave etcd down for the next one.
  let etcdDown = false;
  const killEtcd = async () => {
    etcdDown = true;
    await c.etcd.kill9();
  };
  const restartEtcd = async () => {
    await c.etcd.restart();
    etcdDown = false;
  };
  afterEach(async () => {
    if (etcdDown) await restartEtcd();
  });

  async function converged(): Promise<void> {
    primary = await c.waitForPrimary(90_000);
    replica = c.members.find((m) => m !== primary)!;
    await c.waitForReplicas([replica.name], 120_000);
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-failsafe-'));
    fs.chmodSync(dir, 0o755);
    const user = postgresOsUser();
    for (let i = 0; i < 2; i++) {
      const fifo = path.join(dir, `watchdog${i}.fifo`);
      execFileSync('mkfifo', ['-m', '0600', fifo]);
      if (user) fs.chownSync(fifo, user.uid, user.gid);
      pipes.push(new PipeReader(fifo)); // a reader first: the agents open the pipe without blocking
    }
    c = await TestCluster.start({
      members: 2,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      tweak: (config, i) => {
        config.watchdog = { mode: 'required', device: pipes[i]!.file, safety_margin: 5 };
        ((config.bootstrap as Record<string, unknown>).dcs as Record<string, unknown>).failsafe_mode = true;
      },
    });
    await converged();
    await primary.sql('CREATE TABLE fs_writes (id serial primary key)');
  }, 240_000);
  afterAll(async () => {
    await c?.etcd.restart().catch(() => undefined);
    await c?.stop();
    for (const p of pipes) p.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the primary keeps its watchdog alive each loop; the replica never opens its own; the leader keeps /failsafe', async () => {
    const t = Date.now();
    await sleep(2 * c.loopWait * 1000 + 1000);
    expect(pipeOf(primary).since(t)).toMatch(/^1{2,}$/);
    expect(pipeOf(replica).since(t)).toBe('');
    const key = await primary.api<Record<string, string>>('/failsafe');
    expect(key).toEqual({ status: 200, body: { [primary.name]: `${primary.apiUrl}/patroni`, [replica.name]: `${replica.apiUrl}/patroni` } });
    const metrics = (await primary.api<string>('/metrics')).body;
    expect(metrics).toMatch(/patroni_failsafe_mode_enabled\{[^}]*\} 1/);
    expect(metrics).toMatch(/patroni_failsafe_member\{[^}]*\} 1/);
    expect(metrics).toMatch(/patroni_failsafe_mode_is_active\{[^}]*\} 0/);
    // POST /failsafe is a mutating call: without the REST API's credentials it is refused.
    const anonymous = await c.fetch(`${replica.apiUrl}/failsafe`, { method: 'POST', body: JSON.stringify({ name: 'intruder' }) });
    expect(anonymous.status).toBe(401);
  });

  it('a switchover closes the old primary\'s watchdog with the magic character and opens the new one\'s', async () => {
    const [oldP, newP] = [primary, replica];
    const t = Date.now();
    const res = await c.fetch(`${oldP.apiUrl}/switchover`, {
      method: 'POST',
      headers: { ...restAuth(c), 'content-type': 'application/json' },
      body: JSON.stringify({ leader: oldP.name, candidate: newP.name }),
    });
    expect(res.status).toBe(200);
    await converged();
    expect(primary.name).toBe(newP.name);
    await waitFor(() => /^1+V$/.test(pipeOf(oldP).since(t)) || pipeOf(oldP).since(t) === 'V', { timeoutMs: 10_000, message: `${oldP.name} closed its watchdog` });
    await waitFor(() => /^1{2,}$/.test(pipeOf(newP).since(t)), { timeoutMs: 30_000, message: `${newP.name} keeps its watchdog alive` });
    await sleep(c.loopWait * 1000 + 500);
    expect(pipeOf(newP).since(t)).toMatch(/^1{3,}$/); // opened once and kept open
  });

  it('in pause the watchdog is closed and nothing is written until the cluster resumes', async () => {
    const t = Date.now();
    await patchConfig(primary, { pause: true });
    await waitFor(() => pipeOf(primary).since(t).endsWith('V'), { timeoutMs: 15_000, message: 'magic close on pause' });
    // Strictly after the drain that read the 'V' (events carry the millisecond they were read in).
    const paused = Date.now() + 1;
    await sleep(2 * c.loopWait * 1000 + 500);
    const story = () =>
      primary
        .logs()
        .filter((l) => Date.parse(String(l.time)) >= t - 1000 && (/watchdog/.test(String(l.msg)) || l.verdict !== undefined))
        .map((l) => `${String(l.time)} ${String(l.verdict ?? '')} ${String(l.msg)}`)
        .join('\n');
    try {
      expect(pipeOf(primary).since(paused), `written to the pipe while paused; the agent's log:\n${story()}`).toBe('');
    } finally {
      await patchConfig(primary, { pause: null }); // the next cases need a cluster that is not paused
    }
    await waitFor(() => /11$/.test(pipeOf(primary).since(paused)), { timeoutMs: 20_000, message: 'keepalives again after resume' });
  });

  it('etcd down for 2 x ttl: the primary stays writable, held by its replica (failsafe_mode_is_active), and the replica never promotes', async () => {
    const before = Date.now();
    await killEtcd();
    let refused = 0;
    let replicaPrimary = false;
    let activeSeen = false;
    while (Date.now() - before < 2 * c.ttl * 1000) {
      if (!(await writable(primary))) refused++;
      if ((await replica.api('/primary').catch(() => ({ status: 0 }))).status === 200) replicaPrimary = true;
      const st = await primary.api<{ failsafe_mode_is_active?: boolean; role: string }>('/patroni');
      if (st.body.failsafe_mode_is_active === true) activeSeen = true;
      await sleep(500);
    }
    expect(refused).toBe(0);
    expect(replicaPrimary).toBe(false);
    expect(activeSeen).toBe(true);
    expect((await primary.api('/primary')).status).toBe(200);
    expect((await replica.api<{ failsafe_mode_is_active?: boolean }>('/patroni')).body.failsafe_mode_is_active).toBe(true);
    // The watchdog stayed alive all along: a keepalive at least every ttl - safety_margin.
    const beats = pipeOf(primary).events.filter((e) => e.at >= before);
    expect(beats.map((e) => e.ch).join('')).toMatch(/^1+$/);
    expect(primary.logs().some((l) => l.verdict === 'failsafe_active')).toBe(true);
    await restartEtcd();
    const same = primary.name;
    await converged();
    expect(primary.name).toBe(same);
    expect(await writable(primary)).toBe(true);
  });

  it('etcd down and the replica stopped: the primary can no longer be held and demotes (magic close)', async () => {
    await killEtcd();
    await waitFor(async () => (await primary.api<{ failsafe_mode_is_active?: boolean }>('/patroni')).body.failsafe_mode_is_active === true, {
      timeoutMs: 20_000,
      message: 'failsafe active',
    });
    const stoppedAt = Date.now();
    await replica.stopAgent();
    await waitFor(async () => !(await writable(primary)), { timeoutMs: c.ttl * 1000 + 10_000, intervalMs: 200, message: `${primary.name} refuses writes` });
    // The magic close comes at the end of the tick that demoted (after the stop).
    await waitFor(() => pipeOf(primary).since(stoppedAt).endsWith('V'), { timeoutMs: 15_000, message: 'magic close after the demote' });
    const demote = await waitFor(() => primary.logs().find((l) => l.verdict === 'dcs_unreachable_demote'), {
      timeoutMs: 10_000,
      message: 'the demote logged',
    });
    expect(String(demote.msg)).toContain(`failsafe mode: not all members accepted: (${replica.name})`);
    // The last case: afterEach restarts etcd, afterAll stops the cluster (no need to converge again).
  });
});
