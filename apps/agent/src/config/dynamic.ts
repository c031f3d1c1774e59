/**
 * Validation of the dynamic configuration (bootstrap.dcs in the YAML; the same rules fit the DCS /config key
 * and PATCH /config bodies, hence the export).
 */

import { ZDynamicConfig, type TDynamicConfig } from '@keel/protocol';
import { DERIVED_PG_PARAMETERS, DYNAMIC_KEYS, LOCAL_ONLY_POSTGRESQL_KEYS, lookupKey } from './patroni-keys.ts';
import { got, join, Problems } from './problems.ts';
import { bool, checkKeys, int, isObj, section, strList, type Obj } from './read.ts';

/** String values Patroni's parse_bool / validate_synchronous_mode accept for synchronous_mode. */
const SYNC_MODE_STRINGS = ['quorum', 'on', 'off', 'true', 'false', 'yes', 'no', '1', '0'];

/** Patroni's defaults for the timing keys (config.py __DEFAULT_CONFIG) and the other dynamic keys Keel uses. */
export const DYNAMIC_DEFAULTS = {
  ttl: 30,
  loop_wait: 10,
  retry_timeout: 10,
  maximum_lag_on_failover: 1048576,
  primary_start_timeout: 300,
  check_timeline: false,
  use_pg_rewind: false,
  use_slots: true,
} as const;

/**
 * Keel's minimums. Patroni insists on ttl >= 20 and retry_timeout >= 3; Keel deliberately allows shorter
 * timings (fast-failover test clusters); the loop_wait + 2*retry_timeout <= ttl rule still holds.
 */
export const DYNAMIC_MINIMUMS = { ttl: 5, loop_wait: 1, retry_timeout: 1 } as const;

/** Top-level dynamic keys Keel implements. Other Patroni dynamic keys are kept (for /config) with a warning. */
export const KEEL_DYNAMIC_KEYS = [
  'ttl',
  'loop_wait',
  'retry_timeout',
  'maximum_lag_on_failover',
  'primary_start_timeout',
  'master_start_timeout',
  'check_timeline',
  'synchronous_mode',
  'synchronous_mode_strict',
  'synchronous_node_count',
  'postgresql',
] as const;

/** dynamic postgresql keys Keel implements. */
export const KEEL_DYNAMIC_POSTGRESQL_KEYS = ['use_pg_rewind', 'use_slots', 'parameters', 'pg_hba'] as const;

export interface EffectiveDynamicConfig {
  ttl: number;
  loop_wait: number;
  retry_timeout: number;
  maximum_lag_on_failover: number;
  primary_start_timeout: number;
  check_timeline: boolean;
  use_pg_rewind: boolean;
  use_slots: boolean;
}

/** The values the HA loop runs with for a given dynamic configuration, Patroni's defaults filled in. */
export function withDynamicDefaults(dcs: TDynamicConfig): EffectiveDynamicConfig {
  const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  return {
    ttl: num(dcs.ttl, DYNAMIC_DEFAULTS.ttl),
    loop_wait: num(dcs.loop_wait, DYNAMIC_DEFAULTS.loop_wait),
    retry_timeout: num(dcs.retry_timeout, DYNAMIC_DEFAULTS.retry_timeout),
    maximum_lag_on_failover: num(dcs.maximum_lag_on_failover, DYNAMIC_DEFAULTS.maximum_lag_on_failover),
    // Patroni: primary_start_timeout wins; master_start_timeout is the old name
    primary_start_timeout: num(dcs.primary_start_timeout ?? dcs['master_start_timeout'], DYNAMIC_DEFAULTS.primary_start_timeout),
    check_timeline: typeof dcs.check_timeline === 'boolean' ? dcs.check_timeline : DYNAMIC_DEFAULTS.check_timeline,
    use_pg_rewind: dcs.postgresql?.use_pg_rewind ?? DYNAMIC_DEFAULTS.use_pg_rewind,
    use_slots: dcs.postgresql?.use_slots ?? DYNAMIC_DEFAULTS.use_slots,
  };
}

/** A map of scalar GUC values. */
export function readParameters(
  p: Problems,
  parent: Obj,
  path: string,
  key: string,
): Record<string, string | number | boolean> | undefined {
  const params = section(p, parent, path, key);
  if (!params) return undefined;
  const kp = join(path, key);
  const out: Record<string, string | number | boolean> = {};
  for (const [name, v] of Object.entries(params)) {
    const pp = join(kp, name);
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[name] = v;
    else p.error(pp, `expected a string, number or boolean${got(pp, v)}`);
  }
  return out;
}

/**
 * Checks a dynamic configuration and returns it normalized (integers as numbers), with unimplemented Patroni
 * keys kept. `path` prefixes every problem ("bootstrap.dcs" for the YAML, "" for a /config body).
 */
export function checkDynamicConfig(p: Problems, raw: unknown, path: string): TDynamicConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isObj(raw)) {
    p.error(path, `expected a mapping${got(path, raw)}`);
    return {};
  }
  const out: Record<string, unknown> = {};
  // unknown keys are errors; known-but-unimplemented keys are copied through for /config, with a warning
  checkKeys(p, raw, path, KEEL_DYNAMIC_KEYS, DYNAMIC_KEYS);
  for (const [k, v] of Object.entries(raw)) {
    if (!(KEEL_DYNAMIC_KEYS as readonly string[]).includes(k) && Object.hasOwn(DYNAMIC_KEYS, k)) out[k] = v;
  }

  const ttl = int(p, raw, path, 'ttl', { min: DYNAMIC_MINIMUMS.ttl });
  const loopWait = int(p, raw, path, 'loop_wait', { min: DYNAMIC_MINIMUMS.loop_wait });
  const retryTimeout = int(p, raw, path, 'retry_timeout', { min: DYNAMIC_MINIMUMS.retry_timeout });
  const lag = int(p, raw, path, 'maximum_lag_on_failover', { min: 0 });
  const pst = int(p, raw, path, 'primary_start_timeout', { min: 0 });
  const mst = int(p, raw, path, 'master_start_timeout', { min: 0 });
  const checkTimeline = bool(p, raw, path, 'check_timeline');
  if (ttl !== undefined) out['ttl'] = ttl;
  if (loopWait !== undefined) out['loop_wait'] = loopWait;
  if (retryTimeout !== undefined) out['retry_timeout'] = retryTimeout;
  if (lag !== undefined) out['maximum_lag_on_failover'] = lag;
  if (pst !== undefined) out['primary_start_timeout'] = pst;
  if (mst !== undefined) out['master_start_timeout'] = mst;
  if (pst !== undefined && mst !== undefined && pst !== mst) {
    p.warn(join(path, 'master_start_timeout'), 'ignored: primary_start_timeout is also set and wins (as in Patroni)');
  }
  if (checkTimeline !== undefined) out['check_timeline'] = checkTimeline;
  // Patroni's validate_synchronous_mode: a boolean (on/off are YAML booleans) or "quorum" (or a bool-like string)
  // Keel implements the priority mode (on); quorum mode is kept for /config but not implemented.
  const sync = raw['synchronous_mode'];
  if (sync !== undefined && sync !== null) {
    const kp = join(path, 'synchronous_mode');
    if (typeof sync !== 'boolean' && (typeof sync !== 'string' || !SYNC_MODE_STRINGS.includes(sync.trim().toLowerCase()))) {
      p.error(kp, `expected on, off or quorum${got(kp, sync)}`);
    } else {
      out['synchronous_mode'] = sync;
      if (typeof sync === 'string' && sync.trim().toLowerCase() === 'quorum') {
        p.warn(kp, 'quorum: accepted but not implemented by Keel yet; replication stays asynchronous');
      }
    }
  }
  const strict = bool(p, raw, path, 'synchronous_mode_strict');
  if (strict !== undefined) out['synchronous_mode_strict'] = strict;
  const nodeCount = int(p, raw, path, 'synchronous_node_count', { min: 1 });
  if (nodeCount !== undefined) out['synchronous_node_count'] = nodeCount;

  // the timing rule, with Patroni's defaults for whatever is not set
  // only when all three are valid or absent: a bad value already has its own error
  const timingValid = ([['ttl', ttl], ['loop_wait', loopWait], ['retry_timeout', retryTimeout]] as const).every(
    ([key, value]) => value !== undefined || raw[key] === undefined || raw[key] === null,
  );
  if (timingValid) {
    const t = ttl ?? DYNAMIC_DEFAULTS.ttl;
    const lw = loopWait ?? DYNAMIC_DEFAULTS.loop_wait;
    const rt = retryTimeout ?? DYNAMIC_DEFAULTS.retry_timeout;
    if (lw + 2 * rt > t) {
      p.error(join(path, 'ttl'), `loop_wait (${lw}) + 2*retry_timeout (${rt}) = ${lw + 2 * rt} must be <= ttl (${t})`);
    }
  }

  const pg = checkDynamicPostgresql(p, raw, path);
  if (pg) out['postgresql'] = pg;

  // the shared schema of /config: catches wrong types among the pass-through keys (synchronous_mode: 5)
  const parsed = ZDynamicConfig.safeParse(out);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const sub = issue.path.map(String).join('.');
      p.error(sub ? join(path, sub) : path, issue.message);
    }
    return out as TDynamicConfig;
  }
  return parsed.data;
}

function checkDynamicPostgresql(p: Problems, raw: Obj, path: string): Record<string, unknown> | undefined {
  const pgPath = join(path, 'postgresql');
  const pg = section(p, raw, path, 'postgresql');
  if (!pg) return undefined;
  const out: Record<string, unknown> = {};
  const dynPg = lookupKey(DYNAMIC_KEYS, ['postgresql']);
  const localOnly = Object.fromEntries(
    LOCAL_ONLY_POSTGRESQL_KEYS.map((k) => [
      k,
      (kp: string) => p.warn(kp, 'a local setting, ignored in the dynamic configuration (as in Patroni); set it in postgresql'),
    ]),
  );
  checkKeys(p, pg, pgPath, KEEL_DYNAMIC_POSTGRESQL_KEYS, dynPg, { special: localOnly });
  for (const [k, v] of Object.entries(pg)) {
    if (!(KEEL_DYNAMIC_POSTGRESQL_KEYS as readonly string[]).includes(k) && typeof dynPg === 'object' && Object.hasOwn(dynPg, k)) {
      out[k] = v;
    }
  }
  const rewind = bool(p, pg, pgPath, 'use_pg_rewind');
  const slots = bool(p, pg, pgPath, 'use_slots');
  if (rewind !== undefined) out['use_pg_rewind'] = rewind;
  if (slots !== undefined) out['use_slots'] = slots;
  const params = readParameters(p, pg, pgPath, 'parameters');
  if (params) {
    for (const name of Object.keys(params)) {
      if ((DERIVED_PG_PARAMETERS as readonly string[]).includes(name.toLowerCase())) {
        p.warn(join(join(pgPath, 'parameters'), name), 'ignored: Keel derives it from postgresql.listen and scope (as Patroni does)');
        delete params[name];
      }
    }
    out['parameters'] = params;
  }
  const hba = strList(p, pg, pgPath, 'pg_hba');
  if (hba) out['pg_hba'] = hba;
  return out;
}

/** Standalone form for PATCH /config and DCS reads: problems as strings instead of a collector. */
export function validateDynamicConfig(
  raw: unknown,
  path = '',
): { config: TDynamicConfig; errors: string[]; warnings: string[] } {
  const p = new Problems();
  const config = checkDynamicConfig(p, raw, path);
  return { config, errors: [...p.errors], warnings: [...p.warnings] };
}
