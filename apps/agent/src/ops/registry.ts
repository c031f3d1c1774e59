import { randomUUID } from 'node:crypto';
import type { TOperationKind, TOperationStep } from '@keel/protocol';

export type OperationKind = TOperationKind;
export type OperationState = 'running' | 'succeeded' | 'failed' | 'scheduled' | 'cancelled';

export interface Operation {
  id: string;
  kind: OperationKind;
  state: OperationState;
  requested_at: string;
  finished_at?: string;
  /** Who asked and why (commands from the control plane carry them). */
  reason?: string;
  ticket?: string;
  requested_by?: string;
  /** What happened so far, in order: one line per step with its time. */
  steps: TOperationStep[];
  result?: string;
  error?: string;
}

export interface OperationStart {
  /** The caller's id (a control-plane operation id); default a new UUID. */
  id?: string;
  state?: OperationState;
  reason?: string;
  ticket?: string;
  requestedBy?: string;
}

/**
 * Every operation this agent ran, from the REST API or a control-plane command: POST ...?async=true
 * answers 202 with an id; GET /operations/<id> shows its steps; the uplink streams them. The registry
 * keeps the last 100 operations in memory.
 */
export class OperationRegistry {
  private readonly ops = new Map<string, Operation>();

  start(kind: OperationKind, firstStep: string, opts: OperationStart = {}): OperationHandle {
    const now = new Date().toISOString();
    const op: Operation = { id: opts.id ?? randomUUID(), kind, state: opts.state ?? 'running', requested_at: now, steps: [{ at: now, message: firstStep }] };
    if (opts.reason) op.reason = opts.reason;
    if (opts.ticket) op.ticket = opts.ticket;
    if (opts.requestedBy) op.requested_by = opts.requestedBy;
    this.ops.delete(op.id);
    this.ops.set(op.id, op);
    while (this.ops.size > 100) this.ops.delete(this.ops.keys().next().value as string);
    const handle = new OperationHandle(op);
    this.handles.set(op.id, handle);
    for (const id of this.handles.keys()) if (!this.ops.has(id)) this.handles.delete(id);
    return handle;
  }

  get(id: string): Operation | undefined {
    return this.ops.get(id);
  }

  /** The live handle of an operation (its listeners see every later step). */
  handle(id: string): OperationHandle | undefined {
    return this.handles.get(id);
  }

  list(): Operation[] {
    return [...this.ops.values()].reverse();
  }

  private readonly handles = new Map<string, OperationHandle>();
}

export type OperationListener = (op: Readonly<Operation>) => void;

export class OperationHandle {
  private readonly listeners = new Set<OperationListener>();
  constructor(readonly op: Operation) {}
  get id(): string {
    return this.op.id;
  }
  get finished(): boolean {
    return this.op.state === 'succeeded' || this.op.state === 'failed' || this.op.state === 'cancelled';
  }
  /** Called after every step and state change; returns the unsubscribe function. */
  onChange(listener: OperationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  step(message: string): void {
    this.op.steps.push({ at: new Date().toISOString(), message: message.slice(0, 1024) });
    if (this.op.steps.length > 64) this.op.steps.splice(1, this.op.steps.length - 64);
    this.changed();
  }
  succeed(result: string): void {
    if (this.finished) return;
    this.op.state = 'succeeded';
    this.op.result = result;
    this.op.finished_at = new Date().toISOString();
    this.step(result);
  }
  fail(error: string): void {
    if (this.finished) return;
    this.op.state = 'failed';
    this.op.error = error;
    this.op.finished_at = new Date().toISOString();
    this.step(`failed: ${error}`);
  }
  cancel(why: string): void {
    if (this.finished) return;
    this.op.state = 'cancelled';
    this.op.error = why;
    this.op.finished_at = new Date().toISOString();
    this.step(`cancelled: ${why}`);
  }
  setState(state: OperationState): void {
    this.op.state = state;
    this.changed();
  }
  private changed(): void {
    for (const l of this.listeners) {
      try {
        l(this.op);
      } catch {
        // a listener (the uplink) must never break an operation
      }
    }
  }
}
