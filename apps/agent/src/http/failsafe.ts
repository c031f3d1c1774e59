import type { Probe } from '@keel/postgres';
import { ZFailsafeRequest } from '@keel/protocol';
import type { FastifyInstance } from 'fastify';
import { answerFailsafe } from '../failsafe.ts';
import type { OpsRuntime } from '../runtime.ts';

/**
 * Patroni's /failsafe endpoints (failsafe_mode; failsafe.ts). GET shows the /failsafe key as last read
 * (502 while failsafe_mode is off or no key was read). POST is the primary's call while it cannot reach
 * the DCS; like every mutating call it has passed the access check (allowlist, client certificate, basic
 * auth) before it gets here. Answers are Patroni's plain texts: 200 "Accepted" with an `lsn` header,
 * 500 "Running as a leader" from a running primary, 502 while failsafe_mode is off.
 */
export function registerFailsafeRoutes(app: FastifyInstance, rt: OpsRuntime, freshProbe: () => Promise<Probe | null>): void {
  app.get('/failsafe', async (_req, reply) => {
    const failsafe = rt.settings.failsafeMode ? (rt.lastCluster?.failsafe ?? null) : null;
    if (failsafe === null) return reply.code(502).send({ error: 'failsafe_mode is off, or no /failsafe key was read' });
    return failsafe;
  });

  app.post('/failsafe', async (req, reply) => {
    reply.type('text/plain; charset=utf-8');
    if (!rt.settings.failsafeMode || !rt.failsafe) return reply.code(502).send('failsafe_mode is off');
    const parsed = ZFailsafeRequest.safeParse(req.body);
    if (!parsed.success) return reply.code(400).send(`invalid failsafe request: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const answer = answerFailsafe(rt.failsafe, parsed.data, await freshProbe(), Date.now());
    if (answer.code === 200 && answer.lsn !== null) reply.header('lsn', String(answer.lsn));
    if (answer.code === 200) rt.log.info({ primary: parsed.data.name }, 'accepted POST /failsafe: the primary is alive');
    return reply.code(answer.code).send(answer.text);
  });
}
