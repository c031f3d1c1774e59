import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TSnapshot } from '@keel/protocol';
import type { TAgentIdentity } from '../server/agents/connection.ts';
import { LiveMembers } from '../server/agents/live-members.ts';

const snap = (seq: number): TSnapshot => ({ type: 'snapshot', seq, at: new Date(seq).toISOString() }) as unknown as TSnapshot;
const who = (memberId: string): TAgentIdentity => ({ clusterId: 'c', cluster: 'alpha', memberId, member: memberId, tokenId: 't', tokenPrefix: 'p' });

function setup() {
  let now = 1_000_000;
  const published: string[] = [];
  const live = new LiveMembers({ minIntervalMs: 500, now: () => now, publish: (id, s) => published.push(`${id.memberId}:${s.seq}`) });
  return { live, published, advance: (ms: number) => { now += ms; vi.advanceTimersByTime(ms); } };
}

describe('LiveMembers', () => {
  afterEach(() => vi.useRealTimers());

  it('publishes a member the moment its snapshot arrives, once a second traffic passes straight through', () => {
    vi.useFakeTimers();
    const { live, published, advance } = setup();
    live.offer(who('a'), snap(1));
    live.offer(who('b'), snap(1));
    expect(published).toEqual(['a:1', 'b:1']);
    advance(1000);
    live.offer(who('a'), snap(2));
    expect(published).toEqual(['a:1', 'b:1', 'a:2']);
  });

  it('turns a burst (a replay after a reconnect) into one update with the newest snapshot at the end of the interval', () => {
    vi.useFakeTimers();
    const { live, published, advance } = setup();
    live.offer(who('a'), snap(1));
    for (let seq = 2; seq <= 50; seq++) live.offer(who('a'), snap(seq));
    expect(published).toEqual(['a:1']);
    expect(live.stats.held).toBe(48);
    advance(499);
    expect(published).toEqual(['a:1']);
    advance(1);
    expect(published).toEqual(['a:1', 'a:50']);
    // nothing held: the next one goes straight out once the interval has passed
    advance(500);
    live.offer(who('a'), snap(51));
    expect(published).toEqual(['a:1', 'a:50', 'a:51']);
  });

  it('ignores a snapshot not newer than one already offered, and forgets a member that moved away', () => {
    vi.useFakeTimers();
    const { live, published, advance } = setup();
    live.offer(who('a'), snap(5));
    advance(1000);
    live.offer(who('a'), snap(4));
    live.offer(who('a'), snap(5));
    expect(published).toEqual(['a:5']);
    live.offer(who('a'), snap(6));
    live.offer(who('a'), snap(7));
    live.forget('a');
    advance(1000);
    expect(published).toEqual(['a:5', 'a:6']);
    live.offer(who('a'), snap(3)); // after forget, the next connection's snapshots start afresh
    expect(published).toEqual(['a:5', 'a:6', 'a:3']);
  });
});
