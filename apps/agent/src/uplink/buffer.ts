import { MAX_MESSAGE_BYTES, ZAgentMessage, encodeMessage, type TSequencedMessage } from '@keel/protocol';
import type { TEventBody } from './events.ts';
import type { TSnapshotBody } from './snapshot.ts';
import type { TOperationBody } from './commands.ts';

export interface BufferLimits {
  /** Most messages held (sent but not acknowledged, plus not yet sent). */
  maxMessages: number;
  /** Most bytes of JSON held. */
  maxBytes: number;
}

export const DEFAULT_BUFFER_LIMITS: BufferLimits = { maxMessages: 10_000, maxBytes: 16 * 1024 * 1024 };

export interface BufferedMessage {
  seq: number;
  kind: 'snapshot' | 'event';
  json: string;
  bytes: number;
}

export interface BufferStats {
  messages: number;
  bytes: number;
  /** Dropped because the buffer was full, since the agent started. */
  droppedSnapshots: number;
  droppedEvents: number;
  /** Refused before buffering: not valid under the protocol schema, or above MAX_MESSAGE_BYTES. */
  rejected: number;
  lastSeq: number;
}

export class RejectedMessageError extends Error {}

/**
 * The agent's outbox: numbers messages, holds them until the server acknowledges them, and stays
 * within its limits by dropping the oldest snapshot first (a newer one supersedes it), an event only
 * when nothing but events is left. No I/O and no clock of its own: `now` comes in with each message.
 *
 * Sequence numbers are a hybrid logical clock: max(last + 1, now in epoch ms). They increase within
 * a run and, because an agent sends far fewer than 1,000 messages a second, across restarts too,
 * without anything written to disk (see packages/protocol/src/agent-messages.ts).
 */
export class OutboundBuffer {
  private entries: BufferedMessage[] = [];
  private totalBytes = 0;
  private lastSeq = 0;
  private droppedSnapshots = 0;
  private droppedEvents = 0;
  private rejected = 0;

  constructor(private readonly limits: BufferLimits = DEFAULT_BUFFER_LIMITS) {}

  /** Number, validate and hold one message. Throws RejectedMessageError (counted) when it may not be sent. */
  push(body: TSnapshotBody | TEventBody | TOperationBody, now: number): BufferedMessage {
    const seq = Math.max(this.lastSeq + 1, Math.floor(now));
    const message = { ...body, seq } as TSequencedMessage;
    const checked = ZAgentMessage.safeParse(message);
    if (!checked.success) {
      this.rejected++;
      const issue = checked.error.issues[0];
      throw new RejectedMessageError(`${body.type} not sent: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
    }
    const json = encodeMessage(message);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > MAX_MESSAGE_BYTES) {
      this.rejected++;
      throw new RejectedMessageError(`${body.type} not sent: ${bytes} bytes exceeds the maximum of ${MAX_MESSAGE_BYTES}`);
    }
    this.lastSeq = seq;
    // Operation progress and results are kept like events: never dropped in favour of snapshots.
    const entry: BufferedMessage = { seq, kind: body.type === 'snapshot' ? 'snapshot' : 'event', json, bytes };
    this.entries.push(entry);
    this.totalBytes += bytes;
    this.enforceLimits();
    return entry;
  }

  /** The server stored everything up to and including `seq`. */
  ack(seq: number): number {
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.seq <= seq) n++;
    for (const e of this.entries.splice(0, n)) this.totalBytes -= e.bytes;
    return n;
  }

  /**
   * A welcome: drop what the server has, and, should the server be ahead of this agent's numbering
   * (its clock stepped back since an earlier run), renumber everything held to continue after it.
   * Call before sending anything on the new connection.
   */
  welcome(ackedSeq: number): { renumbered: boolean } {
    if (ackedSeq > this.lastSeq) {
      let seq = ackedSeq;
      this.totalBytes = 0;
      this.entries = this.entries.map((e) => {
        seq++;
        const json = encodeMessage({ ...(JSON.parse(e.json) as TSequencedMessage), seq });
        const bytes = Buffer.byteLength(json, 'utf8');
        this.totalBytes += bytes;
        return { ...e, seq, json, bytes };
      });
      this.lastSeq = seq;
      return { renumbered: this.entries.length > 0 };
    }
    this.ack(ackedSeq);
    return { renumbered: false };
  }

  /** The messages held with seq > after, in order (what a connection still has to send). */
  *after(after: number): Generator<BufferedMessage> {
    for (const e of this.entries) if (e.seq > after) yield e;
  }

  /** Lowest seq held, or null when empty. */
  get firstSeq(): number | null {
    return this.entries[0]?.seq ?? null;
  }

  get size(): number {
    return this.entries.length;
  }

  stats(): BufferStats {
    return {
      messages: this.entries.length,
      bytes: this.totalBytes,
      droppedSnapshots: this.droppedSnapshots,
      droppedEvents: this.droppedEvents,
      rejected: this.rejected,
      lastSeq: this.lastSeq,
    };
  }

  private enforceLimits(): void {
    while (this.entries.length > this.limits.maxMessages || this.totalBytes > this.limits.maxBytes) {
      // Never drop the message just added for being the newest; the oldest snapshot goes first.
      let i = this.entries.findIndex((e) => e.kind === 'snapshot');
      if (i === -1) i = 0;
      const [gone] = this.entries.splice(i, 1);
      if (!gone) return;
      this.totalBytes -= gone.bytes;
      if (gone.kind === 'snapshot') this.droppedSnapshots++;
      else this.droppedEvents++;
    }
  }
}
