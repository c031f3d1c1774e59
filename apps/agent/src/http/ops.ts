import type { FastifyInstance, FastifyReply } from 'fastify';
import { writableRevision } from '@keel/dcs';
import { ConfigError, loadConfig, type AgentConfig } from '../config.ts';
import { checkConfigUpdate, type ConfigCheck } from '../config/check-config.ts';
import { connOf, rewriteCurrentConfig } from '../pgconfig.ts';
import { readPgSettings } from '../ops/pg-parameters.ts';
import { pinoLevel } from '../log.ts';
import { orderingBlocker, parseRestartBody, restartBlocker, runRestart } from '../ops/restart.ts';
import type { Runtime } from '../runtime.ts';
import { text, wantsAsync } from './reply.ts';

/** RFC 7386 JSON merge-patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Validate a complete dynamic configuration (config/check-config.ts); `current`: the /config a PATCH merges into. */
async function checkConfig(rt: Runtime, candidate: unknown, current?: unknown): Promise<ConfigCheck> {
  const pgSettings = await readPgSettings(rt);
  const check = checkConfigUpdate(candidate, { allowFromDcs: rt.config.postgresql.allow_from_dcs, pgSettings, ...(current === undefined ? {} : { current }) });
  if (check.ok) for (const w of [...check.warnings, ...check.kept]) rt.log.warn({ config: '/config' }, w);
  return check;
}

/** Fields of the local YAML that cannot change while the agent runs. */
function immutableChanges(a: AgentConfig, b: AgentConfig): string[] {
  const pairs: Array<[string, unknown, unknown]> = [
    ['name', a.name, b.name],
    ['scope', a.scope, b.scope],
    ['namespace', a.namespace, b.namespace],
    ['postgresql.data_dir', a.postgresql.data_dir, b.postgresql.data_dir],
    ['postgresql.listen', a.postgresql.listen, b.postgresql.listen],
    ['restapi.listen', a.restapi.listen, b.restapi.listen],
    ['etcd3.hosts', a.etcd3.hosts, b.etcd3.hosts],
  ];
  return pairs.filter(([, x, y]) => JSON.stringify(x) !== JSON.stringify(y)).map(([k]) => k);
}

/** POST /reload and SIGHUP: re-read the local YAML; on any problem nothing changes. */
export async function reloadLocalConfig(rt: Runtime): Promise<{ ok: true; warnings: string[] } | { ok: false; message: string }> {
  let next: AgentConfig;
  let warnings: string[];
  try {
    ({ config: next, warnings } = loadConfig(rt.configPath));
  } catch (e) {
    return { ok: false, message: e instanceof ConfigError ? e.message : `cannot read ${rt.configPath}: ${(e as Error).message}` };
  }
  const changed = immutableChanges(rt.config, next);
  if (changed.length) return { ok: false, message: `${changed.join(', ')} cannot change while the agent runs: restart keel-agent to apply` };
  rt.config = next;
  rt.log.level = pinoLevel(next.log.level);
  if (next.postgresql.pg_hba ?? next.bootstrap.pg_hba.length) rt.pg.setPgHba(next.postgresql.pg_hba ?? next.bootstrap.pg_hba);
  rt.lastMemberJson = null; // tags may have changed
  if (rt.lastProbe?.running && !rt.memory.inFlight) {
    await rewriteCurrentConfig(rt);
    await rt.pg.reload();
    rt.appliedParametersJson = null;
  }
  rt.callbacks.fire('on_reload', rt.lastProbe?.role ?? 'replica');
  rt.wake();
  return { ok: true, warnings };
}

export function registerOperationRoutes(app: FastifyInstance, rt: Runtime): void {
  const reply503 = (reply: FastifyReply, message: string) => text(reply, 503, message);

  app.post('/restart', async (req, reply) => {
    const parsed = parseRestartBody(req.body);
    if (!parsed.ok) return reply.code(400).type('text/plain').send(parsed.message);
    const r = parsed.req;
    if (r.schedule) {
      if (rt.settings.pause) return reply.code(500).type('text/plain').send("Can't schedule restart in the pause mode");
      if (rt.scheduledRestart) return reply.code(409).type('text/plain').send('Failed to schedule restart: another restart is already scheduled');
      if (Date.parse(r.schedule) < Date.now() - 1000) return reply.code(400).type('text/plain').send("Can't schedule restart in the past");
      const op = rt.ops.start('restart', `restart scheduled at ${r.schedule}`, 'scheduled');
      rt.scheduledRestart = { ...r, schedule: r.schedule, operationId: op.id };
      rt.lastMemberJson = null;
      setTimeout(() => rt.wake(), Math.max(0, Date.parse(r.schedule) - Date.now())).unref();
      return reply.code(202).send({ message: 'Restart scheduled', operation: op.id });
    }
    if (!rt.memory.inFlight) rt.lastProbe = await rt.pg.probe(); // decide on the live state, not the last tick's
    const blocker = restartBlocker(rt, r);
    if (blocker) return reply503(reply, `restart conditions are not satisfied: ${blocker}`);
    const order = await orderingBlocker(rt, await rt.dcs.readCluster().catch(() => rt.lastCluster));
    if (order) return reply.code(412).type('text/plain').send(`restart refused: ${order}`);
    if (rt.memory.inFlight) return reply503(reply, `${rt.memory.inFlight.kind} is in progress; try again when it has finished`);
    const op = rt.ops.start('restart', 'restart requested');
    const done = runRestart(rt, r, op);
    if (wantsAsync(req)) return reply.code(202).send({ message: 'restart started', operation: op.id });
    try {
      await done;
      return reply.code(200).type('text/plain').send('restarted successfully');
    } catch (e) {
      return reply503(reply, `restart failed: ${(e as Error).message}`);
    }
  });

  app.delete('/restart', async (_req, reply) => {
    const s = rt.scheduledRestart;
    if (!s) return reply.code(404).type('text/plain').send('no restarts are scheduled');
    rt.scheduledRestart = null;
    rt.lastMemberJson = null;
    const op = rt.ops.get(s.operationId);
    if (op) op.state = 'cancelled';
    return reply.code(200).type('text/plain').send('scheduled restart deleted');
  });

  app.post('/reinitialize', async (req, reply) => {
    const body = (req.body ?? {}) as { force?: unknown; from_leader?: unknown };
    if (typeof body !== 'object' || Array.isArray(body)) return reply.code(400).type('text/plain').send('the body must be a JSON object');
    const snap = rt.lastCluster;
    const leader = snap?.leader?.name ?? null;
    if (leader === rt.config.name) return reply503(reply, 'I am the leader, can not reinitialize');
    if (!leader) return reply503(reply, 'Cluster has no leader, can not reinitialize');
    if (rt.memory.inFlight) {
      const msg = body.force
        ? `${rt.memory.inFlight.kind} is in progress and cannot be cancelled; try again when it has finished`
        : `${rt.memory.inFlight.kind} is in progress; try again when it has finished`;
      return reply503(reply, msg);
    }
    const obs = rt.lastObservation;
    const clonefrom = body.from_leader
      ? null
      : snap?.members.find((m) => m.name !== rt.config.name && m.name !== leader && m.value.tags?.clonefrom === true && m.value.state === 'running');
    const from = clonefrom?.name ?? leader;
    const op = rt.ops.start('reinitialize', `reinitialize from ${from} requested`);
    const done = rt
      .runLong('reinitialize', async () => {
        if (await rt.pg.isRunning()) {
          op.step('stopping PostgreSQL (immediate)');
          await rt.pg.stop('immediate', 60);
          rt.callbacks.fire('on_stop', 'replica');
        }
        op.step('removing the data directory');
        await rt.pg.removeDataDir();
        op.step(`taking a base backup from ${from}`);
        await rt.pg.basebackup(connOf(obs, from));
        rt.memory.following = leader;
        rt.memory.formerPrimary = false;
        await rewriteCurrentConfig(rt);
        op.step('starting PostgreSQL as a replica');
        await rt.pg.start({ timeoutSec: Math.max(60, rt.settings.primaryStartTimeout), wait: true });
        op.succeed('reinitialized');
        rt.callbacks.fire('on_start', 'replica');
      })
      .catch((e: Error) => op.fail(e.message));
    void done;
    if (wantsAsync(req)) return reply.code(202).send({ message: 'reinitialize started', operation: op.id });
    return reply.code(200).type('text/plain').send('reinitialize started');
  });

  app.post('/reload', async (_req, reply) => {
    const r = await reloadLocalConfig(rt);
    if (!r.ok) return reply.code(400).type('text/plain').send(`reload refused, nothing changed: ${r.message}`);
    return reply.code(202).type('text/plain').send('reload scheduled');
  });

  app.patch('/config', async (req, reply) => {
    const patch = req.body;
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
      return reply.code(400).type('text/plain').send('the body must be a JSON object (a JSON merge-patch of /config)');
    const snap = await rt.dcs.readCluster().catch(() => null);
    if (!snap) return reply503(reply, 'the DCS is unreachable');
    // an unreadable /config (not JSON, wrong types) is patched as if empty: the write replaces it
    if (!snap.config && snap.unreadable?.config === undefined) return reply503(reply, 'the cluster has no /config yet');
    const current = snap.config?.value ?? {};
    const check = await checkConfig(rt, mergePatch(current, patch), current);
    if (!check.ok) return reply.code(check.status).send({ error: 'invalid configuration, nothing was written', problems: check.problems });
    const ok = await rt.dcs.setConfig(check.config, writableRevision(snap, 'config')).catch(() => null);
    if (ok === null) return reply503(reply, 'the DCS is unreachable');
    if (!ok) return reply.code(409).type('text/plain').send('the configuration was changed concurrently; read it again and retry');
    rt.wake();
    return reply.code(200).send(check.config);
  });

  app.put('/config', async (req, reply) => {
    const body = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return reply.code(400).type('text/plain').send('the body must be a JSON object');
    const check = await checkConfig(rt, body);
    if (!check.ok) return reply.code(check.status).send({ error: 'invalid configuration, nothing was written', problems: check.problems });
    const ok = await rt.dcs.setConfig(check.config).catch(() => null);
    if (!ok) return reply.code(502).type('text/plain').send('the DCS is unreachable');
    rt.wake();
    return reply.code(200).send(check.config);
  });

  app.get('/operations', async () => rt.ops.list());
  app.get('/operations/:id', async (req, reply) => {
    const op = rt.ops.get((req.params as { id: string }).id);
    if (!op) return reply.code(404).send({ error: 'no such operation' });
    return op;
  });
}
