/**
 * `slots` (permanent replication slots; Patroni also reads `permanent_slots` and
 * `permanent_replication_slots`) and `ignore_slots` in the dynamic configuration, checked strictly:
 * a bad definition is refused (start-up error, 400 on PATCH /config) and never reaches the DCS.
 */

import { SLOT_NAME_RE } from '@keel/ha-core';
import { got, join, type Problems } from './problems.ts';
import { isObj } from './read.ts';

/** Patroni's names for the permanent slots, the one it reads first first. */
export const PERMANENT_SLOT_KEYS = ['permanent_replication_slots', 'permanent_slots', 'slots'] as const;
export const SLOT_KEYS = [...PERMANENT_SLOT_KEYS, 'ignore_slots'] as const;

const SLOT_NAME_RULE = 'a replication slot name has 1 to 63 characters among lower-case letters, digits and the underscore (PostgreSQL\'s rule)';
/** database and plugin names are PostgreSQL identifiers: at most NAMEDATALEN - 1 bytes. */
const MAX_IDENTIFIER_BYTES = 63;

function identifier(p: Problems, kp: string, v: unknown): string | undefined {
  if (typeof v !== 'string' || v.trim() === '') {
    p.error(kp, `expected a non-empty name${got(kp, v)}`);
    return undefined;
  }
  if (Buffer.byteLength(v) > MAX_IDENTIFIER_BYTES || /[\0\r\n]/.test(v)) {
    p.error(kp, `must be at most ${MAX_IDENTIFIER_BYTES} bytes without NUL or line breaks${got(kp, v)}`);
    return undefined;
  }
  return v;
}

function slotType(p: Problems, kp: string, v: unknown): 'physical' | 'logical' | undefined {
  if (v === 'physical' || v === 'logical') return v;
  p.error(kp, `expected physical or logical${got(kp, v)}`);
  return undefined;
}

/** One permanent slot definition, normalised: {type: physical} or {type: logical, database, plugin}. */
function checkSlot(p: Problems, kp: string, v: unknown): Record<string, string> | undefined {
  if (v === null || v === undefined) return { type: 'physical' };
  if (!isObj(v)) {
    p.error(kp, `expected a mapping with type, database and plugin (or nothing for a physical slot)${got(kp, v)}`);
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(v)) {
    if (!['type', 'database', 'plugin'].includes(key)) {
      p.error(join(kp, key), 'unknown key (a permanent slot has type, database and plugin)');
      ok = false;
    }
  }
  const type = v['type'] === undefined || v['type'] === null ? undefined : slotType(p, join(kp, 'type'), v['type']);
  if (v['type'] !== undefined && v['type'] !== null && type === undefined) return undefined;
  const hasDb = v['database'] !== undefined && v['database'] !== null;
  const hasPlugin = v['plugin'] !== undefined && v['plugin'] !== null;
  // without a type, database and plugin together mean logical (Patroni); one of them alone is a mistake
  const effective = type ?? (hasDb || hasPlugin ? 'logical' : 'physical');
  if (effective === 'physical') {
    if (hasDb || hasPlugin) {
      p.error(kp, 'a physical slot has no database or plugin (set type: logical for a logical slot)');
      return undefined;
    }
    return ok ? { type: 'physical' } : undefined;
  }
  if (!hasDb) p.error(join(kp, 'database'), 'required: a logical slot decodes one database');
  if (!hasPlugin) p.error(join(kp, 'plugin'), 'required: a logical slot needs an output plugin (e.g. pgoutput, test_decoding)');
  const database = hasDb ? identifier(p, join(kp, 'database'), v['database']) : undefined;
  const plugin = hasPlugin ? identifier(p, join(kp, 'plugin'), v['plugin']) : undefined;
  if (!ok || database === undefined || plugin === undefined) return undefined;
  return { type: 'logical', database, plugin };
}

function checkPermanentSlots(p: Problems, kp: string, v: unknown): Record<string, Record<string, string>> | undefined {
  if (!isObj(v)) {
    p.error(kp, `expected a mapping of slot names to definitions${got(kp, v)}`);
    return undefined;
  }
  const out: Record<string, Record<string, string>> = {};
  let ok = true;
  for (const [name, def] of Object.entries(v)) {
    const sp = join(kp, name);
    if (!SLOT_NAME_RE.test(name)) {
      p.error(sp, `not a valid slot name: ${SLOT_NAME_RULE}`);
      ok = false;
      continue;
    }
    const slot = checkSlot(p, sp, def);
    if (slot) out[name] = slot;
    else ok = false;
  }
  return ok ? out : undefined;
}

function checkIgnoreSlots(p: Problems, kp: string, v: unknown): Array<Record<string, string>> | undefined {
  if (!Array.isArray(v)) {
    p.error(kp, `expected a list of matchers ({name, type, database, plugin})${got(kp, v)}`);
    return undefined;
  }
  const out: Array<Record<string, string>> = [];
  let ok = true;
  v.forEach((m, i) => {
    const ip = `${kp}[${i}]`;
    if (!isObj(m) || Object.keys(m).length === 0) {
      p.error(ip, `expected a mapping with at least one of name, type, database, plugin${got(ip, m)}`);
      ok = false;
      return;
    }
    const matcher: Record<string, string> = {};
    for (const [key, value] of Object.entries(m)) {
      const mp = join(ip, key);
      if (key === 'name') {
        if (typeof value !== 'string' || !SLOT_NAME_RE.test(value)) {
          p.error(mp, `not a valid slot name: ${SLOT_NAME_RULE}${got(mp, value)}`);
          ok = false;
        } else matcher['name'] = value;
      } else if (key === 'type') {
        const t = slotType(p, mp, value);
        if (t) matcher['type'] = t;
        else ok = false;
      } else if (key === 'database' || key === 'plugin') {
        const id = identifier(p, mp, value);
        if (id !== undefined) matcher[key] = id;
        else ok = false;
      } else {
        p.error(mp, 'unknown key (an ignore_slots matcher has name, type, database and plugin)');
        ok = false;
      }
    }
    out.push(matcher);
  });
  return ok ? out : undefined;
}

/**
 * Checks the slot keys of a dynamic configuration; returns the ones to keep, normalised. More than
 * one of Patroni's three names for the permanent slots is refused: Patroni silently reads only one.
 */
export function checkSlotKeys(p: Problems, raw: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const given = PERMANENT_SLOT_KEYS.filter((k) => raw[k] !== undefined && raw[k] !== null);
  if (given.length > 1) {
    p.error(join(path, given[0] as string), `${given.join(' and ')} both define permanent slots; keep only slots`);
  }
  for (const key of given) {
    const slots = checkPermanentSlots(p, join(path, key), raw[key]);
    if (slots) out[key] = slots;
  }
  const ignore = raw['ignore_slots'];
  if (ignore !== undefined && ignore !== null) {
    const matchers = checkIgnoreSlots(p, join(path, 'ignore_slots'), ignore);
    if (matchers) out['ignore_slots'] = matchers;
  }
  return out;
}
