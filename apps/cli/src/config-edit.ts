/**
 * Pure helpers of `keelctl edit-config`: -s/-p pairs, --apply files, and the JSON merge patch
 * (RFC 7386) sent as PATCH /config.
 */

import { parseYamlValue } from './render/yaml.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export class InvalidSetting extends Error {
  override readonly name = 'InvalidSetting';
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** `-p max_connections=200` is `-s postgresql.parameters.max_connections=200`. */
export function pgPairs(pairs: readonly string[]): string[] {
  return pairs.map((p) => `postgresql.parameters.${p.trimStart()}`);
}

/**
 * patronictl's apply_config_changes: each "dotted.key=value" sets a value parsed as YAML (PyYAML rules:
 * 30 is a number, on/true a boolean, an empty value or null removes the key). Below
 * postgresql.parameters the rest of the key is one GUC name, dots included (pg_stat_statements.max).
 * Mappings emptied by a removal are removed too.
 */
export function applySetPairs(data: JsonObject, pairs: readonly string[]): JsonObject {
  const out = clone(data);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (!pair || eq < 0) throw new InvalidSetting(`invalid setting ${JSON.stringify(pair)}: expected key=value`);
    const keyPath = pair.slice(0, eq).trim();
    if (!keyPath || keyPath.split('.').some((k) => k === '')) throw new InvalidSetting(`invalid setting ${JSON.stringify(pair)}: empty key`);
    let value: unknown;
    try {
      value = parseYamlValue(pair.slice(eq + 1));
    } catch (e) {
      throw new InvalidSetting(`invalid setting ${JSON.stringify(pair)}: the value is not valid YAML (${(e as Error).message})`);
    }
    setPath(out, keyPath.split('.'), value as Json, []);
  }
  return out;
}

function setPath(config: JsonObject, path: string[], value: Json, prefix: string[]): void {
  if (prefix.length === 2 && prefix[0] === 'postgresql' && prefix[1] === 'parameters') path = [path.join('.')];
  const key = path[0]!;
  if (path.length === 1) {
    if (value === null) delete config[key];
    else config[key] = value;
    return;
  }
  const child = config[key];
  const obj: JsonObject = isObject(child) ? child : {};
  config[key] = obj;
  setPath(obj, path.slice(1), value, [...prefix, key]);
  if (Object.keys(obj).length === 0) delete config[key];
}

/** RFC 7386: `patch` applied to `target` (null removes a key; objects merge; anything else replaces). */
export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k] ?? null, v);
  }
  return out;
}

/** The smallest RFC 7386 patch that turns `before` into `after` (keys that vanished become null). */
export function mergePatch(before: JsonObject, after: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const k of Object.keys(before)) if (!(k in after)) patch[k] = null;
  for (const [k, v] of Object.entries(after)) {
    const old = before[k];
    if (old !== undefined && deepEqual(old, v)) continue;
    patch[k] = isObject(old) && isObject(v) ? mergePatch(old, v) : clone(v);
  }
  return patch;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}
