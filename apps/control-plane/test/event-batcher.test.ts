import { describe, expect, it } from 'vitest';
import type { TAgentEvent } from '@keel/protocol';
import { waitFor } from '@keel/testkit';
import type { TAgentIdentity } from '../server/agents/connection.ts';
import { EventBatcher, type TEventEntry } from '../server/agents/event-batcher.ts';

const ev = (seq: number): TAgentEvent => ({ type: 'event', seq, at: new Date(seq).toISOString(), event: 'decision_changed', summary: String(seq), details: {} }) as unknown as TAgentEvent;
const who = (memberId: string): TAgentIdentity => ({ clusterId: 'c', cluster: 'alpha', memberId, member: memberId, tokenId: 't', tokenPrefix: 'p' });

describe('EventBatcher', () => {
  it('stores the events of many members in one batch, every one kept, and answers each', async () => {
    const calls: TEventEntry[][] = [];
    const b = new EventBatcher({ intervalMs: 5, maxBatch: 1000, store: async (entries) => (calls.push(entries), entries.map((e) => e.event.seq % 2 === 0)) });
    const answers = await Promise.all(Array.from({ length: 60 }, (_, k) => b.submit(who(`m${k % 3}`), ev(k + 1))));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(60);
    // per member in submission order
    expect(calls[0]!.filter((e) => e.id.memberId === 'm0').map((e) => e.event.seq)).toEqual(Array.from({ length: 20 }, (_, k) => 3 * k + 1));
    expect(answers).toEqual(Array.from({ length: 60 }, (_, k) => (k + 1) % 2 === 0));
  });

  it("settled() waits for a member's queued and in-flight events, not for other members", async () => {
    let release: () => void = () => undefined;
    const b = new EventBatcher({ intervalMs: 1, maxBatch: 1000, store: (entries) => new Promise((resolve) => (release = () => resolve(entries.map(() => true)))) });
    const stored = b.submit(who('a'), ev(1));
    let settled = false;
    const s = b.settled('a').then(() => (settled = true));
    await b.settled('b'); // nothing of b: at once
    await new Promise((r) => setTimeout(r, 20)); // the flush is running now
    expect(settled).toBe(false);
    release();
    await stored;
    await s;
    expect(settled).toBe(true);
  });

  it('rejects every event of a batch whose store failed', async () => {
    const b = new EventBatcher({ intervalMs: 1, maxBatch: 1000, store: async () => Promise.reject(new Error('database away')) });
    await expect(b.submit(who('a'), ev(1))).rejects.toThrow('database away');
    await b.settled('a');
  });
  it('close() stores what is pending, lets settled() callers through while it writes, then refuses new events', async () => {
    let release: () => void = () => undefined;
    const calls: TEventEntry[][] = [];
    const b = new EventBatcher({
      intervalMs: 60_000, // no timer flush: close() does the write
      maxBatch: 1000,
      store: (entries) => (calls.push(entries), new Promise((resolve) => (release = () => resolve(entries.map(() => true))))),
    });
    const stored = b.submit(who('a'), ev(1));
    const closing = b.close();
    await waitFor(() => calls.length > 0, { timeoutMs: 5000, intervalMs: 1, message: 'close() writes what is pending' });
    let settled = false;
    const s = b.settled('a').then(() => (settled = true));
    // the event loop still turns while a member is in flight (settled() waits, it does not spin)
    await new Promise((r) => setTimeout(r, 5));
    expect(settled).toBe(false);
    release();
    await closing;
    await s;
    expect(await stored).toBe(true);
    expect(calls).toHaveLength(1);
    await expect(b.submit(who('a'), ev(2))).rejects.toThrow('shutting down');
  });
});
