/**
 * Permanent replication slots (`slots:` in the dynamic configuration) and `ignore_slots`, with
 * Patroni's semantics (3.x, PostgreSQL 11-16: no failover slots). Pure: the agent's slots module
 * (apps/agent/src/slots.ts) observes, calls planSlots() and carries the plan out.
 *
 * - On the primary: create the permanent physical and logical slots; drop every logical slot that is
 *   neither permanent nor matched by ignore_slots (unknown physical slots are the member-slot sync's:
 *   slotSync in slots.ts, which spares permanent and ignored ones); a slot whose type, database or
 *   plugin differs from its definition is dropped and created again.
 * - On a replica (not tagged nofailover): create the permanent physical slots and advance them to the
 *   position the leader published in /status; logical slots cannot be created on a standby, so they
 *   are copied from the primary (their state file) once /status names them, then advanced to
 *   min(/status, replayed WAL) so a consumer resumes from there after a failover.
 */
import { compareCodeUnits } from '@keel/protocol';

/** Patroni's slot_name_re: what Patroni (and so Keel) manages; PostgreSQL allows exactly this too. */
export const SLOT_NAME_RE = /^[a-z0-9_]{1,63}$/;

export interface SlotSpec {
  type: 'physical' | 'logical';
  /** logical: the database the slot decodes. */
  database?: string;
  /** logical: the output plugin. */
  plugin?: string;
}

/** An ignore_slots entry: a slot matches when every attribute given equals the slot's. */
export interface IgnoreMatcher {
  name?: string;
  type?: 'physical' | 'logical';
  database?: string;
  plugin?: string;
}

/** A replication slot as it exists on this instance (temporary slots excluded). */
export interface LocalSlot {
  name: string;
  type: 'physical' | 'logical';
  database: string | null;
  plugin: string | null;
  active: boolean;
  restartLsn: number | null;
  confirmedFlushLsn: number | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The permanent slots of a dynamic configuration, Patroni's way: `slots` (or the older names
 * `permanent_replication_slots`, `permanent_slots`); a null or empty value is physical; without a
 * type, a value with database and plugin is logical. Entries that are not valid are left out (the
 * configuration check refuses them before they reach the DCS).
 */
export function permanentSlotsOf(config: Record<string, unknown> | null | undefined): Record<string, SlotSpec> {
  const raw = config?.['permanent_replication_slots'] ?? config?.['permanent_slots'] ?? config?.['slots'];
  const out: Record<string, SlotSpec> = {};
  if (!isObject(raw)) return out;
  for (const [name, v] of Object.entries(raw)) {
    if (!SLOT_NAME_RE.test(name)) continue;
    if (v === null || v === undefined || (isObject(v) && Object.keys(v).length === 0)) {
      out[name] = { type: 'physical' };
      continue;
    }
    if (!isObject(v)) continue;
    const database = typeof v['database'] === 'string' && v['database'] !== '' ? v['database'] : undefined;
    const plugin = typeof v['plugin'] === 'string' && v['plugin'] !== '' ? v['plugin'] : undefined;
    const type = v['type'] ?? (database && plugin ? 'logical' : 'physical');
    if (type === 'physical') out[name] = { type: 'physical' };
    else if (type === 'logical' && database && plugin) out[name] = { type: 'logical', database, plugin };
  }
  return out;
}

/** The ignore_slots matchers of a dynamic configuration (invalid entries left out). */
export function ignoreMatchersOf(config: Record<string, unknown> | null | undefined): IgnoreMatcher[] {
  const raw = config?.['ignore_slots'];
  if (!Array.isArray(raw)) return [];
  const out: IgnoreMatcher[] = [];
  for (const m of raw) {
    if (!isObject(m)) continue;
    const matcher: IgnoreMatcher = {};
    for (const k of ['name', 'database', 'plugin'] as const) if (typeof m[k] === 'string' && m[k] !== '') matcher[k] = m[k];
    if (m['type'] === 'physical' || m['type'] === 'logical') matcher.type = m['type'];
    out.push(matcher);
  }
  return out;
}

/** Patroni's ignore_replication_slot: every attribute a matcher names must equal the slot's. */
export function isIgnored(matchers: readonly IgnoreMatcher[], slot: { name: string; type: string; database?: string | null; plugin?: string | null }): boolean {
  return matchers.some(
    (m) =>
      (m.name === undefined || m.name === slot.name) &&
      (m.type === undefined || m.type === slot.type) &&
      (m.database === undefined || m.database === slot.database) &&
      (m.plugin === undefined || m.plugin === slot.plugin),
  );
}

/** Same slot as defined: type, and for logical slots database and plugin (Patroni's compare_slots). */
export function sameSlot(spec: SlotSpec, local: LocalSlot): boolean {
  return spec.type === local.type && (spec.type === 'physical' || (spec.database === local.database && spec.plugin === local.plugin));
}

export interface SlotPlanInput {
  role: 'primary' | 'replica';
  /** This member's own slot name (slotNameForMember): never a permanent physical slot on itself. */
  mySlotName: string;
  /** Member slots this instance keeps (the member-slot sync's): a permanent logical slot may not take their name. */
  memberSlots: readonly string[];
  permanent: Readonly<Record<string, SlotSpec>>;
  ignore: readonly IgnoreMatcher[];
  local: readonly LocalSlot[];
  /** /status.slots as the leader published them (replica). */
  status: Readonly<Record<string, number>> | null;
  /** pg_last_wal_replay_lsn (replica): a logical slot is never advanced past what was replayed. */
  replayLsn: number | null;
  paused: boolean;
  /** tags.nofailover: such a replica keeps no permanent slots (Patroni: it never leads). */
  nofailover: boolean;
  useSlots: boolean;
}

export interface SlotPlan {
  createPhysical: string[];
  createLogical: Array<{ name: string; database: string; plugin: string }>;
  drop: Array<{ name: string; why: string }>;
  advance: Array<{ name: string; type: 'physical' | 'logical'; database: string | null; lsn: number }>;
  /** Logical slots to copy from the primary (replica). */
  copy: string[];
  /** Configuration problems worth a log line (e.g. a logical slot named like a member's slot). */
  problems: string[];
}

/** The permanent slots this instance keeps, by role (Patroni's get_replication_slots, permanent part). */
export function wantedPermanentSlots(i: Pick<SlotPlanInput, 'role' | 'mySlotName' | 'memberSlots' | 'permanent' | 'nofailover' | 'useSlots'>): {
  wanted: Record<string, SlotSpec>;
  problems: string[];
} {
  const wanted: Record<string, SlotSpec> = {};
  const problems: string[] = [];
  if (!i.useSlots || (i.role === 'replica' && i.nofailover)) return { wanted, problems };
  for (const [name, spec] of Object.entries(i.permanent)) {
    if (spec.type === 'physical') {
      if (name !== i.mySlotName) wanted[name] = spec;
    } else if (i.memberSlots.includes(name)) {
      problems.push(`permanent logical slot ${name} has the name of a member's physical slot; not created`);
    } else {
      wanted[name] = spec;
    }
  }
  return { wanted, problems };
}

/** What to create, drop, advance and copy on this instance now. */
export function planSlots(i: SlotPlanInput): SlotPlan {
  const plan: SlotPlan = { createPhysical: [], createLogical: [], drop: [], advance: [], copy: [], problems: [] };
  const { wanted, problems } = wantedPermanentSlots(i);
  plan.problems.push(...problems);
  const local = new Map(i.local.map((s) => [s.name, s]));

  // drops: never while paused, never an ignored slot; unknown logical slots, and slots whose definition changed
  if (!i.paused) {
    for (const s of i.local) {
      if (isIgnored(i.ignore, s)) continue;
      const spec = wanted[s.name];
      if (spec && !sameSlot(spec, s)) {
        plan.drop.push({ name: s.name, why: `its definition changed: it is ${describe(s)}, the configuration asks for ${describe(spec)}` });
      } else if (!spec && s.type === 'logical') {
        plan.drop.push({ name: s.name, why: 'an unknown logical slot (neither in slots nor matched by ignore_slots)' });
      }
    }
  }
  const dropped = new Set(plan.drop.map((d) => d.name));
  const present = (name: string, spec: SlotSpec): LocalSlot | null => {
    const s = local.get(name);
    return s && !dropped.has(name) && sameSlot(spec, s) ? s : null;
  };

  for (const [name, spec] of Object.entries(wanted).sort(([a], [b]) => compareCodeUnits(a, b))) {
    const s = present(name, spec);
    const conflict = local.has(name) && !s; // exists with another definition: recreated after the drop (next run)
    if (spec.type === 'physical') {
      if (!s) {
        if (!conflict) plan.createPhysical.push(name);
        continue;
      }
      const target = i.role === 'replica' ? i.status?.[name] : undefined;
      // a slot created without reserving WAL has no restart_lsn and cannot be advanced
      if (target !== undefined && s.restartLsn !== null && target > s.restartLsn && !s.active) {
        plan.advance.push({ name, type: 'physical', database: null, lsn: target });
      }
      continue;
    }
    if (i.role === 'primary') {
      if (!s && !conflict) plan.createLogical.push({ name, database: spec.database ?? '', plugin: spec.plugin ?? '' });
      continue;
    }
    const published = i.status?.[name];
    if (!s) {
      // only a slot the leader has published a position for is copied (Patroni: "slots with feedback in the DCS")
      if (!conflict && published !== undefined) plan.copy.push(name);
      continue;
    }
    if (published !== undefined && i.replayLsn !== null) {
      const target = Math.min(published, i.replayLsn);
      if (s.confirmedFlushLsn === null || target > s.confirmedFlushLsn) {
        plan.advance.push({ name, type: 'logical', database: s.database, lsn: target });
      }
    }
  }
  return plan;
}

function describe(s: { type: string; database?: string | null; plugin?: string | null }): string {
  return s.type === 'logical' ? `logical (database ${s.database ?? '?'}, plugin ${s.plugin ?? '?'})` : 'physical';
}

/**
 * /status.slots as the leader writes it (Patroni): the permanent slots' positions (logical:
 * confirmed_flush_lsn, physical: restart_lsn), the member slots' restart_lsn, and the leader's own slot
 * name at its WAL position (so the replicas, and a new leader, keep a permanent slot named like it).
 */
export function statusSlots(i: {
  permanent: Readonly<Record<string, SlotSpec>>;
  memberSlots: readonly string[];
  local: readonly LocalSlot[];
  mySlotName: string;
  optime: number;
}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of i.local) {
    const spec = i.permanent[s.name];
    const member = i.memberSlots.includes(s.name);
    if (!spec && !member) continue;
    if (spec && !sameSlot(spec, s)) continue;
    const lsn = s.type === 'logical' ? s.confirmedFlushLsn : s.restartLsn;
    if (lsn !== null && lsn > 0) out[s.name] = lsn;
  }
  if (i.permanent[i.mySlotName]?.type === 'physical' || i.memberSlots.length > 0) out[i.mySlotName] = i.optime;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => compareCodeUnits(a, b)));
}
