import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dcsKeys } from '@keel/protocol';
import { freePort, startEtcd, TcpProxy, waitFor, type EtcdHandle } from '@keel/testkit';
import { DcsError, EtcdDcs, type LeaderEvent, type WatchStatus } from '../src/index.ts';
import { b64, EtcdHttp, unb64, type JKv } from '../src/etcd-http.ts';
import { defineDcsContract } from './contract.ts';

const execFileP = promisify(execFile);
let etcd: EtcdHandle;
let raw: EtcdHttp;
let seq = 0;
const scopeName = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

/** How many requests of a gRPC method (e.g. "Range") etcd has served, from its /metrics (its gateway calls its own gRPC server). */
async function etcdServed(endpoint: string, method: string): Promise<number> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('grpc_server_handled_total{') && l.includes('grpc_code="OK"') && l.includes(`grpc_method="${method}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

beforeAll(async () => {
  etcd = await startEtcd();
  raw = new EtcdHttp({ hosts: [etcd.endpoint] });
});

afterAll(async () => {
  raw?.close();
  await etcd?.stop();
});

describe('EtcdDcs contract (real etcd)', () => {
  defineDcsContract(() => ({
    ttl: 2,
    expiryWaitMs: 10_000,
    eventWaitMs: 5_000,
    pollMs: 200,
    cluster: async () => {
      const scope = scopeName('contract');
      const keys = dcsKeys('/service/', scope);
      return {
        agent: () => new EtcdDcs({ hosts: [etcd.hostPort], scope, callTimeoutMs: 4000 }),
        putRaw: async (k, v) => {
          await raw.call('/v3/kv/put', { key: b64(keys.base + k), value: b64(v) }, Date.now() + 5000);
        },
        getRaw: async (k) => {
          const kv = (await raw.call<{ kvs?: JKv[] }>('/v3/kv/range', { key: b64(keys.base + k) }, Date.now() + 5000)).kvs?.[0];
          return kv ? { value: unb64(kv.value), lease: kv.lease ?? '0' } : null;
        },
        passTime: async () => undefined, // real time passes while the tests poll
        now: () => Date.now(),
      };
    },
  }));
});

/** Runs `p`, expecting a DcsError; returns it and how long it took. */
async function failing(p: () => Promise<unknown>): Promise<{ err: DcsError; ms: number }> {
  const t0 = Date.now();
  const result = await p().then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  const ms = Date.now() - t0;
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.v)}`);
  expect(result.e).toBeInstanceOf(DcsError);
  return { err: result.e as DcsError, ms };
}

describe('EtcdDcs under network faults', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  const track = <T extends { close(): Promise<void> } | { stop(): Promise<void> }>(x: T): T => {
    cleanups.push(() => ('close' in x ? x.close() : x.stop()));
    return x;
  };
  const proxyTo = async (target: string) => {
    const p = track(new TcpProxy(target));
    await p.start();
    return p;
  };

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('blackholed: renewLeader and readCluster reject within callTimeoutMs + 1 s, every other call too; all work after heal', async () => {
    const T = 1500;
    const proxy = await proxyTo(etcd.hostPort);
    const a = track(new EtcdDcs({ hosts: [proxy.hostPort], scope: scopeName('bh'), callTimeoutMs: T }));
    await a.ensureLease(20);
    expect(await a.acquireLeader('a')).toBe(true);
    const cancelWatch = await a.watchLeader(() => undefined);

    proxy.blackhole();
    for (const [op, call] of [
      ['renewLeader', () => a.renewLeader('a')],
      ['readCluster', () => a.readCluster()],
    ] as const) {
      const { err, ms } = await failing(call);
      expect(err.code).toBe('timeout');
      expect(err.op).toBe(op);
      expect(err.message).toBe(`etcd unreachable (${proxy.hostPort}): deadline of ${T} ms exceeded in ${op}`);
      expect(ms).toBeLessThan(T + 1000);
      expect(ms).toBeGreaterThanOrEqual(T - 50); // it really waited: the packets went nowhere
    }
    // everything else, concurrently
    const others: Array<[string, () => Promise<unknown>]> = [
      ['keepAlive', () => a.keepAlive()],
      ['acquireLeader', () => a.acquireLeader('a')],
      ['releaseLeader', () => a.releaseLeader('a')],
      ['touchMember', () => a.touchMember('a', { conn_url: 'c', api_url: 'u', state: 'running', role: 'primary', version: '1' })],
      ['deleteMember', () => a.deleteMember('a')],
      ['claimInitialize', () => a.claimInitialize('')],
      ['setInitialize', () => a.setInitialize('1')],
      ['deleteInitialize', () => a.deleteInitialize()],
      ['setConfig', () => a.setConfig({ ttl: 30 }, 5)],
      ['setHistory', () => a.setHistory([])],
      ['setStatus', () => a.setStatus({ optime: 1 })],
      ['setFailover', () => a.setFailover({ leader: 'a' })],
      ['deleteFailover', () => a.deleteFailover(3)],
      ['setSync', () => a.setSync({ leader: 'a' })],
      ['ensureLease', () => a.ensureLease(21)],
      ['watchLeader', () => a.watchLeader(() => undefined)],
    ];
    const results = await Promise.all(others.map(async ([op, call]) => ({ op, ...(await failing(call)) })));
    for (const r of results) {
      expect(r.err.op).toBe(r.op);
      expect(r.err.code).toBe('timeout');
      expect(r.err.message).toContain(`deadline of ${T} ms exceeded in ${r.op}`);
      expect(r.ms).toBeLessThan(T + 1000);
    }

    proxy.heal();
    // heal() delivers the held bytes: the releaseLeader and deleteMember sent into the partition may
    // still land now (a deadline says "no answer in time", never "not applied"), so the key may be
    // gone. Either way calls work again and the member can hold the key again.
    await waitFor(async () => (await a.renewLeader('a')) || (await a.acquireLeader('a')), { timeoutMs: 5000, message: 'renewLeader or acquireLeader works again after heal' });
    expect((await a.readCluster()).leader?.name).toBe('a');
    expect(await a.keepAlive()).toBe(true);
    await cancelWatch();
  });

  it('fencing: a blackholed leader fails to renew within its deadline while its key expires for everyone else', async () => {
    const scope = scopeName('fence');
    const proxy = await proxyTo(etcd.hostPort);
    const leader = track(new EtcdDcs({ hosts: [proxy.hostPort], scope, callTimeoutMs: 1000 }));
    const other = track(new EtcdDcs({ hosts: [etcd.hostPort], scope, callTimeoutMs: 2000 }));
    await leader.ensureLease(2);
    expect(await leader.acquireLeader('old')).toBe(true);
    proxy.blackhole();
    const { err, ms } = await failing(() => leader.renewLeader('old'));
    expect(err.code).toBe('timeout');
    expect(ms).toBeLessThan(2000);
    await waitFor(async () => (await other.readCluster()).leader === null, { timeoutMs: 8000, message: 'the unrenewed leader key expires' });
    await other.ensureLease(10);
    expect(await other.acquireLeader('new')).toBe(true);
    proxy.heal();
    await waitFor(async () => (await leader.renewLeader('old').catch(() => 'error')) === false, {
      timeoutMs: 5000,
      message: 'after heal the old leader learns it lost the lock',
    });
    expect(leader.leaseId).toBeNull();
  });

  it('reset connections: calls reject within the deadline, then work again after heal', async () => {
    const T = 1500;
    const proxy = await proxyTo(etcd.hostPort);
    const a = track(new EtcdDcs({ hosts: [proxy.hostPort], scope: scopeName('reset'), callTimeoutMs: T }));
    await a.setConfig({ ttl: 30 });
    proxy.cutAndReset();
    const { err, ms } = await failing(() => a.readCluster());
    expect(['unreachable', 'timeout']).toContain(err.code);
    expect(err.message).toMatch(new RegExp(`^etcd unreachable \\(${proxy.hostPort.replace(/\./g, '\\.')}\\): .* in readCluster$`));
    expect(ms).toBeLessThan(T + 1000);
    proxy.heal();
    await waitFor(async () => (await a.readCluster()).config?.value.ttl === 30, { timeoutMs: 5000, message: 'readCluster after heal' });
  });

  it('several hosts: a refusing host and a blackholed host in the list do not stop calls', async () => {
    const deadPort = await freePort(); // nothing listens there
    const hole = await proxyTo(etcd.hostPort);
    hole.blackhole();
    const scope = scopeName('multi');
    const a = track(
      new EtcdDcs({ hosts: `127.0.0.1:${deadPort},${hole.hostPort},${etcd.hostPort}`, scope, callTimeoutMs: 3000 }),
    );
    const t0 = Date.now();
    await a.ensureLease(10);
    for (let i = 0; i < 8; i++) {
      expect(await a.setStatus({ optime: i }).then(() => 'ok')).toBe('ok');
      expect((await a.readCluster()).status).toEqual({ optime: i });
    }
    // the bad hosts are skipped once they failed: far less than one deadline per call
    expect(Date.now() - t0).toBeLessThan(8000);
  });

  it('watchLeader rejects within the deadline when etcd cannot be reached', async () => {
    const proxy = await proxyTo(etcd.hostPort);
    proxy.blackhole();
    const a = track(new EtcdDcs({ hosts: [proxy.hostPort], scope: scopeName('wfail'), callTimeoutMs: 1000 }));
    const { err, ms } = await failing(() => a.watchLeader(() => undefined));
    expect(err.code).toBe('timeout');
    expect(err.op).toBe('watchLeader');
    expect(ms).toBeLessThan(2000);
  });

  async function watchThrough(host: string, scope: string) {
    const w = track(new EtcdDcs({ hosts: [host], scope, callTimeoutMs: 3000 }));
    const events: LeaderEvent[] = [];
    const statuses: WatchStatus[] = [];
    const cancel = await w.watchLeader((e) => events.push(e), { onStatus: (s) => statuses.push(s) });
    cleanups.push(cancel);
    return { events, statuses };
  }

  it('the watch resumes after the connection is reset and replays what happened meanwhile', async () => {
    const scope = scopeName('wreset');
    const proxy = await proxyTo(etcd.hostPort);
    const { events, statuses } = await watchThrough(proxy.hostPort, scope);
    const b = track(new EtcdDcs({ hosts: [etcd.hostPort], scope, callTimeoutMs: 3000 }));
    await b.ensureLease(10);

    proxy.cutAndReset();
    await waitFor(() => statuses.includes('disconnected'), { timeoutMs: 5000, message: 'the watch notices the reset' });
    expect(await b.acquireLeader('b')).toBe(true); // while the watcher is cut off
    expect(events).toEqual([]);
    proxy.heal();
    await waitFor(() => events.length >= 1, { timeoutMs: 10_000, message: 'the missed put is replayed after reconnecting' });
    expect(events[0]).toEqual({ type: 'put', value: 'b' });
    expect(statuses.at(-1)).toBe('connected');
    expect(await b.releaseLeader('b')).toBe(true);
    await waitFor(() => events.length >= 2, { timeoutMs: 5000, message: 'live events after the reconnect' });
    expect(events[1]).toEqual({ type: 'delete', value: null });
  });

  it('the watch notices a blackholed connection (keepalive) and resumes after heal({ reset: true })', async () => {
    const scope = scopeName('wbh');
    const proxy = await proxyTo(etcd.hostPort);
    const { events, statuses } = await watchThrough(proxy.hostPort, scope);
    const b = track(new EtcdDcs({ hosts: [etcd.hostPort], scope, callTimeoutMs: 3000 }));
    await b.ensureLease(10);
    proxy.blackhole();
    expect(await b.acquireLeader('b')).toBe(true);
    // gRPC keepalive (6 s + 3 s) declares the silent connection dead
    await waitFor(() => statuses.includes('disconnected'), { timeoutMs: 15_000, message: 'keepalive detects the blackhole' });
    expect(events).toEqual([]);
    proxy.heal({ reset: true });
    await waitFor(() => events.length >= 1, { timeoutMs: 10_000, message: 'the put made during the blackhole arrives' });
    expect(events[0]).toEqual({ type: 'put', value: 'b' });
  });

  it("one agent's watches on one host share their liveness probe: one range request per quiet period, not one per watch", async () => {
    const own = track(await startEtcd());
    const ranges = () => etcdServed(own.endpoint, 'Range');
    const quietMs = 300;
    const w = track(new EtcdDcs({ hosts: [own.hostPort], scope: scopeName('probe'), callTimeoutMs: 3000, keepaliveTimeMs: quietMs, keepaliveTimeoutMs: 2000 }));
    const statuses: WatchStatus[] = [];
    const onStatus = (s: WatchStatus) => statuses.push(s);
    cleanups.push(await w.watchLeader(() => undefined, { onStatus }));
    cleanups.push(await w.watchFailover(() => undefined, { onStatus }));
    cleanups.push(await w.watchMembers(() => undefined, { onStatus }));
    const before = await ranges();
    const t0 = Date.now();
    await waitFor(async () => (await ranges()) - before >= 8, { timeoutMs: 15_000, message: 'the quiet watches probe their host' });
    const probes = (await ranges()) - before;
    const periods = (Date.now() - t0) / quietMs;
    // three watches probing on their own would send about 3 a period
    expect(probes).toBeLessThanOrEqual(Math.ceil(periods) + 2);
    expect(statuses).not.toContain('disconnected'); // the shared answers kept every watch alive
  });

  it('with a long keepalive time, a request that fails to reach the host makes the watch check its own connection at once', async () => {
    const scope = scopeName('wdown');
    const proxy = await proxyTo(etcd.hostPort);
    const w = track(new EtcdDcs({ hosts: [proxy.hostPort], scope, callTimeoutMs: 2000, keepaliveTimeMs: 600_000, keepaliveTimeoutMs: 2000 }));
    const statuses: WatchStatus[] = [];
    cleanups.push(await w.watchLeader(() => undefined, { onStatus: (s) => statuses.push(s) }));
    proxy.blackhole();
    const t0 = Date.now();
    await expect(w.readCluster()).rejects.toBeInstanceOf(DcsError); // the agent's own request times out
    await waitFor(() => statuses.includes('disconnected'), { timeoutMs: 15_000, message: 'the watch probes its host after the failed request, not after 10 min' });
    expect(Date.now() - t0).toBeLessThan(60_000);
  });

  it('sends no probe while other requests keep reaching its host within the keepalive time (the agent sets loop_wait + 2 s)', async () => {
    const own = track(await startEtcd());
    const ranges = () => etcdServed(own.endpoint, 'Range');
    const w = track(new EtcdDcs({ hosts: [own.hostPort], scope: scopeName('noprobe'), callTimeoutMs: 3000, keepaliveTimeMs: 100 }));
    w.setWatchKeepaliveTime(800); // what the agent does with its loop_wait
    cleanups.push(await w.watchLeader(() => undefined));
    cleanups.push(await w.watchMembers(() => undefined));
    const before = await ranges();
    let reads = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 3000) {
      await w.readCluster(); // one range request, like the loop's cluster read
      reads++;
      await waitFor(() => Date.now() - t0 >= reads * 300, { timeoutMs: 1000, message: 'the next read' });
    }
    expect(await ranges()).toBe(before + reads);
    // silent for longer than the keepalive time: now the watches probe (once between them)
    await waitFor(async () => (await ranges()) > before + reads, { timeoutMs: 5000, message: 'a probe after 800 ms of silence' });
  });

  it('renewLeader with the key as this tick read it is one keepalive: no second range read', async () => {
    const own = track(await startEtcd());
    const served = (method: string) => etcdServed(own.endpoint, method);
    const a = track(new EtcdDcs({ hosts: [own.hostPort], scope: scopeName('renew1'), callTimeoutMs: 3000 }));
    await a.ensureLease(10);
    expect(await a.acquireLeader('a')).toBe(true);
    const seen = (await a.readCluster()).leader!;
    const [ranges, keepalives] = [await served('Range'), await served('LeaseKeepAlive')];
    expect(await a.renewLeader('a', seen)).toBe(true);
    expect(await a.renewLeader('a')).toBe(true);
    expect(await served('Range')).toBe(ranges + 1); // only the renewal without a snapshot read the key
    expect(await served('LeaseKeepAlive')).toBeGreaterThanOrEqual(keepalives + 2);
  });

  it('the watch resumes after etcd restarts, and sees a lease-expiry delete that happens across it', async () => {
    const own = track(await startEtcd());
    const scope = scopeName('wrestart');
    const { events, statuses } = await watchThrough(own.hostPort, scope);
    const b = track(new EtcdDcs({ hosts: [own.hostPort], scope, callTimeoutMs: 3000 }));
    await b.ensureLease(10);
    expect(await b.acquireLeader('b')).toBe(true);
    await waitFor(() => events.length >= 1, { timeoutMs: 5000, message: 'put before the restart' });

    await own.kill9();
    await waitFor(() => statuses.includes('disconnected'), { timeoutMs: 5000, message: 'the watch notices etcd died' });
    await own.restart();
    await waitFor(() => statuses.at(-1) === 'connected', { timeoutMs: 10_000, message: 'the watch reconnects to the restarted etcd' });
    expect(await b.releaseLeader('b')).toBe(true);
    await waitFor(() => events.length >= 2, { timeoutMs: 5000, message: 'delete after the restart' });
    expect(events.slice(0, 2)).toEqual([
      { type: 'put', value: 'b' },
      { type: 'delete', value: null },
    ]);

    // a lease-expiry delete that happens while etcd is being restarted is still reported
    const c = track(new EtcdDcs({ hosts: [own.hostPort], scope, callTimeoutMs: 3000 }));
    await c.ensureLease(2);
    expect(await c.acquireLeader('c')).toBe(true);
    await waitFor(() => events.length >= 3, { timeoutMs: 5000, message: 'put by c' });
    await own.restart();
    await waitFor(() => events.length >= 4, { timeoutMs: 15_000, message: "c's key expires (no keepalives) and the watch reports it" });
    expect(events[3]).toEqual({ type: 'delete', value: null });
  });
});

describe('EtcdDcs with etcd authentication (user and password)', () => {
  let own: EtcdHandle;
  const opened: EtcdDcs[] = [];
  const dcs = (password: string, scope = 'auth') => {
    const d = new EtcdDcs({ hosts: [own.hostPort], scope, callTimeoutMs: 3000, username: 'keel', password });
    opened.push(d);
    return d;
  };

  beforeAll(async () => {
    // simple tokens that expire after 2 s without use, so the client must authenticate again
    own = await startEtcd({ extraArgs: ['--auth-token', 'simple', '--auth-token-ttl', '2'] });
    const ctl = (...args: string[]) => execFileP('etcdctl', ['--endpoints', own.endpoint, ...args]);
    await ctl('user', 'add', 'root:rootpw');
    await ctl('user', 'add', 'keel:s3cret');
    await ctl('role', 'add', 'keel');
    await ctl('role', 'grant-permission', 'keel', '--prefix=true', 'readwrite', '/service/auth/');
    await ctl('user', 'grant-role', 'keel', 'keel');
    await ctl('auth', 'enable');
  });

  afterAll(async () => {
    await Promise.all(opened.map((d) => d.close()));
    await own?.stop();
  });

  it('works with the right password, again after the token expired; a wrong password or a foreign scope is a clear error', async () => {
    const a = dcs('s3cret');
    const events: LeaderEvent[] = [];
    const cancel = await a.watchLeader((e) => events.push(e));
    await a.ensureLease(10);
    expect(await a.acquireLeader('a')).toBe(true);
    await waitFor(() => events.length >= 1, { timeoutMs: 5000, message: 'the watch (authenticated) sees the put' });
    expect(events[0]).toEqual({ type: 'put', value: 'a' });

    await new Promise((r) => setTimeout(r, 3500)); // the token expires unused
    expect(await a.renewLeader('a')).toBe(true);
    expect((await a.readCluster()).leader?.name).toBe('a');
    await cancel();

    const { err } = await failing(() => dcs('wrong').readCluster());
    expect(err.code).toBe('error');
    expect(err.message).toBe('etcd error in readCluster: etcdserver: authentication failed, invalid user ID or password');

    const { err: denied } = await failing(() => dcs('s3cret', 'other').setStatus({ optime: 1 }));
    expect(denied.code).toBe('error');
    expect(denied.message).toBe('etcd error in setStatus: etcdserver: permission denied');
  });
});
