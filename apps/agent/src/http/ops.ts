import { ZConfigPatch, ZConfigPut, ZReinitializeRequest, ZRestartRequest } from '@keel/protocol';
import type { FastifyInstance } from 'fastify';
import { patchConfig, putConfig } from '../ops/patch-config.ts';
import { reinitializeMember } from '../ops/reinitialize-member.ts';
import { reloadLocalConfig } from '../ops/reload-config.ts';
import { cancelScheduledRestart, restartMember } from '../ops/restart-member.ts';
import type { OpsRuntime } from '../runtime.ts';
import { parseBody, respond } from './reply.ts';

/** Patroni's operation endpoints: each parses with the protocol schema and calls its service (ops/). */
export function registerOperationRoutes(app: FastifyInstance, rt: OpsRuntime): void {
  app.post('/restart', (req, reply) => respond(req, reply, () => restartMember(rt, parseBody(ZRestartRequest, req.body))));
  app.delete('/restart', (req, reply) => respond(req, reply, () => cancelScheduledRestart(rt)));
  app.post('/reinitialize', (req, reply) => respond(req, reply, () => reinitializeMember(rt, parseBody(ZReinitializeRequest, req.body))));
  app.post('/reload', (req, reply) => respond(req, reply, () => reloadLocalConfig(rt)));
  app.patch('/config', (req, reply) => respond(req, reply, () => patchConfig(rt, parseBody(ZConfigPatch, req.body))));
  app.put('/config', (req, reply) => respond(req, reply, () => putConfig(rt, parseBody(ZConfigPut, req.body))));

  app.get('/operations', async () => rt.ops.list());
  app.get('/operations/:id', async (req, reply) => {
    const op = rt.ops.get((req.params as { id: string }).id);
    if (!op) return reply.code(404).send({ error: 'no such operation' });
    return op;
  });
}
