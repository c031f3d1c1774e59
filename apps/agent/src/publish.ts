import type { Observation } from '@keel/ha-core';
import type { Runtime } from './runtime.ts';
import { memberValue } from './status.ts';
import { statusSlotsOf } from './slots.ts';

/**
 * After the actions of a tick: keep the lease alive (the leader did so in renewLock), write
 * members/<name> when it changed, and, on the leader, /status with the current WAL position and
 * the replication slots' positions.
 */
export async function publish(rt: Runtime, obs: Observation, actionsRan: boolean): Promise<void> {
  if (actionsRan && obs.pg.dataDir === 'initialized') rt.lastProbe = await rt.pg.probe();
  if (!obs.dcs.ok || rt.stopping) return;
  const { dcs, config } = rt;
  const renewedThisTick = rt.lastLockOkAt !== null && rt.lastLockOkAt >= obs.now;
  if (!renewedThisTick) {
    await dcs.ensureLease(rt.settings.ttl);
    if (!(await dcs.keepAlive())) {
      await dcs.ensureLease(rt.settings.ttl);
      rt.lastMemberJson = null; // the old lease took our member key with it
    }
  }
  const value = memberValue(rt);
  const json = JSON.stringify(value);
  if (json !== rt.lastMemberJson) {
    await dcs.touchMember(config.name, value);
    rt.lastMemberJson = json;
  }
  if (renewedThisTick && rt.lastProbe?.running && rt.lastProbe.role === 'primary' && rt.lastProbe.lsn) {
    // Patroni's /status: the optime, and the slots' positions (permanent and member slots) when there are any
    const slots = statusSlotsOf(rt, obs, rt.lastProbe.lsn);
    const value = { optime: rt.lastProbe.lsn, ...(slots ? { slots } : {}) };
    const status = JSON.stringify(value);
    if (status !== rt.lastStatusJson) {
      await dcs.setStatus(value);
      rt.lastStatusJson = status;
    }
  }
}
