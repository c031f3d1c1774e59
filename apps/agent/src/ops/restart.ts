import type { ClusterSnapshot } from '@keel/dcs';
import { parseScheduledAt } from '@keel/ha-core';
import { rewriteCurrentConfig } from '../pgconfig.ts';
import type { Runtime, ScheduledRestart } from '../runtime.ts';
import { SHARED_MEMORY_PARAMETERS } from './pg-parameters.ts';
import type { OperationHandle } from './registry.ts';

export interface RestartRequest {
  restart_pending?: boolean;
  role?: 'primary' | 'replica';
  postgres_version?: string;
  timeout?: number;
  schedule?: string;
}

/** Patroni's POST /restart body; every problem is named. */
export function parseRestartBody(body: unknown): { ok: true; req: RestartRequest } | { ok: false; message: string } {
  if (body === undefined || body === null || body === '') return { ok: true, req: {} };
  if (typeof body !== 'object' || Array.isArray(body)) return { ok: false, message: 'the body must be a JSON object' };
  const b = body as Record<string, unknown>;
  const req: RestartRequest = {};
  const known = new Set(['restart_pending', 'role', 'postgres_version', 'timeout', 'schedule']);
  for (const k of Object.keys(b)) if (!known.has(k)) return { ok: false, message: `unknown restart condition: ${k}` };
  if (b.restart_pending !== undefined) {
    if (typeof b.restart_pending !== 'boolean') return { ok: false, message: 'restart_pending: expected true or false' };
    req.restart_pending = b.restart_pending;
  }
  if (b.role !== undefined) {
    if (b.role === 'master' || b.role === 'primary') req.role = 'primary';
    else if (b.role === 'replica') req.role = 'replica';
    else return { ok: false, message: `role: expected primary or replica, got ${JSON.stringify(b.role)}` };
  }
  if (b.postgres_version !== undefined) {
    if (typeof b.postgres_version !== 'string' || versionNumber(b.postgres_version) === null)
      return { ok: false, message: `postgres_version: expected a version like "15.4", got ${JSON.stringify(b.postgres_version)}` };
    req.postgres_version = b.postgres_version;
  }
  if (b.timeout !== undefined) {
    const t = typeof b.timeout === 'string' ? Number(b.timeout.replace(/s$/, '')) : b.timeout;
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) return { ok: false, message: 'timeout: expected a positive number of seconds' };
    req.timeout = t;
  }
  if (b.schedule !== undefined) {
    // The same strict parser the switchover schedule goes through (ISO 8601 with a timezone).
    const parsed = typeof b.schedule === 'string' ? parseScheduledAt(b.schedule) : null;
    if (parsed?.ok === false && parsed.error === 'no_timezone') return { ok: false, message: 'schedule: timezone information is mandatory' };
    if (!parsed?.ok) return { ok: false, message: `schedule: expected an ISO 8601 timestamp, got ${JSON.stringify(b.schedule)}` };
    req.schedule = b.schedule as string;
  }
  return { ok: true, req };
}

/** "15.4" -> 150004, "9.6.24" -> 90624; null when unparsable. */
export function versionNumber(v: string): number | null {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(v.trim());
  if (!m) return null;
  const major = Number(m[1]);
  if (major >= 10) return major * 10000 + Number(m[2] ?? 0);
  return major * 10000 + Number(m[2] ?? 0) * 100 + Number(m[3] ?? 0);
}

/** Why this member should not restart now under the given conditions (null: go ahead). */
export function restartBlocker(rt: Runtime, req: RestartRequest): string | null {
  const probe = rt.lastProbe;
  if (!probe?.running) return 'PostgreSQL is not running';
  if (req.restart_pending && !(probe.pendingRestart?.length)) return 'no restart is pending';
  if (req.role && req.role !== probe.role) return `role is ${probe.role}, not ${req.role}`;
  if (req.postgres_version) {
    const wanted = versionNumber(req.postgres_version)!;
    if ((probe.serverVersion ?? 0) >= wanted) return `running version ${probe.serverVersion} is not lower than ${req.postgres_version}`;
  }
  return null;
}

/**
 * PostgreSQL's rule for shared-memory parameters: a standby's value must never be lower than the
 * primary's. Raising: restart replicas first. Lowering: restart the primary first.
 */
export async function orderingBlocker(rt: Runtime, snap: ClusterSnapshot | null = rt.lastCluster): Promise<string | null> {
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

/** Stop and start PostgreSQL in its current role, as a long action (the loop keeps the lock). */
export function runRestart(rt: Runtime, req: RestartRequest, op: OperationHandle): Promise<void> {
  const role = rt.lastProbe?.role ?? 'replica';
  return rt
    .runLong('restart', async () => {
      op.step('stopping PostgreSQL (fast)');
      await rt.pg.stop('fast', 60);
      op.step('writing the configuration');
      await rewriteCurrentConfig(rt);
      op.step('starting PostgreSQL');
      await rt.pg.start({ timeoutSec: req.timeout ?? Math.max(60, rt.settings.primaryStartTimeout), wait: true });
      rt.lastProbe = await rt.pg.probe();
      op.succeed('restarted successfully');
      rt.callbacks.fire('on_restart', role);
    })
    .catch((e: Error) => {
      op.fail(e.message);
      throw e;
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
