import { describe, expect, it } from 'vitest';
import { MemberJoins } from '../src/member-joins.ts';
import type { Runtime } from '../src/runtime.ts';

/** A runtime with what member-joins.ts reads: the leader in the last cluster read, a DCS, wake(). */
function fake(opts: { failFirst?: boolean } = {}) {
  const state = { leader: 'node1' as string | null, wakes: 0, opened: 0, cancelled: 0, onJoin: null as ((name: string) => void) | null };
  const rt = {
    config: { name: 'node1' },
    get lastCluster() {
      return { leader: state.leader === null ? null : { name: state.leader } };
    },
    wake: () => state.wakes++,
    log: { debug: () => undefined },
    dcs: {
      watchMembers: async (onJoin: (name: string) => void) => {
        state.opened++;
        if (opts.failFirst && state.opened === 1) throw new Error('etcd away');
        state.onJoin = onJoin;
        return async () => {
          state.cancelled++;
        };
      },
    },
  };
  return { rt: rt as unknown as Runtime, state };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('MemberJoins (the leader wakes when a member key is created)', () => {
  it('the leader watches once, and wakes for another member joining, not for itself', async () => {
    const { rt, state } = fake();
    const j = new MemberJoins(rt);
    j.update();
    j.update();
    await settle();
    expect(state.opened).toBe(1);
    state.onJoin!('node3');
    expect(state.wakes).toBe(1);
    state.onJoin!('node1');
    expect(state.wakes).toBe(1);
  });

  it('cancels the watch when the lock is lost, and a join seen meanwhile does not wake a non-leader', async () => {
    const { rt, state } = fake();
    const j = new MemberJoins(rt);
    j.update();
    await settle();
    state.leader = 'node2';
    state.onJoin!('node3'); // delivered before the tick that closes the watch
    expect(state.wakes).toBe(0);
    j.update();
    await settle();
    expect(state.cancelled).toBe(1);
    state.leader = 'node1';
    j.update();
    await settle();
    expect(state.opened).toBe(2);
  });

  it('a replica does not watch; a watch that could not be opened is tried again on the next tick', async () => {
    const { rt, state } = fake({ failFirst: true });
    state.leader = 'node2';
    const j = new MemberJoins(rt);
    j.update();
    await settle();
    expect(state.opened).toBe(0);
    state.leader = 'node1';
    j.update();
    await settle();
    expect(state.opened).toBe(1);
    j.update();
    await settle();
    expect(state.opened).toBe(2);
    await j.stop();
    expect(state.cancelled).toBe(1);
  });
});
