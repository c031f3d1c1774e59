import { ZSwitchoverRequest } from '@keel/protocol';
import type { FastifyInstance } from 'fastify';
import { cancelSwitchover, requestSwitchover } from '../ops/request-switchover.ts';
import type { OpsRuntime } from '../runtime.ts';
import { parseBody, respond } from './reply.ts';

/**
 * POST /switchover, POST /failover, DELETE /switchover: thin adapters over ops/request-switchover.ts.
 * `?async=true` answers 202 at once with an operation id whose steps show the progress.
 */
export function registerSwitchoverRoutes(app: FastifyInstance, rt: OpsRuntime): void {
  app.post('/switchover', (req, reply) => respond(req, reply, () => requestSwitchover(rt, 'switchover', parseBody(ZSwitchoverRequest, req.body))));
  // Keel answers a POST /failover without a body with Patroni's "only to a specific candidate" (400).
  app.post('/failover', (req, reply) => respond(req, reply, () => requestSwitchover(rt, 'failover', parseBody(ZSwitchoverRequest, req.body ?? {}))));
  app.delete('/switchover', (req, reply) => respond(req, reply, () => cancelSwitchover(rt)));
}
