/**
 * A standby that starts before the leader has created its member slot: PostgreSQL's walreceiver is
 * refused ("replication slot ... does not exist") and the startup process waits
 * wal_retrieve_retry_interval (5 s by default) before trying again. The leader creates the slot on its
 * next tick after this member's key appears (ha-core's member-slot sync), so a former primary that
 * rejoins, or a replica whose key expired while its agent was down, used to lose up to 5 s after
 * the slot existed (most of a rejoin's time, measured by bench:rejoin).
 *
 * After such a start this watches the leader's pg_replication_slots (every 300 ms, for at most
 * loop_wait + 5 s): once the slot exists having been missing, a reload (SIGHUP) wakes the startup
 * process, which tries streaming at once. Nothing else changes: the reload re-reads the configuration
 * the agent wrote, and if the slot never shows (the leader does not use slots, is unreachable, or
 * changed) PostgreSQL simply retries as before. Runs detached; never throws.
 */
import { slotNameForMember } from '@keel/protocol';
import { connOf } from './pgconfig.ts';
import type { Runtime } from './runtime.ts';
import { isRemoteUpstream } from './standby-cluster.ts';

const POLL_MS = 300;

export function streamOnceSlotExists(rt: Runtime, leader: string): void {
  void watchSlot(rt, leader).catch((e: Error) => rt.log.debug({ err: e.message }, 'upstream slot watch ended'));
}

/** The watch itself (exported for its unit test). */
export async function watchSlot(rt: Runtime, leader: string): Promise<void> {
  if (!rt.settings.useSlots || isRemoteUpstream(leader)) return;
  const slot = slotNameForMember(rt.config.name);
  const src = connOf(rt.lastObservation, leader);
  const deadline = Date.now() + (rt.settings.loopWait + 5) * 1000;
  let missing = false;
  while (!rt.stopping && Date.now() < deadline) {
    const exists = (await rt.pg.slotOps.primaryCatalogXmins(src, [slot])).has(slot);
    if (exists) {
      if (missing && rt.memory.following === leader && !rt.memory.inFlight) {
        await rt.pg.reload();
        rt.log.info({ slot, leader }, `replication slot ${slot} now exists on the leader (${leader}): PostgreSQL reloaded to stream at once instead of after wal_retrieve_retry_interval`);
      }
      return;
    }
    missing = true;
    await new Promise((r) => setTimeout(r, POLL_MS).unref());
  }
}
