import type { ClusterSnapshot } from '@keel/dcs';
import { parseScheduledAt } from '@keel/ha-core';
import { OperationError, postgresVersionNumber, type TRestartRequest } from '@keel/protocol';
import { rewriteCurrentConfig } from '../pgconfig.ts';
import type { OpsRuntime, ScheduledRestart } from '../runtime.ts';
import { begin, type OperationMeta, type Running } from './operation.ts';
import { SHARED_MEMORY_PARAMETERS } from './pg-parameters.ts';
import type { OperationHandle } from './registry.ts';

/**
 * POST /restart (and the control plane's restart command): Patroni's conditions, then a restart as a
 * long action, or a restart scheduled for later (maintenance.ts starts it under the same operation id).
 * PostgreSQL that is not running is started, as Patroni does (how a stopped node is brought back while
 * the cluster is paused).
 */
export function restartMember(rt: OpsRuntime, req: TRestartRequest, meta: OperationMeta = {}): Promise<Running> {
  const first = req.schedule ? `restart scheduled at ${req.schedule}` : 'restart requested';
  return begin(rt, 'restart', meta, first, async (op) => {
    if (req.schedule) {
      if (rt.settings.pause) throw new OperationError('refused', "Can't schedule restart in the pause mode");
      const parsed = parseScheduledAt(req.schedule);
      if (!parsed.ok && parsed.error === 'no_timezone') throw new OperationError('invalid', 'schedule: timezone information is mandatory');
      if (!parsed.ok) throw new OperationError('invalid', `schedule: expected an ISO 8601 timestamp, got ${JSON.stringify(req.schedule)}`);
      if (rt.scheduledRestart) throw new OperationError('conflict', 'Failed to schedule restart: another restart is already scheduled');
      if (parsed.at < Date.now() - 1000) throw new OperationError('invalid', "Can't schedule restart in the past");
      rt.scheduleRestart({ ...req, schedule: req.schedule, operationId: op.id });
      return { httpStatus: 202, message: 'Restart scheduled', json: { message: 'Restart scheduled', operation: op.id }, scheduled: true, data: { scheduledAt: req.schedule } };
    }
    const probe = await rt.refreshProbe(); // decide on the live state, not the last tick's
    const blocker = restartBlocker(rt, req);
    if (blocker) throw new OperationError('unavailable', `restart conditions are not satisfied: ${blocker}`);
    if (probe?.running) {
      const order = await orderingBlocker(rt, await rt.dcs.readCluster().catch(() => rt.lastCluster));
      if (order) throw new OperationError('precondition_failed', `restart refused: ${order}`);
    }
    if (rt.memory.inFlight) throw new OperationError('unavailable', `${rt.memory.inFlight.kind} is in progress; try again when it has finished`);
    const done = runRestart(rt, req, op).then(
      () => ({ httpStatus: 200, message: 'restarted successfully' }),
      (e: Error) => {
        throw new OperationError('unavailable', `restart failed: ${e.message}`);
      },
    );
    return { done };
  });
}

/** DELETE /restart (patronictl flush restart): drop the scheduled restart. */
export function cancelScheduledRestart(rt: OpsRuntime, meta: OperationMeta = {}): Promise<Running> {
  return begin(rt, 'cancel_restart', meta, 'cancel the scheduled restart', async () => {
    const s = rt.scheduledRestart;
    if (!s) throw new OperationError('not_found', 'no restarts are scheduled');
    rt.scheduleRestart(null);
    rt.ops.handle(s.operationId)?.cancel('the scheduled restart was deleted');
    return { httpStatus: 200, message: 'scheduled restart deleted' };
  });
}


/** Why this member should not restart now under the given conditions (null: go ahead). */
export function restartBlocker(rt: OpsRuntime, req: TRestartRequest): string | null {
  const probe = rt.lastProbe;
  if (!probe?.running) {
    // Stopped: the restart starts it (Patroni). Conditions that need a running server cannot hold.
    if (rt.lastObservation?.pg.dataDir !== 'initialized') return 'PostgreSQL has no data directory to start';
    if (req.restart_pending) return 'no restart is pending';
    if (req.postgres_version) return 'PostgreSQL is not running, its version is unknown';
    const role = rt.lastCluster?.leader?.name === rt.config.name ? 'primary' : 'replica';
    if (req.role && req.role !== role) return `role is ${role}, not ${req.role}`;
    return null;
  }
  if (req.restart_pending && !(probe.pendingRestart?.length)) return 'no restart is pending';
  if (req.role && req.role !== probe.role) return `role is ${probe.role}, not ${req.role}`;
  if (req.postgres_version) {
    const wanted = postgresVersionNumber(req.postgres_version)!;
    if ((probe.serverVersion ?? 0) >= wanted) return `running version ${probe.serverVersion} is not lower than ${req.postgres_version}`;
  }
  return null;
}

/**
 * PostgreSQL's rule for shared-memory parameters: a standby's value must never be lower than the
 * primary's. Raising: restart replicas first. Lowering: restart the primary first.
 */
export async function orderingBlocker(rt: OpsRuntime, snap: ClusterSnapshot | null = rt.lastCluster): Promise<string | null> {
  const probe = rt.lastProbe;
  if (!probe?.running || !snap) return null;
  // Member keys lag a restart that just happened elsewhere: ask those members directly.
  const live = new Map<string, Record<string, { old_value: string; new_value: string }> | undefined>();
  await Promise.all(
    snap.members
      .filter((m) => m.name !== rt.config.name && m.value.pending_restart_reason)
      .map(async (m) => {
        const answer = await rt.peers.status(m.name, m.value.api_url, 2000);
        // unreachable: keep what the DCS says
        live.set(m.name, answer.ok ? answer.body.pending_restart_reason : m.value.pending_restart_reason);
      }),
  );
  const mine = new Map((probe.pendingRestart ?? []).map((p) => [p.name, p]));
  for (const name of SHARED_MEMORY_PARAMETERS) {
    const p = mine.get(name);
    if (!p) continue;
    const raising = Number(p.new_value) > Number(p.old_value);
    for (const m of snap.members) {
      if (m.name === rt.config.name) continue;
      const other = (live.has(m.name) ? live.get(m.name) : undefined)?.[name];
      if (!other) continue;
      const isPrimary = m.name === snap.leader?.name;
      if (probe.role === 'primary' && raising && !isPrimary)
        return `restart the replicas first: ${name} is being raised from ${p.old_value} to ${p.new_value} and ${m.name} still runs ${other.old_value}`;
      if (probe.role === 'replica' && !raising && isPrimary)
        return `restart the primary first: ${name} is being lowered from ${p.old_value} to ${p.new_value} and the primary ${m.name} still runs ${other.old_value}`;
    }
  }
  return null;
}

/**
 * Stop and start PostgreSQL in its current role, as a long action (the loop keeps the lock). Stopped
 * PostgreSQL is only started, with the configuration it has (its role does not change).
 */
export function runRestart(rt: OpsRuntime, req: TRestartRequest, op: OperationHandle): Promise<void> {
  const wasRunning = rt.lastProbe?.running === true;
  const role = wasRunning ? (rt.lastProbe?.role ?? 'replica') : rt.lastCluster?.leader?.name === rt.config.name ? 'primary' : 'replica';
  return rt.runLong('restart', async (w) => {
    if (wasRunning) {
      op.step('stopping PostgreSQL (fast)');
      await w.pg.stop('fast', 60);
      op.step('writing the configuration');
      await rewriteCurrentConfig(w);
    } else {
      op.step('PostgreSQL is not running: starting it');
    }
    op.step('starting PostgreSQL');
    await w.pg.start({ timeoutSec: req.timeout ?? Math.max(60, w.settings.primaryStartTimeout), wait: true });
    w.lastProbe = await w.pg.probe();
    w.memory.lastFailure = null;
    w.callbacks.fire(wasRunning ? 'on_restart' : 'on_start', role);
  });
}

export function scheduledRestartValue(s: ScheduledRestart): Record<string, unknown> {
  const v: Record<string, unknown> = { schedule: s.schedule };
  if (s.role) v.role = s.role;
  if (s.postgres_version) v.postgres_version = s.postgres_version;
  if (s.restart_pending) v.restart_pending = true;
  if (s.postmaster_start_time) v.postmaster_start_time = s.postmaster_start_time;
  return v;
}
