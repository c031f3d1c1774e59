import { describe, expect, it } from 'vitest';
import { FRAME_BYTES, FrameAssembler, packFrames } from '../server/instances/frames.ts';

describe('peer bus frames', () => {
  it('packs small messages several to a frame, every frame within the NOTIFY limit, in order', () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({ t: 'presence', member: `member-${i}`, connected: i % 2 === 0 }));
    const frames = packFrames('A', messages);
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.length).toBeLessThan(20);
    for (const f of frames) expect(Buffer.byteLength(f)).toBeLessThanOrEqual(FRAME_BYTES);
    const rx = new FrameAssembler();
    const got = frames.flatMap((f) => rx.accept(f)?.messages ?? []);
    expect(got).toEqual(messages);
  });

  it('cuts a message larger than a frame into fragments and reassembles it, multi-byte text and quotes included', () => {
    const big = { t: 'live', m: { type: 'event', text: 'é"\\€😀\n'.repeat(3000) } };
    const frames = packFrames('A', [{ t: 'hello' }, big, { t: 'hello' }]);
    for (const f of frames) expect(Buffer.byteLength(f)).toBeLessThan(8000);
    const rx = new FrameAssembler();
    const got = frames.map((f) => rx.accept(f)).filter((x) => x !== null);
    expect(got.flatMap((g) => g.messages)).toEqual([{ t: 'hello' }, big, { t: 'hello' }]);
    expect(got.every((g) => g.from === 'A')).toBe(true);
    expect(rx.incomplete).toBe(0);
  });

  it('forgets an incomplete message after a while and refuses malformed frames', () => {
    let now = 0;
    const rx = new FrameAssembler(() => now);
    const frames = packFrames('A', [{ t: 'x', d: 'y'.repeat(20_000) }]);
    expect(rx.accept(frames[0] as string)).toBeNull();
    expect(rx.incomplete).toBe(1);
    now = 60_000;
    expect(rx.accept(packFrames('B', [{ t: 'x', d: 'z'.repeat(20_000) }])[0] as string)).toBeNull();
    expect(rx.incomplete).toBe(1); // A's part was dropped, B's is waiting
    expect(() => rx.accept('{"nope":1}')).toThrow();
    expect(() => rx.accept('not json')).toThrow();
  });
});
