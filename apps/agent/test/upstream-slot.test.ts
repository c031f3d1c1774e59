import { describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.ts';
import { watchSlot } from '../src/upstream-slot.ts';

/** A runtime with just what upstream-slot.ts reads: the leader's slots answer `slotsSeen` in turn. */
function fakeRuntime(slotsSeen: string[][], opts: { useSlots?: boolean; following?: string } = {}) {
  const calls = { queries: [] as Array<{ host: string; port: number; names: readonly string[] }>, reloads: 0 };
  let k = 0;
  const rt = {
    config: { name: 'node3' },
    settings: { useSlots: opts.useSlots ?? true, loopWait: 0 },
    stopping: false,
    memory: { following: opts.following ?? 'node1', inFlight: null },
    lastObservation: { dcs: { ok: true, cluster: { members: [{ name: 'node1', connUrl: 'postgres://127.0.0.1:5433/postgres' }] } } },
    log: { info: () => undefined, debug: () => undefined },
    pg: {
      slotOps: {
        primaryCatalogXmins: async (source: { host: string; port: number }, names: readonly string[]) => {
          calls.queries.push({ ...source, names });
          const seen = slotsSeen[Math.min(k++, slotsSeen.length - 1)]!;
          return new Map(seen.map((n) => [n, null]));
        },
      },
      reload: async () => {
        calls.reloads++;
      },
    },
  };
  return { rt: rt as unknown as Runtime, calls };
}

describe('upstream slot watch', () => {
  it('reloads PostgreSQL once the missing member slot exists on the leader', async () => {
    const { rt, calls } = fakeRuntime([[], [], ['node3']]);
    await watchSlot(rt, 'node1');
    expect(calls.queries).toHaveLength(3);
    expect(calls.queries[0]).toEqual({ host: '127.0.0.1', port: 5433, names: ['node3'] });
    expect(calls.reloads).toBe(1);
  });

  it('does nothing more when the slot is already there', async () => {
    const { rt, calls } = fakeRuntime([['node3']]);
    await watchSlot(rt, 'node1');
    expect(calls.queries).toHaveLength(1);
    expect(calls.reloads).toBe(0);
  });

  it('does not reload once this member follows another leader', async () => {
    const { rt, calls } = fakeRuntime([[], ['node3']], { following: 'node2' });
    await watchSlot(rt, 'node1');
    expect(calls.reloads).toBe(0);
  });

  it('gives up after loop_wait + 5 s when the slot never shows, and asks nothing without use_slots', async () => {
    const never = fakeRuntime([['other']]);
    const t0 = Date.now();
    await watchSlot(never.rt, 'node1');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4_500);
    expect(never.calls.reloads).toBe(0);
    const off = fakeRuntime([['node3']], { useSlots: false });
    await watchSlot(off.rt, 'node1');
    expect(off.calls.queries).toHaveLength(0);
  }, 20_000);
});
