import { OperationError, parseOperationRequest } from '@keel/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { asOperationError, type Outcome, type Running } from '../ops/operation.ts';

/** A plain-text answer, as Patroni gives for its operation endpoints. */
export function text(reply: FastifyReply, code: number, message: string): FastifyReply {
  return reply.code(code).type('text/plain').send(message);
}

/** Keel addition: `?async=true` (or `Prefer: respond-async`) answers 202 with an operation id. */
export function wantsAsync(req: FastifyRequest): boolean {
  const q = req.query as Record<string, string | undefined>;
  return q.async === 'true' || q.async === '1' || /respond-async/.test(String(req.headers.prefer ?? ''));
}

/**
 * The one mapping from the operations layer to HTTP: an OperationError answers its code's status
 * (protocol OPERATION_ERROR_HTTP) with Patroni's text, or `{error, problems}` for config validation.
 */
export function sendError(reply: FastifyReply, e: unknown): FastifyReply {
  const err = e instanceof OperationError ? e : asOperationError(e, 'the request failed');
  if (err.problems) return reply.code(err.httpStatus).send({ error: err.message, problems: err.problems });
  return text(reply, err.httpStatus, err.message);
}

function sendOutcome(reply: FastifyReply, o: Outcome): FastifyReply {
  if (o.json !== undefined) return reply.code(o.httpStatus).send(o.json);
  return text(reply, o.httpStatus, o.message);
}

/** Parse a body with its protocol schema (a bad body is an OperationError('invalid'), 400). */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  return parseOperationRequest(schema, body);
}

/**
 * A REST route as a thin adapter: parse, call the service, answer. `?async=true` answers 202 with the
 * operation id at once; an early outcome (reinitialize) is answered without waiting; otherwise the
 * route waits for the outcome.
 */
export async function respond(req: FastifyRequest, reply: FastifyReply, start: () => Promise<Running>): Promise<FastifyReply> {
  let running: Running;
  try {
    running = await start();
  } catch (e) {
    return sendError(reply, e);
  }
  if (wantsAsync(req) && !running.op.finished && running.op.op.state !== 'scheduled') {
    return reply.code(202).send({ message: `${running.op.op.kind} started`, operation: running.op.id });
  }
  if (running.early) return sendOutcome(reply, running.early);
  try {
    return sendOutcome(reply, await running.done);
  } catch (e) {
    return sendError(reply, e);
  }
}
