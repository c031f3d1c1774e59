import type { TAgentEvent, TAgentEventDetails, TAgentEventType, TEventCause } from '@keel/protocol';

/** An event before the uplink's buffer numbers it (seq is the agent's one monotonic sequence). */
export type TEventBody = TAgentEvent extends infer E ? (E extends TAgentEvent ? Omit<E, 'seq'> : never) : never;

/** Events kept while nothing consumes them (before the uplink starts); the oldest go first. */
const MAX_PENDING = 256;

/**
 * Where the agent reports what it did (lock taken or lost, promoted, fenced, rewind, clone...). The
 * executors and the fencing guard call emit(); the uplink attaches and forwards each event to its
 * bounded, acknowledged buffer (sequence numbers, resend after a reconnect). Without a control plane
 * nothing is attached and events are dropped after MAX_PENDING. emit never throws and never waits:
 * it is called on the failover path.
 */
export class AgentEvents {
  private sink: ((e: TEventBody) => void) | null = null;
  private pending: TEventBody[] = [];
  private latched = new Set<string>();
  /** When the last successful lock acquisition or renewal started (kept after the lock is lost: the fencing proof). */
  leaseRenewedAt: number | null = null;
  /** The last leader the loop saw in the DCS (kept when the key goes: who we took over from). */
  lastLeader: string | null = null;

  /** true the first time after unlatch(key) (or ever): report a lasting condition once. */
  latch(key: string): boolean {
    if (this.latched.has(key)) return false;
    this.latched.add(key);
    return true;
  }

  unlatch(key: string): void {
    this.latched.delete(key);
  }

  emit<K extends TAgentEventType>(event: K, summary: string, details: TAgentEventDetails<K>, cause?: TEventCause | null, at: number = Date.now()): void {
    const body = { type: 'event', at: new Date(at).toISOString(), event, summary: summary.slice(0, 1024), details, ...(cause ? { cause } : {}) } as TEventBody;
    try {
      if (this.sink) this.sink(body);
      else {
        this.pending.push(body);
        if (this.pending.length > MAX_PENDING) this.pending.shift();
      }
    } catch {
      // never let reporting cost an action
    }
  }

  /** Start forwarding (the uplink); what was emitted before goes first. */
  attach(sink: (e: TEventBody) => void): void {
    this.sink = sink;
    const before = this.pending;
    this.pending = [];
    for (const e of before) sink(e);
  }
}

/** The decision an executor acts on (the loop sets rt.lastDecision before executing), for `cause`. */
export function decisionCause(d: { verdict: string; reason: string } | null | undefined, operationId?: string | null): TEventCause | null {
  const cause: TEventCause = {};
  if (d) {
    cause.verdict = d.verdict.slice(0, 64);
    cause.decision = d.reason.slice(0, 4096);
  }
  if (operationId) cause.operationId = operationId;
  return Object.keys(cause).length ? cause : null;
}

/** A decision sentence with its numbers blanked: "waiting 4 s" and "waiting 3 s" are one decision. */
export function decisionKey(reason: string): string {
  return reason.replace(/\d+(\.\d+)?/g, '#');
}
