import type { FastifyReply, FastifyRequest } from 'fastify';

/** A plain-text answer, as Patroni gives for its operation endpoints. */
export function text(reply: FastifyReply, code: number, message: string): FastifyReply {
  return reply.code(code).type('text/plain').send(message);
}

/** Keel addition: `?async=true` (or `Prefer: respond-async`) answers 202 with an operation id. */
export function wantsAsync(req: FastifyRequest): boolean {
  const q = req.query as Record<string, string | undefined>;
  return q.async === 'true' || q.async === '1' || /respond-async/.test(String(req.headers.prefer ?? ''));
}
