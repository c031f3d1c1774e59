import type { THistory, THistoryEntry } from '@keel/protocol';
import { writePgConfig } from '../pgconfig.ts';
import type { Runtime } from '../runtime.ts';
import type { Executor } from './index.ts';

/** A fatal condition: the agent stops (without touching PostgreSQL). */
export class FatalError extends Error {}

/** Patroni's /history from the new timeline's history file, keeping known entries as they were. */
export async function recordHistory(rt: Runtime, previous: THistory): Promise<void> {
  const probe = await rt.pg.probe();
  if (!probe.running || !probe.timeline || probe.timeline < 2) return;
  const lines = await rt.pg.readTimelineHistory(probe.timeline);
  const known = new Map(previous.map((e) => [e[0], e]));
  const now = new Date().toISOString().replace('Z', '+00:00');
  const history: THistoryEntry[] = lines.map((l) => known.get(l.parentTli) ?? [l.parentTli, l.switchpoint, l.reason, now, rt.config.name]);
  await rt.dcs.setHistory(history);
}

const promote: Executor<'promote'> = async (rt, _a, obs) => {
  const pre = await rt.callbacks.prePromote(rt.settings.ttl * 500);
  if (!pre.ok) {
    await rt.dcs.releaseLeader(rt.config.name).catch(() => undefined);
    rt.lastLockOkAt = null;
    throw new Error(`not promoting: ${pre.message}; released the leader lock`);
  }
  // promote() checkpoints at once, so a rewinding former primary sees the new timeline in our pg_control.
  await rt.pg.promote({ timeoutSec: 60 });
  rt.memory.following = null;
  rt.memory.formerPrimary = true;
  rt.log.info('promoted PostgreSQL to primary');
  rt.callbacks.fire('on_role_change', 'primary');
  await recordHistory(rt, obs.dcs.ok ? obs.dcs.cluster.history : []).catch((e: Error) =>
    rt.log.warn({ err: e.message }, 'could not record the timeline history'),
  );
};

const demote: Executor<'demote'> = async (rt, a) => {
  const mode = a.mode === 'graceful' ? 'fast' : 'immediate';
  await rt.pg.stop(mode, 60);
  rt.memory.formerPrimary = true;
  rt.memory.following = null;
  if (a.mode === 'graceful' || a.mode === 'immediate') {
    await rt.dcs.releaseLeader(rt.config.name).catch(() => undefined);
    rt.lastLockOkAt = null;
  }
  rt.log.warn({ mode: a.mode }, 'demoted: PostgreSQL stopped');
  rt.callbacks.fire('on_role_change', 'replica');
};

const follow: Executor<'follow'> = async (rt, a) => {
  await writePgConfig(rt, { upstream: a.leader });
  await rt.pg.reload();
  rt.memory.following = a.leader;
};

const syncSlots: Executor<'syncSlots'> = async (rt, a) => {
  await rt.pg.syncSlots({ create: [...a.create], drop: [...a.drop] });
};

const fatal: Executor<'fatal'> = async (_rt, a) => {
  throw new FatalError(a.message);
};

export const roleExecutors = { promote, demote, follow, syncSlots, fatal };
