/**
 * The one check every dynamic configuration an agent adopts goes through: PATCH and PUT /config
 * (checkConfigUpdate: all or nothing, the normalised document is what gets written) and the /config
 * key read from etcd (adoptDynamicConfig: a bad value is skipped with a reason and the last good
 * value stays, so a bad write by patronictl or etcdctl never stops following, rewinding or cloning).
 */

import { isDeepStrictEqual } from 'node:util';
import type { TDynamicConfig } from '@keel/protocol';
import { validateParameters, type PgSetting } from '../ops/pg-parameters.ts';
import { validateDynamicConfig } from './dynamic.ts';
import { show } from './problems.ts';

export interface ConfigCheckContext {
  /** postgresql.allow_from_dcs of this member's YAML. */
  allowFromDcs: readonly string[];
  /** pg_settings of the running server; null when PostgreSQL is not running here (then only the grammar is checked). */
  pgSettings: ReadonlyMap<string, PgSetting> | null;
  /**
   * The /config a PATCH merges into: a problem in a value the request leaves as it was is not the
   * request's fault (a PATCH of pause must work even when /config holds something Keel skips); such
   * values are written back unchanged.
   */
  current?: unknown;
}

export type ConfigCheck =
  | { ok: true; config: TDynamicConfig; warnings: string[]; kept: string[] }
  | { ok: false; status: 400 | 503; problems: string[] };

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A problem's key path ("postgresql.parameters.auto_explain.log_min_duration", "postgresql.pg_hba[2]") as keys. */
export function keysOf(path: string): string[] {
  if (path === '' || path === '(root)') return [];
  for (const map of ['postgresql.parameters.', 'postgresql.recovery_conf.']) {
    if (path.startsWith(map)) return [...map.slice(0, -1).split('.'), path.slice(map.length)];
  }
  return path.replace(/\[\d+\]$/, '').split('.');
}

function getAt(doc: unknown, keys: readonly string[]): unknown {
  let cur = doc;
  for (const k of keys) {
    if (!isObj(cur) || !Object.hasOwn(cur, k)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** A copy of `doc` with `keys` set to `value` (undefined deletes it). */
function setAt(doc: Json, keys: readonly string[], value: unknown): Json {
  if (keys.length === 0) return isObj(value) ? { ...value } : {};
  const [k, ...rest] = keys as [string, ...string[]];
  const out = { ...doc };
  if (rest.length === 0) {
    if (value === undefined) delete out[k];
    else out[k] = value;
    return out;
  }
  const child = isObj(out[k]) ? (out[k] as Json) : {};
  out[k] = setAt(child, rest, value);
  return out;
}

/** Every problem of a candidate document, with its key path: Keel's schema and rules, then pg_settings. */
function problemsOf(candidate: unknown, ctx: ConfigCheckContext, paramsToCheck: (name: string) => boolean) {
  const v = validateDynamicConfig(candidate, '', { allowFromDcs: ctx.allowFromDcs });
  const problems = v.problems.map((x) => ({ keys: keysOf(x.path), line: `${x.path || '(root)'}: ${x.reason}` }));
  const params = v.config.postgresql?.parameters ?? {};
  const checked = Object.fromEntries(Object.entries(params).filter(([name]) => paramsToCheck(name)));
  let needsServer = false;
  if (Object.keys(checked).length > 0) {
    if (ctx.pgSettings) {
      for (const line of validateParameters(checked, ctx.pgSettings)) {
        const path = line.slice(0, line.indexOf(': '));
        problems.push({ keys: keysOf(path), line });
      }
    } else needsServer = true;
  }
  return { config: v.config, warnings: v.warnings, problems, needsServer };
}

/**
 * PATCH/PUT /config: the whole candidate (for PATCH, the merge of the request into ctx.current) is
 * checked; any problem the request causes refuses it (400, nothing written). The result is the
 * normalised document to write. Parameter values are checked against pg_settings only for the
 * parameters the request sets; without a running server that is a 503 naming the reason.
 */
export function checkConfigUpdate(candidate: unknown, ctx: ConfigCheckContext): ConfigCheck {
  const changedParam = (name: string): boolean =>
    ctx.current === undefined || !isDeepStrictEqual(getAt(candidate, ['postgresql', 'parameters', name]), getAt(ctx.current, ['postgresql', 'parameters', name]));
  const r = problemsOf(candidate, ctx, changedParam);
  const inherited = (keys: readonly string[]): boolean =>
    ctx.current !== undefined && keys.length > 0 && getAt(ctx.current, keys) !== undefined && isDeepStrictEqual(getAt(candidate, keys), getAt(ctx.current, keys));
  const own = r.problems.filter((p) => !inherited(p.keys));
  if (own.length > 0) return { ok: false, status: 400, problems: own.map((p) => p.line) };
  if (r.needsServer) {
    return {
      ok: false,
      status: 503,
      problems: ['cannot validate PostgreSQL parameters: PostgreSQL is not running on this member; send the request to a running member'],
    };
  }
  // values the request did not touch are written back as they were, even those Keel skips
  let config: Json = r.config as Json;
  const kept: string[] = [];
  for (const p of r.problems) {
    config = setAt(config, p.keys, getAt(candidate, p.keys));
    kept.push(`${p.line} (left as it was; agents skip it)`);
  }
  return { ok: true, config: config as TDynamicConfig, warnings: r.warnings, kept };
}

/**
 * A /config read from the DCS: each bad value is replaced by the last good one (or left out), with a
 * reason per skipped key. Never fails: at worst the last good configuration stays whole.
 */
export function adoptDynamicConfig(
  raw: unknown,
  lastGood: TDynamicConfig | null,
  ctx: Omit<ConfigCheckContext, 'current'>,
): { config: TDynamicConfig; skipped: string[] } {
  const skipped: string[] = [];
  if (!isObj(raw)) return { config: lastGood ?? {}, skipped: [`not a mapping (${show(raw)}); keeping the last good configuration whole`] };
  let doc: unknown = raw;
  for (let round = 0; round < 4; round++) {
    const r = problemsOf(doc, { ...ctx }, () => true);
    if (r.problems.length === 0) return { config: r.config, skipped };
    for (const p of r.problems) {
      // standby_cluster is one setting: half of it (a host without its port) must never be acted on
      const keys = p.keys[0] === 'standby_cluster' ? ['standby_cluster'] : p.keys;
      const previous = getAt(lastGood, keys);
      skipped.push(`${p.line}; ${previous === undefined ? 'left out' : `keeping the last good value ${JSON.stringify(previous)}`}`);
      doc = setAt(doc as Json, keys, previous);
    }
  }
  skipped.push('the configuration could not be repaired key by key; keeping the last good configuration whole');
  return { config: lastGood ?? {}, skipped };
}
