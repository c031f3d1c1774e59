/**
 * Permanent replication slots (`slots:`, `ignore_slots` in the dynamic configuration), run by the HA
 * loop after each tick's actions and publish (loop.ts), outside decide(): ha-core's planSlots says
 * what to do, this module does it and logs each change.
 *
 * - Primary holding the lock: create the permanent physical and logical slots, drop unknown logical
 *   slots that ignore_slots does not match (unknown physical ones: the member-slot sync, syncSlots).
 * - Replica: create the permanent physical slots and advance them to the leader's /status; copy the
 *   permanent logical slots from the primary (their state file, then a restart of this replica so
 *   PostgreSQL loads them: PostgreSQL 15 cannot create a logical slot on a standby) and advance them
 *   to /status, never past the replayed WAL, in the background (decoding may take a while).
 * - The leader's /status carries the slots' positions (publish.ts, statusSlotsOf).
 */
import { desiredSlots, factsOf, planSlots, sameSlot, statusSlots, type LocalSlot, type Observation, type SlotPlan } from '@keel/ha-core';
import { formatLsn, slotNameForMember } from '@keel/protocol';
import { connOf } from './pgconfig.ts';
import type { Runtime } from './runtime.ts';

/** Advances are logged at info level at most this often per slot (debug otherwise). */
const ADVANCE_LOG_MS = 60_000;
/** A failed copy (or a copy whose slot still cannot be advanced) is tried again after this long. */
const COPY_RETRY_MS = 30_000;
/** PostgreSQL's errors for "the WAL this slot needs is gone" and "the slot was invalidated": copy it again. */
const RECOPY_SQLSTATES = new Set(['58P01', '55000']);

/** What the slots module remembers between ticks. */
export interface SlotsState {
  /** The background advance of logical slots in progress, if any. */
  advancing: Promise<void> | null;
  /** Logical slots whose advance failed because the copy is unusable: copied again. */
  recopy: Set<string>;
  lastCopyAt: number;
  /** Problems already logged (each once while it lasts). */
  logged: Set<string>;
  /** When each slot's advance was last logged at info level (advances happen every tick). */
  advanceLoggedAt: Map<string, number>;
  /**
   * Copied logical slots not yet known to be safe after a failover, with the catalog_xmin the slot had
   * on the primary once this replica's physical slot there had one (null: not known yet). Patroni's
   * readiness check.
   */
  unready: Map<string, number | null>;
}

export function newSlotsState(): SlotsState {
  return { advancing: null, recopy: new Set(), lastCopyAt: 0, logged: new Set(), advanceLoggedAt: new Map(), unready: new Map() };
}

function localSlots(rt: Runtime): LocalSlot[] {
  return (rt.lastProbe?.replicationSlots ?? []).map((s) => ({ ...s }));
}

/** The member slots this instance keeps (the member-slot sync's desired set). */
function memberSlotsOf(obs: Observation): string[] {
  return obs.dcs.ok && obs.settings.useSlots ? desiredSlots(factsOf(obs, obs.dcs.cluster)) : [];
}

/** /status.slots for the leader to publish (undefined: nothing to publish). */
export function statusSlotsOf(rt: Runtime, obs: Observation | null, optime: number): Record<string, number> | undefined {
  if (!obs?.dcs.ok || !rt.settings.useSlots) return undefined;
  const slots = statusSlots({
    permanent: rt.settings.permanentSlots ?? {},
    memberSlots: memberSlotsOf(obs),
    local: localSlots(rt),
    mySlotName: slotNameForMember(rt.config.name),
    optime,
  });
  return Object.keys(slots).length > 0 ? slots : undefined;
}

/** One run after the tick. Never throws (each failure is logged). */
export async function manageSlots(rt: Runtime, obs: Observation): Promise<void> {
  const probe = rt.lastProbe;
  if (rt.stopping || rt.memory.inFlight || !probe?.running || !obs.dcs.ok) return;
  const st = (rt.slots ??= newSlotsState());
  const cluster = obs.dcs.cluster;
  const me = rt.config.name;
  const role = probe.role === 'primary' && cluster.leader === me ? 'primary' : probe.role === 'replica' && cluster.leader && cluster.leader !== me ? 'replica' : null;
  if (role === null) return;
  const plan = planSlots({
    role,
    mySlotName: slotNameForMember(me),
    memberSlots: memberSlotsOf(obs),
    permanent: rt.settings.permanentSlots ?? {},
    ignore: rt.settings.ignoreSlots ?? [],
    local: localSlots(rt),
    status: rt.lastCluster?.status?.slots ?? null,
    replayLsn: probe.replayLsn,
    paused: rt.settings.pause,
    nofailover: rt.config.tags.nofailover === true,
    useSlots: rt.settings.useSlots,
  });
  for (const p of plan.problems) logOnce(rt, st, p);
  if (role === 'primary' && st.unready.size > 0) {
    rt.log.warn({ slots: [...st.unready.keys()] }, `logical replication slots that might be unsafe to use after the promotion: ${[...st.unready.keys()].join(', ')}`);
    st.unready.clear();
  }
  await carryOut(rt, st, plan, role, obs);
  if (role === 'replica' && st.unready.size > 0) await attempt(rt, 'check that the copied logical slots are ready', () => checkReadiness(rt, st, obs));
}

/**
 * A copied logical slot is safe to use after a failover once the primary keeps the catalog rows it
 * needs for this replica: this replica's physical slot on the primary has a catalog_xmin (hot_standby_feedback
 * carries the copies' catalog_xmin there) that has overtaken the logical slot's catalog_xmin on the
 * primary and is not newer than the copy's own (Patroni's check_logical_slots_readiness).
 */
async function checkReadiness(rt: Runtime, st: SlotsState, obs: Observation): Promise<void> {
  const leader = obs.dcs.ok ? obs.dcs.cluster.leader : null;
  if (!leader) return;
  const mySlot = slotNameForMember(rt.config.name);
  const unknown = [...st.unready].filter(([, v]) => v === null).map(([k]) => k);
  const onPrimary = await rt.pg.slotOps.primaryCatalogXmins(connOf(obs, leader), [...unknown, mySlot]);
  if (!onPrimary.has(mySlot)) return logOnce(rt, st, `physical slot ${mySlot} does not exist on the primary (${leader}): cannot tell whether the copied logical slots are safe`);
  const physical = onPrimary.get(mySlot) ?? null;
  if (physical === null) {
    return logOnce(rt, st, `logical slot failover needs hot_standby_feedback: the physical slot ${mySlot} on the primary has no catalog_xmin yet`);
  }
  for (const name of unknown) {
    const x = onPrimary.get(name);
    if (x === undefined) st.unready.delete(name); // gone on the primary
    else st.unready.set(name, x ?? 0);
  }
  const local = new Map((rt.lastProbe?.replicationSlots ?? []).map((s) => [s.name, s]));
  for (const [name, primaryLogical] of st.unready) {
    const copy = local.get(name);
    if (st.recopy.has(name)) continue; // cannot be advanced: not ready whatever its catalog_xmin
    if (!copy) {
      st.unready.delete(name);
    } else if (primaryLogical !== null && copy.catalogXmin !== null && primaryLogical <= physical && physical <= copy.catalogXmin) {
      st.unready.delete(name);
      rt.log.info({ slot: name }, `logical replication slot ${name} is safe to be used after a failover`);
    }
  }
}

function logOnce(rt: Runtime, st: SlotsState, message: string): void {
  if (st.logged.has(message)) return;
  st.logged.add(message);
  rt.log.error(message);
}

function logAdvance(rt: Runtime, st: SlotsState, name: string, type: string, lsn: number): void {
  const now = Date.now();
  const message = `advanced ${type} replication slot ${name} to ${formatLsn(lsn)} (the leader's /status)`;
  if (now - (st.advanceLoggedAt.get(name) ?? 0) >= ADVANCE_LOG_MS) {
    st.advanceLoggedAt.set(name, now);
    rt.log.info({ slot: name, lsn }, message);
  } else {
    rt.log.debug({ slot: name, lsn }, message);
  }
}

async function attempt(rt: Runtime, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    rt.log.error({ err: (e as Error).message }, `replication slots: could not ${what}`);
  }
}

async function carryOut(rt: Runtime, st: SlotsState, plan: SlotPlan, role: 'primary' | 'replica', obs: Observation): Promise<void> {
  const ops = rt.pg.slotOps;
  for (const d of plan.drop) {
    await attempt(rt, `drop slot ${d.name}`, async () => {
      const r = await ops.drop(d.name);
      if (r.dropped) rt.log.info({ slot: d.name }, `dropped replication slot ${d.name}: ${d.why}`);
      else if (r.active) rt.log.warn({ slot: d.name }, `replication slot ${d.name} is in use; not dropped (${d.why})`);
    });
  }
  for (const name of plan.createPhysical) {
    await attempt(rt, `create physical slot ${name}`, async () => {
      if (await ops.createPhysical(name)) rt.log.info({ slot: name }, `created permanent physical replication slot ${name}`);
    });
  }
  for (const s of plan.createLogical) {
    await attempt(rt, `create logical slot ${s.name} (database ${s.database}, plugin ${s.plugin})`, async () => {
      if (await ops.createLogical(s.name, s.database, s.plugin)) {
        rt.log.info({ slot: s.name, database: s.database, plugin: s.plugin }, `created permanent logical replication slot ${s.name}`);
      }
    });
  }
  for (const a of plan.advance.filter((x) => x.type === 'physical')) {
    await attempt(rt, `advance slot ${a.name}`, async () => {
      const reached = await ops.advance(a.name, a.lsn, null);
      logAdvance(rt, st, a.name, 'physical', reached ?? a.lsn);
    });
  }
  if (role !== 'replica') return;
  const logical = plan.advance.filter((x) => x.type === 'logical' && !st.recopy.has(x.name));
  if (logical.length > 0 && st.advancing === null) {
    // decoding up to the target may take long: not in the loop (Patroni uses a thread)
    st.advancing = (async () => {
      for (const a of logical) {
        try {
          const reached = await ops.advance(a.name, a.lsn, a.database);
          logAdvance(rt, st, a.name, 'logical', reached ?? a.lsn);
        } catch (e) {
          const code = (e as { code?: string }).code;
          rt.log.error({ slot: a.name, err: (e as Error).message, code }, `could not advance logical slot ${a.name}`);
          if (code && RECOPY_SQLSTATES.has(code)) st.recopy.add(a.name);
        }
      }
    })().finally(() => {
      st.advancing = null;
    });
  }
  const copy = [...new Set([...plan.copy, ...st.recopy])].sort();
  if (copy.length > 0 && Date.now() - st.lastCopyAt >= COPY_RETRY_MS && st.advancing === null) {
    st.lastCopyAt = Date.now();
    await attempt(rt, `copy logical slots ${copy.join(', ')} from the primary`, () => copyFromPrimary(rt, st, copy, obs));
  }
}

/**
 * Reads the slots' state files on the primary, checks they still are what the configuration defines,
 * then restarts this replica with the files in pg_replslot (a long action: the loop goes on meanwhile).
 */
async function copyFromPrimary(rt: Runtime, st: SlotsState, names: string[], obs: Observation): Promise<void> {
  const leader = obs.dcs.ok ? obs.dcs.cluster.leader : null;
  if (!leader) return;
  const source = connOf(obs, leader);
  const permanent = rt.settings.permanentSlots ?? {};
  const local = new Map((rt.lastProbe?.replicationSlots ?? []).map((s) => [s.name, s]));
  const copies = (await rt.pg.slotOps.readLogicalStates(source, names)).filter((c) => {
    const spec = permanent[c.name];
    const ok = spec !== undefined && sameSlot(spec, { name: c.name, type: 'logical', database: c.database, plugin: c.plugin, active: false, restartLsn: null, confirmedFlushLsn: null });
    if (!ok) rt.log.warn({ slot: c.name }, `not copying logical slot ${c.name}: on the primary it is not what the configuration defines`);
    // A copy that cannot be advanced (this replica lacks the WAL from its restart_lsn, e.g. the slot is
    // older than this replica's base backup) is copied again only once the primary's slot has moved:
    // the same copy would fail the same way, and each copy restarts this replica.
    const mine = local.get(c.name);
    const pointless = ok && mine !== undefined && mine.restartLsn !== null && c.restartLsn !== null && c.restartLsn <= mine.restartLsn;
    if (pointless) {
      logOnce(rt, st, `logical slot ${c.name} cannot be advanced here (this replica no longer has the WAL from its restart_lsn); it is copied again once the primary's slot has moved on (a consumer reads it)`);
    }
    return ok && !pointless;
  });
  if (copies.length === 0) return;
  const list = copies.map((c) => c.name).join(', ');
  rt.log.info({ slots: copies.map((c) => c.name), leader }, `copying logical replication slots ${list} from the primary (${leader}); restarting PostgreSQL to load them`);
  // in the background, like any restart: the loop goes on (and renews nothing it holds: this is a replica)
  void rt.runLong('restart', async (w) => {
    await w.pg.stop('fast', 60);
    await w.pg.slotOps.install(copies);
    await w.pg.start({ timeoutSec: Math.max(60, w.settings.primaryStartTimeout), wait: true });
    w.lastProbe = await w.pg.probe();
    for (const c of copies) {
      st.recopy.delete(c.name);
      st.unready.set(c.name, null);
    }
    w.log.info({ slots: copies.map((c) => c.name) }, `copied logical replication slots ${list}; PostgreSQL restarted`);
  }).catch(() => undefined); // runLong logs and records the failure
}
