/**
 * Validation of the dynamic configuration: bootstrap.dcs in the YAML, the DCS /config key and
 * PATCH/PUT /config bodies all go through checkDynamicConfig.
 */

import { adjustTiming, DYNAMIC_NUMBER_LIMITS, KEEL_MINIMUMS, PATRONI_DEFAULTS, type DynamicNumberKey } from '@keel/ha-core';
import { parsePatroniBool, ZDynamicConfig, type TDynamicConfig } from '@keel/protocol';
import { LOCAL_ONLY_COMMAND_KEYS, notFromDcs, parameterSyntaxProblem, privilegedKind } from './parameters.ts';
import { DERIVED_PG_PARAMETERS, DYNAMIC_KEYS, LOCAL_ONLY_POSTGRESQL_KEYS, lookupKey } from './patroni-keys.ts';
import { got, join, Problems } from './problems.ts';
import { bool, checkKeys, isObj, section, strList, type Obj } from './read.ts';
import { checkSlotKeys, SLOT_KEYS } from './slots.ts';

/** String values Patroni's parse_bool / validate_synchronous_mode accept for synchronous_mode. */
const SYNC_MODE_STRINGS = ['quorum', 'on', 'off', 'true', 'false', 'yes', 'no', '1', '0'];

/** Patroni's defaults for the timing keys (config.py __DEFAULT_CONFIG) and the other dynamic keys Keel uses. */
export const DYNAMIC_DEFAULTS = {
  ttl: PATRONI_DEFAULTS.ttl,
  loop_wait: PATRONI_DEFAULTS.loopWait,
  retry_timeout: PATRONI_DEFAULTS.retryTimeout,
  maximum_lag_on_failover: PATRONI_DEFAULTS.maximumLagOnFailover,
  primary_start_timeout: PATRONI_DEFAULTS.primaryStartTimeout,
  check_timeline: false,
  use_pg_rewind: false,
  use_slots: true,
} as const;

/** Keel's floors (ha-core): a smaller value is raised to them with a warning, as Patroni does. */
export const DYNAMIC_MINIMUMS = KEEL_MINIMUMS;

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
  'maximum_lag_on_syncnode',
  'failsafe_mode',
  'pause',
  'standby_cluster',
  'postgresql',
  ...SLOT_KEYS,
] as const;

/** dynamic postgresql keys Keel implements. */
export const KEEL_DYNAMIC_POSTGRESQL_KEYS = ['use_pg_rewind', 'use_slots', 'parameters', 'pg_hba'] as const;

/** What a dynamic configuration may take from the DCS, decided by the local YAML. */
export interface DynamicContext {
  /** postgresql.allow_from_dcs: privileged parameters the local YAML lets the DCS set. */
  allowFromDcs: readonly string[];
}

export const NO_DCS_PRIVILEGES: DynamicContext = Object.freeze({ allowFromDcs: [] });

/**
 * Patroni keys Keel refuses until the issue that implements them lands. Each says when a value means
 * "off" (accepted) and why running without the feature would be wrong ("Keel does not implement X
 * yet; remove it (...)"). Empty today: every dynamic key of Patroni 3.0 is implemented.
 */
const FAIL_CLOSED: Record<string, { off: (v: unknown) => boolean; message: string }> = {};

/** The values the HA loop runs with for a given dynamic configuration, Patroni's defaults filled in. */
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

/**
 * A map of scalar GUC values with names in PostgreSQL's grammar and values that fit on one line.
 * `privileged` (dynamic configurations only) refuses parameters that run commands, load code or
 * name files unless they are allowed.
 */
export function readParameters(
  p: Problems,
  parent: Obj,
  path: string,
  key: string,
  privileged?: DynamicContext,
): Record<string, string | number | boolean> | undefined {
  const params = section(p, parent, path, key);
  if (!params) return undefined;
  const kp = join(path, key);
  const out: Record<string, string | number | boolean> = {};
  for (const [name, v] of Object.entries(params)) {
    const pp = join(kp, name);
    if (v === null && privileged) continue; // a merge-patch removal that reached a full document: nothing to set
    const problem = parameterSyntaxProblem(name, v);
    if (problem) {
      p.error(pp, `${problem}${problem.startsWith('expected') ? got(pp, v) : ''}`);
      continue;
    }
    const kind = privileged ? privilegedKind(name, v) : null;
    if (kind && privileged && !privileged.allowFromDcs.includes(name.toLowerCase())) {
      p.error(pp, notFromDcs(kind, name));
      continue;
    }
    out[name] = v as string | number | boolean;
  }
  return out;
}

/** A numeric dynamic key: an integer (or a string of digits, as Patroni's parse_int) within its limits. */
function limited(p: Problems, raw: Obj, path: string, key: DynamicNumberKey): number | undefined {
  const kp = join(path, key);
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^\s*-?\d{1,16}\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    p.error(kp, `expected an integer${got(kp, v)}`);
    return undefined;
  }
  const { min, max } = DYNAMIC_NUMBER_LIMITS[key];
  if (n < min || n > max) {
    const bytes = key === 'maximum_lag_on_failover' || key === 'maximum_lag_on_syncnode';
    const why = n < min ? `must be >= ${min}` : `must be <= ${max}${bytes ? '' : ' (seconds; no timer may exceed 2^31-1 ms)'}`;
    p.error(kp, `${why}${got(kp, n)}`);
    return undefined;
  }
  return n;
}

/**
 * Checks a dynamic configuration and returns it normalised (numbers as numbers), with Patroni keys
 * Keel does not implement but can safely ignore kept. `path` prefixes every problem
 * ("bootstrap.dcs" for the YAML, "" for a /config body).
 */
export function checkDynamicConfig(p: Problems, raw: unknown, path: string, ctx: DynamicContext = NO_DCS_PRIVILEGES): TDynamicConfig {
  if (raw === undefined || raw === null) raw = {};
  if (!isObj(raw)) {
    p.error(path, `expected a mapping${got(path, raw)}`);
    return {};
  }
  const out: Record<string, unknown> = {};
  const failClosed = Object.fromEntries(
    Object.entries(FAIL_CLOSED).map(([key, rule]) => [
      key,
      (kp: string, v: unknown) => {
        if (!rule.off(v)) p.error(kp, rule.message);
        else if (v !== undefined && v !== null) out[key] = v;
      },
    ]),
  );
  // unknown keys are errors; known-but-unimplemented keys are copied through for /config, with a warning
  checkKeys(p, raw, path, KEEL_DYNAMIC_KEYS, DYNAMIC_KEYS, { special: failClosed });
  for (const [k, v] of Object.entries(raw)) {
    if (!(KEEL_DYNAMIC_KEYS as readonly string[]).includes(k) && !Object.hasOwn(FAIL_CLOSED, k) && Object.hasOwn(DYNAMIC_KEYS, k)) out[k] = v;
  }

  const numbers = [
    'ttl',
    'loop_wait',
    'retry_timeout',
    'maximum_lag_on_failover',
    'primary_start_timeout',
    'master_start_timeout',
    'synchronous_node_count',
    'maximum_lag_on_syncnode',
  ] as const;
  const n: Partial<Record<DynamicNumberKey, number>> = {};
  for (const key of numbers) {
    const v = limited(p, raw, path, key);
    if (v !== undefined) out[key] = n[key] = v;
  }
  if (n.primary_start_timeout !== undefined && n.master_start_timeout !== undefined && n.primary_start_timeout !== n.master_start_timeout) {
    p.warn(join(path, 'master_start_timeout'), 'ignored: primary_start_timeout is also set and wins (as in Patroni)');
  }
  const checkTimeline = bool(p, raw, path, 'check_timeline');
  if (checkTimeline !== undefined) out['check_timeline'] = checkTimeline;
  // pause: true pauses; null or false resumes (patronictl resume writes null)
  if (raw['pause'] !== undefined) {
    const kp = join(path, 'pause');
    const pause = raw['pause'] === null ? null : parsePatroniBool(raw['pause']);
    if (pause === undefined) p.error(kp, `expected true or false${got(kp, raw['pause'])}`);
    else out['pause'] = pause;
  }
  // Patroni's validate_synchronous_mode: a boolean (on/off are YAML booleans), a bool-like string, or "quorum"
  const sync = raw['synchronous_mode'];
  if (sync !== undefined && sync !== null) {
    const kp = join(path, 'synchronous_mode');
    if (typeof sync !== 'boolean' && (typeof sync !== 'string' || !SYNC_MODE_STRINGS.includes(sync.trim().toLowerCase()))) {
      p.error(kp, `expected on, off or quorum${got(kp, sync)}`);
    } else {
      out['synchronous_mode'] = sync;
    }
  }
  // failsafe_mode: a boolean (or Patroni's bool-like strings), written back as one
  const failsafeRaw = raw['failsafe_mode'];
  if (failsafeRaw !== undefined && failsafeRaw !== null) {
    const kp = join(path, 'failsafe_mode');
    const failsafe = parsePatroniBool(failsafeRaw);
    if (failsafe === undefined) p.error(kp, `expected true or false${got(kp, failsafeRaw)}`);
    else out['failsafe_mode'] = failsafe;
  }
  const strictRaw = raw['synchronous_mode_strict'];
  if (strictRaw !== undefined && strictRaw !== null) {
    const kp = join(path, 'synchronous_mode_strict');
    const strict = parsePatroniBool(strictRaw);
    if (strict === undefined) p.error(kp, `expected true or false${got(kp, strictRaw)}`);
    else out['synchronous_mode_strict'] = strict;
  }

  // the timing rule: adjusted like Patroni, with a warning saying how (Patroni's defaults for what is not set)
  const timing = adjustTiming({
    ttl: n.ttl ?? DYNAMIC_DEFAULTS.ttl,
    loop_wait: n.loop_wait ?? DYNAMIC_DEFAULTS.loop_wait,
    retry_timeout: n.retry_timeout ?? DYNAMIC_DEFAULTS.retry_timeout,
  });
  for (const note of timing.notes) p.warn(join(path, 'ttl'), `${note} (the configuration keeps the values as written)`);

  Object.assign(out, checkSlotKeys(p, raw, path));
  const standby = checkStandbyCluster(p, raw['standby_cluster'], join(path, 'standby_cluster'), ctx);
  if (standby !== undefined) out['standby_cluster'] = standby;

  const pg = checkDynamicPostgresql(p, raw, path, ctx);
  if (pg) out['postgresql'] = pg;

  // the shared schema of /config: catches wrong types among the pass-through keys
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

function checkDynamicPostgresql(p: Problems, raw: Obj, path: string, ctx: DynamicContext): Record<string, unknown> | undefined {
  const pgPath = join(path, 'postgresql');
  const pg = section(p, raw, path, 'postgresql');
  if (!pg) return undefined;
  const out: Record<string, unknown> = {};
  const dynPg = lookupKey(DYNAMIC_KEYS, ['postgresql']);
  const special: Record<string, (kp: string, v: unknown) => void> = Object.fromEntries(
    LOCAL_ONLY_POSTGRESQL_KEYS.map((k) => [
      k,
      (kp: string) => p.warn(kp, 'a local setting, ignored in the dynamic configuration (as in Patroni); set it in postgresql'),
    ]),
  );
  for (const k of LOCAL_ONLY_COMMAND_KEYS) {
    special[k] = (kp) => p.error(kp, `runs commands or names files; Keel takes it only from the local YAML (postgresql.${k}), never from the DCS`);
  }
  special['create_replica_methods'] = (kp, v) => {
    if (!isBasebackupOnly(v)) p.error(kp, 'chooses commands to run; Keel takes it only from the local YAML (postgresql.create_replica_methods and its method sections), never from the DCS');
  };
  special['recovery_conf'] = (kp, v) => {
    if (!isObj(v)) return p.error(kp, `expected a mapping${got(kp, v)}`);
    for (const [name, value] of Object.entries(v)) {
      const kind = privilegedKind(name, value);
      if (kind && !ctx.allowFromDcs.includes(name.toLowerCase())) p.error(join(kp, name), notFromDcs(kind, name));
    }
    p.warn(kp, 'accepted but not implemented by Keel yet; ignored');
    out['recovery_conf'] = v;
  };
  checkKeys(p, pg, pgPath, KEEL_DYNAMIC_POSTGRESQL_KEYS, dynPg, { special });
  for (const [k, v] of Object.entries(pg)) {
    if (!(KEEL_DYNAMIC_POSTGRESQL_KEYS as readonly string[]).includes(k) && !Object.hasOwn(special, k) && typeof dynPg === 'object' && Object.hasOwn(dynPg, k)) {
      out[k] = v;
    }
  }
  const rewind = bool(p, pg, pgPath, 'use_pg_rewind');
  const slots = bool(p, pg, pgPath, 'use_slots');
  if (rewind !== undefined) out['use_pg_rewind'] = rewind;
  if (slots !== undefined) out['use_slots'] = slots;
  const params = readParameters(p, pg, pgPath, 'parameters', ctx);
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
  if (hba) {
    hba.forEach((line, i) => {
      if (/[\r\n\0]/.test(line)) p.error(`${join(pgPath, 'pg_hba')}[${i}]`, 'must not contain line breaks or NUL characters');
    });
    out['pg_hba'] = hba;
  }
  return out;
}

const STANDBY_CLUSTER_KEYS = [
  'host',
  'port',
  'primary_slot_name',
  'restore_command',
  'archive_cleanup_command',
  'recovery_min_apply_delay',
  'create_replica_methods',
] as const;
/** A host name, an IPv4 address or an IPv6 address (one host: what the standby leader streams from). */
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]+\]?)$/;
/** PostgreSQL's replication slot names. */
const SLOT_RE = /^[a-z0-9_]{1,63}$/;
/** recovery_min_apply_delay: milliseconds, or a number with a time unit. */
const DELAY_RE = /^\s*\d{1,10}\s*(?:ms|s|min|h|d)?\s*$/;
const METHOD_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * standby_cluster (Patroni's keys): the cluster follows another site. It must say where from (a host,
 * or a restore_command for the archive); the commands follow the DCS privilege rule (a command from
 * the DCS runs only when postgresql.allow_from_dcs names it); create_replica_methods names methods of
 * the local postgresql.create_replica_methods (or basebackup). undefined: absent or null (removed);
 * an empty mapping is kept and means "not a standby cluster", as in Patroni.
 */
function checkStandbyCluster(p: Problems, v: unknown, kp: string, ctx: DynamicContext): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) {
    p.error(kp, `expected a mapping${got(kp, v)}`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  checkKeys(p, v, kp, STANDBY_CLUSTER_KEYS, lookupKey(DYNAMIC_KEYS, ['standby_cluster']));
  const line = (key: string): string | undefined => {
    const s = v[key];
    if (s === undefined || s === null) return undefined;
    const sp = join(kp, key);
    if (typeof s !== 'string' || s.trim() === '') return void p.error(sp, `expected a non-empty string${got(sp, s)}`);
    if (/[\r\n\0]/.test(s)) return void p.error(sp, 'must not contain line breaks or NUL characters');
    return s;
  };
  const host = line('host');
  if (host !== undefined) {
    if (!HOST_RE.test(host.trim())) p.error(join(kp, 'host'), `expected one host name or IP address${got(join(kp, 'host'), host)}`);
    else out['host'] = host.trim();
  }
  const portRaw = v['port'];
  if (portRaw !== undefined && portRaw !== null) {
    const pp = join(kp, 'port');
    const port = typeof portRaw === 'string' && /^\s*\d{1,5}\s*$/.test(portRaw) ? Number(portRaw) : portRaw;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) p.error(pp, `expected a port number from 1 to 65535${got(pp, portRaw)}`);
    else out['port'] = port;
  }
  const slot = line('primary_slot_name');
  if (slot !== undefined) {
    if (!SLOT_RE.test(slot)) p.error(join(kp, 'primary_slot_name'), `expected a replication slot name (lower-case letters, digits and underscores, at most 63)${got(join(kp, 'primary_slot_name'), slot)}`);
    else out['primary_slot_name'] = slot;
  }
  for (const key of ['restore_command', 'archive_cleanup_command'] as const) {
    const cmd = line(key);
    if (cmd === undefined) continue;
    if (!ctx.allowFromDcs.includes(key)) {
      p.error(join(kp, key), `runs a command; Keel takes it from the DCS only when postgresql.allow_from_dcs lists "${key}" (or set it in the local postgresql.recovery_conf)`);
    } else out[key] = cmd;
  }
  const delay = v['recovery_min_apply_delay'];
  if (delay !== undefined && delay !== null) {
    const dp = join(kp, 'recovery_min_apply_delay');
    if ((typeof delay === 'number' && Number.isInteger(delay) && delay >= 0) || (typeof delay === 'string' && DELAY_RE.test(delay))) {
      out['recovery_min_apply_delay'] = typeof delay === 'string' ? delay.trim() : delay;
    } else p.error(dp, `expected milliseconds or a time such as 5min${got(dp, delay)}`);
  }
  const methods = v['create_replica_methods'];
  if (methods !== undefined && methods !== null) {
    const mp = join(kp, 'create_replica_methods');
    const list = typeof methods === 'string' ? methods.split(',').map((s) => s.trim()) : methods;
    if (!Array.isArray(list) || list.length === 0 || !list.every((m) => typeof m === 'string' && METHOD_RE.test(m))) {
      p.error(mp, `expected a list of replica creation method names${got(mp, methods)}`);
    } else out['create_replica_methods'] = list;
  }
  const keys = Object.keys(v).filter((k) => v[k] !== null && v[k] !== undefined);
  if (keys.length > 0 && v['host'] == null && v['restore_command'] == null) {
    p.error(kp, 'needs a host (the other site to stream from) or a restore_command (to restore from its archive)');
  }
  return out;
}

/** create_replica_methods that mean what Keel does anyway: [basebackup]. */
export function isBasebackupOnly(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  return Array.isArray(list) && list.length > 0 && list.every((m) => m === 'basebackup');
}

/** Standalone form: problems as strings instead of a collector. */
export function validateDynamicConfig(
  raw: unknown,
  path = '',
  ctx: DynamicContext = NO_DCS_PRIVILEGES,
): { config: TDynamicConfig; errors: string[]; warnings: string[]; problems: ReadonlyArray<{ path: string; reason: string }> } {
  const p = new Problems();
  const config = checkDynamicConfig(p, raw, path, ctx);
  return { config, errors: [...p.errors], warnings: [...p.warnings], problems: [...p.items] };
}
