import { OperationError, type TOperationKind, type TOperationResultData } from '@keel/protocol';
import type { OpsRuntime } from '../runtime.ts';
import type { OperationHandle } from './registry.ts';

/** Who asked, for the registry, the log and the control plane (REST requests carry none of it). */
export interface OperationMeta {
  /** The control plane's operation id (the idempotency key); REST requests get a new UUID. */
  id?: string;
  reason?: string;
  ticket?: string;
  requestedBy?: string;
}

/** How an operation ended well: the REST status and text (or JSON body) and the control plane's data. */
export interface Outcome {
  httpStatus: number;
  message: string;
  /** The REST body when it is JSON (PATCH /config answers the new /config). */
  json?: unknown;
  data?: TOperationResultData;
  /** Scheduled: the operation stays open ("scheduled") and runs later under the same id. */
  scheduled?: boolean;
}

/** A started operation. REST answers `early` at once when set (Patroni's reinitialize), else awaits `done`. */
export interface Running {
  op: OperationHandle;
  early: Outcome | null;
  /** Resolves with the outcome, or rejects with an OperationError; the registry records both. */
  done: Promise<Outcome>;
}

type Body = (op: OperationHandle) => Promise<Outcome | { early?: Outcome; done: Promise<Outcome> }>;

/** Any failure as an OperationError: a refusal keeps its code, anything else is "unavailable" (503). */
export function asOperationError(e: unknown, prefix: string): OperationError {
  if (e instanceof OperationError) return e;
  return new OperationError('unavailable', `${prefix}: ${(e as Error).message}`);
}

/**
 * Run one operation: register it (its steps are visible at once, to GET /operations and the uplink),
 * run `body`, and record how it ended. A refusal rejects the returned promise; a failure after the
 * start rejects `done`. Either way the registry holds the reason.
 */
export async function begin(rt: OpsRuntime, kind: TOperationKind, meta: OperationMeta, firstStep: string, body: Body): Promise<Running> {
  const op = rt.ops.start(kind, firstStep, { id: meta.id, reason: meta.reason, ticket: meta.ticket, requestedBy: meta.requestedBy });
  if (meta.reason || meta.requestedBy) rt.log.info({ operation: op.id, kind, reason: meta.reason, ticket: meta.ticket, requestedBy: meta.requestedBy }, firstStep);
  let started: Outcome | { early?: Outcome; done: Promise<Outcome> };
  try {
    started = await body(op);
  } catch (e) {
    const err = asOperationError(e, `${kind} failed`);
    op.fail(err.message);
    throw err;
  }
  const finish = (o: Outcome): Outcome => {
    if (o.scheduled) op.setState('scheduled');
    else op.succeed(o.message);
    return o;
  };
  if ('done' in started) {
    const done = started.done.then(finish, (e: unknown) => {
      const err = asOperationError(e, `${kind} failed`);
      op.fail(err.message);
      throw err;
    });
    done.catch(() => undefined); // REST may answer early and never await it
    return { op, early: started.early ?? null, done };
  }
  return { op, early: null, done: Promise.resolve(finish(started)) };
}
