/**
 * Frames of the peer bus (peer-bus.ts): a NOTIFY payload is at most 8000 bytes, so messages are
 * packed several to a frame, and one message larger than a frame is cut into fragments. Pure.
 *
 *   {"f":"<instance>","m":[<message>, ...]}                           several whole messages
 *   {"f":"<instance>","x":"<id>","i":<k>,"n":<count>,"d":"<text>"}    fragment k of count of one message
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Bytes of one frame at most (PostgreSQL's limit is 7999 plus the channel). */
export const FRAME_BYTES = 7000;
/** Characters of serialized message per fragment: even fully escaped (6 bytes a character) it fits. */
const FRAGMENT_CHARS = 1100;
/** Fragments of a message still incomplete after this long are forgotten. */
const FRAGMENT_TTL_MS = 30_000;

const ZFrame = z.union([
  z.object({ f: z.string().min(1).max(64), m: z.array(z.unknown()) }),
  z.object({ f: z.string().min(1).max(64), x: z.string().min(1).max(64), i: z.number().int().nonnegative(), n: z.number().int().positive().max(10_000), d: z.string() }),
]);

/** Serialize messages into frames of at most FRAME_BYTES each, in order. */
export function packFrames(from: string, messages: readonly unknown[], frameBytes = FRAME_BYTES): string[] {
  const frames: string[] = [];
  const head = `{"f":${JSON.stringify(from)},"m":[`;
  let current: string[] = [];
  let size = Buffer.byteLength(head) + 2;
  const close = () => {
    if (current.length > 0) frames.push(`${head}${current.join(',')}]}`);
    current = [];
    size = Buffer.byteLength(head) + 2;
  };
  for (const m of messages) {
    const text = JSON.stringify(m);
    const bytes = Buffer.byteLength(text);
    if (Buffer.byteLength(head) + 2 + bytes > frameBytes) {
      close();
      const id = randomUUID();
      const n = Math.ceil(text.length / FRAGMENT_CHARS);
      for (let i = 0; i < n; i++) frames.push(JSON.stringify({ f: from, x: id, i, n, d: text.slice(i * FRAGMENT_CHARS, (i + 1) * FRAGMENT_CHARS) }));
      continue;
    }
    if (size + bytes + 1 > frameBytes) close();
    current.push(text);
    size += bytes + 1;
  }
  close();
  return frames;
}

interface Partial {
  parts: string[];
  got: number;
  since: number;
}

/** Reassembles frames into messages; one per receiving connection. */
export class FrameAssembler {
  private readonly partial = new Map<string, Partial>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The messages a frame completes (null: a fragment, more to come). Throws on a malformed frame. */
  accept(payload: string): { from: string; messages: unknown[] } | null {
    const frame = ZFrame.parse(JSON.parse(payload));
    if ('m' in frame) return { from: frame.f, messages: frame.m };
    this.expire();
    const key = `${frame.f}/${frame.x}`;
    let p = this.partial.get(key);
    if (!p) {
      p = { parts: new Array<string>(frame.n), got: 0, since: this.now() };
      this.partial.set(key, p);
    }
    if (frame.i >= p.parts.length) throw new Error(`fragment ${frame.i} of a message in ${p.parts.length} parts`);
    if (p.parts[frame.i] === undefined) p.got++;
    p.parts[frame.i] = frame.d;
    if (p.got < p.parts.length) return null;
    this.partial.delete(key);
    return { from: frame.f, messages: [JSON.parse(p.parts.join(''))] };
  }

  get incomplete(): number {
    return this.partial.size;
  }

  private expire(): void {
    const limit = this.now() - FRAGMENT_TTL_MS;
    for (const [k, p] of this.partial) if (p.since < limit) this.partial.delete(k);
  }
}
