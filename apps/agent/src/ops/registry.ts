import { randomUUID } from 'node:crypto';

export type OperationKind = 'restart' | 'reinitialize' | 'reload' | 'switchover' | 'failover';
export type OperationState = 'running' | 'succeeded' | 'failed' | 'scheduled' | 'cancelled';

export interface Operation {
  id: string;
  kind: OperationKind;
  state: OperationState;
  requested_at: string;
  finished_at?: string;
  /** What happened so far, in order: one line per step with its time. */
  steps: Array<{ at: string; message: string }>;
  result?: string;
  error?: string;
}

/**
 * Long operations can be followed asynchronously: POST ...?async=true answers 202 with an id;
 * GET /operations/<id> shows its steps. The registry keeps the last 100 operations in memory.
 */
export class OperationRegistry {
  private readonly ops = new Map<string, Operation>();

  start(kind: OperationKind, firstStep: string, state: OperationState = 'running'): OperationHandle {
    const now = new Date().toISOString();
    const op: Operation = { id: randomUUID(), kind, state, requested_at: now, steps: [{ at: now, message: firstStep }] };
    this.ops.set(op.id, op);
    while (this.ops.size > 100) this.ops.delete(this.ops.keys().next().value as string);
    return new OperationHandle(op);
  }

  get(id: string): Operation | undefined {
    return this.ops.get(id);
  }

  list(): Operation[] {
    return [...this.ops.values()].reverse();
  }
}

export class OperationHandle {
  constructor(readonly op: Operation) {}
  get id(): string {
    return this.op.id;
  }
  step(message: string): void {
    this.op.steps.push({ at: new Date().toISOString(), message });
  }
  succeed(result: string): void {
    this.step(result);
    this.op.state = 'succeeded';
    this.op.result = result;
    this.op.finished_at = new Date().toISOString();
  }
  fail(error: string): void {
    this.step(`failed: ${error}`);
    this.op.state = 'failed';
    this.op.error = error;
    this.op.finished_at = new Date().toISOString();
  }
  setState(state: OperationState): void {
    this.op.state = state;
  }
}
