import { MAX_MESSAGE_BYTES } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/uplink/backoff.ts';
import { OutboundBuffer, RejectedMessageError } from '../src/uplink/buffer.ts';
import type { TEventBody } from '../src/uplink/events.ts';
import type { TSnapshotBody } from '../src/uplink/snapshot.ts';
import { T0, aReplicaSnapshot } from './uplink-builders.ts';

const SNAPSHOT: TSnapshotBody = aReplicaSnapshot();

function event(n = 0): TEventBody {
  return { type: 'event', at: new Date(T0).toISOString(), event: 'dcs_back', summary: `back ${n}`, details: { unreachableSeconds: n } };
}

const seqs = (b: OutboundBuffer) => [...b.after(0)].map((m) => m.seq);
const kinds = (b: OutboundBuffer) => [...b.after(0)].map((m) => m.kind);

describe('OutboundBuffer numbering', () => {
  it('numbers messages with the clock in ms, and by +1 when the clock has not moved on', () => {
    const b = new OutboundBuffer();
    b.push(SNAPSHOT, T0);
    b.push(event(), T0);
    b.push(SNAPSHOT, T0 - 5000); // the clock stepped back: still increasing
    b.push(SNAPSHOT, T0 + 10_000);
    expect(seqs(b)).toEqual([T0, T0 + 1, T0 + 2, T0 + 10_000]);
  });

  it('a restarted agent numbers above everything its previous run sent, without any file', () => {
    const first = new OutboundBuffer();
    for (let i = 0; i < 500; i++) first.push(SNAPSHOT, T0 + i * 2); // 500 messages a second, far above real rates
    const restarted = new OutboundBuffer();
    restarted.push(SNAPSHOT, T0 + 1000 + 50); // restarted 50 ms after the last message
    expect(restarted.stats().lastSeq).toBeGreaterThan(first.stats().lastSeq);
  });

  it('serializes the message it validated, with its seq', () => {
    const b = new OutboundBuffer();
    const m = b.push(event(3), T0);
    expect(JSON.parse(m.json)).toEqual({ ...event(3), seq: T0 });
    expect(m.bytes).toBe(Buffer.byteLength(m.json));
  });

  it('refuses (and counts) a message the protocol would refuse, or one above MAX_MESSAGE_BYTES', () => {
    const b = new OutboundBuffer();
    expect(() => b.push({ ...SNAPSHOT, state: 'asleep' } as unknown as TSnapshotBody, T0)).toThrow(RejectedMessageError);
    expect(() => b.push({ ...event(), summary: 'x'.repeat(2000) }, T0)).toThrow(/summary/);
    const huge = { ...SNAPSHOT, members: Array.from({ length: 900 }, (_, i) => ({ ...SNAPSHOT.members[0]!, name: `m${i}`, tags: { pad: 'x'.repeat(400) } })) };
    expect(() => b.push(huge, T0)).toThrow(new RegExp(`exceeds the maximum of ${MAX_MESSAGE_BYTES}`));
    expect(b.stats()).toMatchObject({ rejected: 3, messages: 0, lastSeq: 0 });
  });
});

describe('OutboundBuffer acknowledgements', () => {
  it('ack drops everything up to and including the acknowledged seq', () => {
    const b = new OutboundBuffer();
    for (let i = 0; i < 5; i++) b.push(SNAPSHOT, T0 + i);
    expect(b.ack(T0 + 2)).toBe(3);
    expect(seqs(b)).toEqual([T0 + 3, T0 + 4]);
    expect(b.stats().bytes).toBe([...b.after(0)].reduce((n, m) => n + m.bytes, 0));
  });

  it('after(seq) yields what a connection has not sent yet, in order', () => {
    const b = new OutboundBuffer();
    for (let i = 0; i < 4; i++) b.push(SNAPSHOT, T0 + i);
    expect([...b.after(T0 + 1)].map((m) => m.seq)).toEqual([T0 + 2, T0 + 3]);
  });

  it('welcome drops what the server already stored', () => {
    const b = new OutboundBuffer();
    for (let i = 0; i < 4; i++) b.push(SNAPSHOT, T0 + i);
    expect(b.welcome(T0 + 1)).toEqual({ renumbered: false });
    expect(seqs(b)).toEqual([T0 + 2, T0 + 3]);
  });

  it('welcome from a server ahead of this agent (clock stepped back since an earlier run) renumbers after it', () => {
    const b = new OutboundBuffer();
    b.push(event(1), T0);
    b.push(SNAPSHOT, T0 + 1);
    expect(b.welcome(T0 + 60_000)).toEqual({ renumbered: true });
    expect(seqs(b)).toEqual([T0 + 60_001, T0 + 60_002]);
    expect(JSON.parse([...b.after(0)][0]!.json)).toMatchObject({ seq: T0 + 60_001, event: 'dcs_back' });
    b.push(SNAPSHOT, T0 + 2);
    expect(b.stats().lastSeq).toBe(T0 + 60_003);
  });
});

describe('OutboundBuffer limits', () => {
  it('on overflow drops the oldest snapshots first and keeps every event', () => {
    const b = new OutboundBuffer({ maxMessages: 4, maxBytes: 1e9 });
    b.push(event(1), T0);
    b.push(SNAPSHOT, T0 + 1);
    b.push(SNAPSHOT, T0 + 2);
    b.push(event(2), T0 + 3);
    b.push(SNAPSHOT, T0 + 4);
    b.push(event(3), T0 + 5);
    expect(kinds(b)).toEqual(['event', 'event', 'snapshot', 'event']);
    expect(seqs(b)).toEqual([T0, T0 + 3, T0 + 4, T0 + 5]);
    expect(b.stats()).toMatchObject({ droppedSnapshots: 2, droppedEvents: 0, messages: 4 });
  });

  it('drops the oldest event only when nothing but events is left', () => {
    const b = new OutboundBuffer({ maxMessages: 2, maxBytes: 1e9 });
    b.push(event(1), T0);
    b.push(event(2), T0 + 1);
    b.push(event(3), T0 + 2);
    expect(seqs(b)).toEqual([T0 + 1, T0 + 2]);
    expect(b.stats()).toMatchObject({ droppedSnapshots: 0, droppedEvents: 1 });
  });

  it('keeps within a byte budget too', () => {
    const one = new OutboundBuffer().push(SNAPSHOT, T0).bytes;
    const b = new OutboundBuffer({ maxMessages: 1000, maxBytes: one * 3 + 10 });
    for (let i = 0; i < 10; i++) b.push(SNAPSHOT, T0 + i);
    expect(b.stats()).toMatchObject({ messages: 3, droppedSnapshots: 7 });
    expect(b.stats().bytes).toBeLessThanOrEqual(one * 3 + 10);
  });
});

describe('backoffDelay', () => {
  it('grows from 0.5 s, doubling, capped at 30 s, with half of it random', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, 0))).toEqual([250, 500, 1000, 2000]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, 0.999999))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(10, 0)).toBe(15_000);
    expect(backoffDelay(50, 0.999999)).toBe(30_000);
  });
});
