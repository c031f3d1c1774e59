import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dcsKeys } from '@keel/protocol';
import { startZooKeeper, TcpProxy, waitFor, type ZooKeeperHandle } from '@keel/testkit';
import { DcsError, ZooKeeperDcs, type LeaderEvent, type WatchStatus } from '../src/index.ts';
import { CreateMode, Exception, ZkSession, errorCode, idString } from '../src/zk-session.ts';
import { defineDcsContract } from './contract.ts';

let zk: ZooKeeperHandle;
let raw: ZkSession;
let seq = 0;
const scopeName = (prefix: string) => `${prefix}-${process.pid}-${++seq}`;

beforeAll(async () => {
  zk = await startZooKeeper();
  raw = new ZkSession(zk.hostPort, 30_000, { ping: true });
  await raw.ready(Date.now() + 10_000);
});

afterAll(async () => {
  raw?.close();
  await zk?.stop();
});

async function putRaw(path: string, value: string): Promise<void> {
  try {
    await raw.setData(path, value);
  } catch (err) {
    if (errorCode(err) !== Exception.NO_NODE) throw err;
    await raw.mkdirp(path.slice(0, path.lastIndexOf('/')));
    await raw.create(path, value, CreateMode.PERSISTENT);
  }
}

describe('ZooKeeperDcs contract (real ZooKeeper)', () => {
  defineDcsContract(() => ({
    ttl: 2,
    expiryWaitMs: 10_000,
    eventWaitMs: 5_000,
    pollMs: 200,
    leaseTtlVisible: false,
    cluster: async () => {
      const scope = scopeName('contract');
      const keys = dcsKeys('/service/', scope);
      return {
        agent: () => new ZooKeeperDcs({ hosts: [zk.hostPort], scope, callTimeoutMs: 4000 }),
        putRaw: (k, v) => putRaw(keys.base + k, v),
        getRaw: async (k) => {
          try {
            const r = await raw.getData(keys.base + k);
            return { value: r.value.data, lease: idString(r.value.stat.ephemeralOwner) };
          } catch (err) {
            if (errorCode(err) === Exception.NO_NODE) return null;
            throw err;
          }
        },
        passTime: async () => undefined, // real time passes while the tests poll
        now: () => Date.now(),
      };
    },
  }));
});

describe('ZooKeeperDcs specifics', () => {
  it("uses Patroni's znode layout: leader and members ephemeral on the lease session, the rest persistent", async () => {
    const scope = scopeName('layout');
    const a = new ZooKeeperDcs({ hosts: zk.hostPort, scope, namespace: 'keeltest' });
    try {
      const lease = await a.ensureLease(5);
      expect(await a.acquireLeader('a')).toBe(true);
      await a.touchMember('a', { conn_url: 'postgres://h/postgres', api_url: 'http://h:8008/patroni', state: 'running', role: 'primary', version: '4.1.4' });
      expect(await a.claimInitialize('7712435696824720731')).toBe(true);
      await a.setConfig({ ttl: 30 });
      await a.setStatus({ optime: 1 });
      const base = `/keeltest/${scope}`;
      expect((await raw.getChildren(base)).value.sort()).toEqual(['config', 'initialize', 'leader', 'members', 'status']);
      expect((await raw.getChildren(`${base}/members`)).value).toEqual(['a']);
      const leader = await raw.getData(`${base}/leader`);
      expect(leader.value.data).toBe('a');
      expect(idString(leader.value.stat.ephemeralOwner)).toBe(lease);
      expect(idString((await raw.getData(`${base}/members/a`)).value.stat.ephemeralOwner)).toBe(lease);
      for (const p of ['config', 'initialize', 'status']) expect(idString((await raw.getData(`${base}/${p}`)).value.stat.ephemeralOwner)).toBe('0');
    } finally {
      await a.close();
    }
  });

  it('refuses a ttl the server will not grant exactly, with a clear error', async () => {
    const a = new ZooKeeperDcs({ hosts: zk.hostPort, scope: scopeName('ttl') });
    try {
      await expect(a.ensureLease(500)).rejects.toThrow(/granted a session timeout of 120000 ms for ttl 500 s/);
      expect(a.leaseId).toBeNull();
    } finally {
      await a.close();
    }
  });

  it('watchFailover sees a switchover request and its removal', async () => {
    const scope = scopeName('wf');
    const a = new ZooKeeperDcs({ hosts: zk.hostPort, scope });
    const w = new ZooKeeperDcs({ hosts: zk.hostPort, scope });
    try {
      const events: LeaderEvent[] = [];
      const cancel = await w.watchFailover((e) => events.push(e));
      const rev = await a.setFailover({ leader: 'a', member: 'b' }, 0);
      await waitFor(() => events.length >= 1, { timeoutMs: 5000, message: 'put on the failover request' });
      expect(events[0]).toEqual({ type: 'put', value: '{"leader":"a","member":"b"}' });
      expect(await a.deleteFailover(rev!)).toBe(true);
      await waitFor(() => events.length >= 2, { timeoutMs: 5000, message: 'delete of the failover request' });
      expect(events[1]).toEqual({ type: 'delete', value: null });
      await cancel();
    } finally {
      await Promise.all([a.close(), w.close()]);
    }
  });

  it('an unreachable ZooKeeper makes calls reject within the call timeout', async () => {
    const a = new ZooKeeperDcs({ hosts: '127.0.0.1:1', scope: scopeName('down'), callTimeoutMs: 1000 });
    try {
      const t0 = Date.now();
      await expect(a.readCluster()).rejects.toMatchObject({ name: 'DcsError', code: 'timeout', op: 'readCluster' });
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await a.close();
    }
  });

  it('blackholed: calls reject within the call timeout, the lease survives a short partition, the watch reconnects by itself', async () => {
    const T = 1500;
    const proxy = new TcpProxy(zk.hostPort);
    await proxy.start();
    const scope = scopeName('bh');
    const a = new ZooKeeperDcs({ hosts: proxy.hostPort, scope, callTimeoutMs: T, readSessionTimeoutMs: 3000 });
    const b = new ZooKeeperDcs({ hosts: zk.hostPort, scope });
    try {
      await a.ensureLease(20);
      expect(await a.acquireLeader('a')).toBe(true);
      const events: LeaderEvent[] = [];
      const statuses: WatchStatus[] = [];
      await a.watchLeader((e) => events.push(e), { onStatus: (st) => statuses.push(st) });

      proxy.blackhole();
      for (const call of [() => a.renewLeader('a'), () => a.readCluster(), () => a.setConfig({ ttl: 30 }), () => a.keepAlive()]) {
        const t0 = Date.now();
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(DcsError);
        expect((err as DcsError).code).toBe('timeout');
        expect(Date.now() - t0).toBeLessThan(T + 1000);
      }
      // The read session's pings go unanswered: it drops the silent connection on its own.
      await waitFor(() => statuses.includes('disconnected'), { timeoutMs: 10_000, message: 'the watch reports the lost connection' });

      proxy.heal();
      await waitFor(() => a.renewLeader('a'), { timeoutMs: 10_000, message: 'renewLeader works again after heal (same session: the lease survived)' });
      await waitFor(() => statuses.at(-1) === 'connected', { timeoutMs: 10_000, message: 'the watch reconnects without any call' });
      // The watch still delivers: b takes the key after a releases it.
      expect(await a.releaseLeader('a')).toBe(true);
      await b.ensureLease(20);
      expect(await b.acquireLeader('b')).toBe(true);
      await waitFor(() => events.some((e) => e.type === 'put' && e.value === 'b'), { timeoutMs: 5000, message: `put by b; events ${JSON.stringify(events)}` });
    } finally {
      await Promise.all([a.close(), b.close()]);
      await proxy.stop();
    }
  });
});
