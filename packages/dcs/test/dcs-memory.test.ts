import { describe, expect, it } from 'vitest';
import { dcsKeys } from '@keel/protocol';
import { DcsError, ManualClock, MemoryDcs, MemoryStore, type LeaderEvent } from '../src/index.ts';
import { defineDcsContract } from './contract.ts';

const clock = new ManualClock();
let n = 0;

describe('MemoryDcs contract', () => {
  defineDcsContract(() => ({
    ttl: 2,
    expiryWaitMs: 2000,
    eventWaitMs: 1000,
    pollMs: 5,
    cluster: async () => {
      const store = new MemoryStore({ clock });
      const scope = `mem${++n}`;
      const keys = dcsKeys('/service/', scope);
      return {
        agent: () => new MemoryDcs({ store, scope }),
        putRaw: async (k, v) => store.putRaw(keys.base + k, v),
        getRaw: async (k) => {
          const kv = store.get(keys.base + k);
          return kv ? { value: kv.value, lease: kv.lease } : null;
        },
        passTime: async (ms) => clock.advance(ms),
        now: () => clock.now(),
      };
    },
  }));
});

describe('MemoryDcs specifics', () => {
  it('expires a lease exactly when the clock passes its ttl', async () => {
    const c = new ManualClock(0);
    const store = new MemoryStore({ clock: c });
    const a = new MemoryDcs({ store, scope: 'x' });
    await a.ensureLease(10);
    expect(await a.acquireLeader('a')).toBe(true);
    c.advance(9_999);
    expect((await a.readCluster()).leader?.name).toBe('a');
    expect(await a.renewLeader('a')).toBe(true); // extended to t = 19 999
    c.advance(9_999);
    expect((await a.readCluster()).leader?.name).toBe('a');
    c.advance(1);
    expect((await a.readCluster()).leader).toBeNull();
    expect(await a.keepAlive()).toBe(false);
  });

  it('deletes all keys of an expired lease at one revision and tells watchers at advance()', async () => {
    const c = new ManualClock(0);
    const store = new MemoryStore({ clock: c });
    const a = new MemoryDcs({ store, scope: 'x' });
    const w = new MemoryDcs({ store, scope: 'x' });
    const events: LeaderEvent[] = [];
    await w.watchLeader((e) => events.push(e));
    await a.ensureLease(5);
    await a.acquireLeader('a');
    await a.touchMember('a', { conn_url: 'c', api_url: 'u', state: 'running', role: 'primary', version: '1' });
    const before = store.revision;
    c.advance(5_000);
    expect(store.revision).toBe(before + 1);
    await Promise.resolve();
    expect(events).toEqual([
      { type: 'put', value: 'a' },
      { type: 'delete', value: null },
    ]);
  });

  it('setReachable(false) makes calls reject and holds watch events until healed', async () => {
    const store = new MemoryStore({ clock: new ManualClock(0) });
    const a = new MemoryDcs({ store, scope: 'x' });
    const w = new MemoryDcs({ store, scope: 'x' });
    const events: LeaderEvent[] = [];
    await w.watchLeader((e) => events.push(e));
    w.setReachable(false);
    const err = await w.readCluster().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DcsError);
    expect((err as DcsError).code).toBe('unreachable');
    expect((err as DcsError).message).toContain('readCluster');
    await a.ensureLease(5);
    await a.acquireLeader('a');
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual([]);
    w.setReachable(true);
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual([{ type: 'put', value: 'a' }]);
    expect((await w.readCluster()).leader?.name).toBe('a');
  });

  it('agents on one store but different scopes do not see each other', async () => {
    const store = new MemoryStore({ clock: new ManualClock(0) });
    const a = new MemoryDcs({ store, scope: 'one' });
    const b = new MemoryDcs({ store, scope: 'two' });
    await a.ensureLease(5);
    await b.ensureLease(5);
    expect(await a.acquireLeader('a')).toBe(true);
    expect(await b.acquireLeader('b')).toBe(true);
    expect((await a.readCluster()).leader?.name).toBe('a');
    expect(b.keys.leader).toBe('/service/two/leader');
  });
});
