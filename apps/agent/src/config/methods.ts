/**
 * Replica creation methods (postgresql.create_replica_methods + one section per method) and the custom
 * bootstrap method (bootstrap.method + its section), as Patroni reads them. Both name commands Keel
 * runs, so they are read only here, from the local YAML: the dynamic configuration refuses
 * create_replica_methods other than [basebackup] and has no place for method sections (dynamic.ts).
 */

import { split } from 'shlex';
import { parsePatroniBool } from '@keel/protocol';
import { readParameters } from './dynamic.ts';
import { POSTGRESQL_KEYS } from './patroni-keys.ts';
import { got, join, type Problems } from './problems.ts';
import { isObj, type Obj } from './read.ts';
import type { BootstrapMethod, CommandMethod, GucScalar, ReplicaMethod } from './types.ts';

/** Keys of a replica method section that steer Keel and are never passed to the command. */
const REPLICA_SPECIAL = ['command', 'keep_data', 'no_params', 'no_leader', 'no_master'];
/** Keys of a bootstrap method section that are never passed (Patroni's reserved_args). */
const BOOTSTRAP_SPECIAL = ['command', 'no_params', 'keep_existing_recovery_conf', 'recovery_conf', 'scope', 'datadir'];
/** Keel's own arguments: a user option of the same name would pass it twice. */
const REPLICA_OWN_ARGS = ['scope', 'role', 'datadir', 'connstring'];

const OPTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const METHOD_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** A value as Python's str() prints it (Patroni formats --name=value that way): True, False, 5. */
function pythonStr(v: GucScalar): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return String(v);
}

function flag(p: Problems, obj: Obj, path: string, key: string): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return false;
  // Patroni tests these for truth: no_leader: 1 and keep_data: True both count
  if (typeof v === 'number') return v !== 0;
  const b = parsePatroniBool(v);
  if (b === undefined) p.error(join(path, key), `expected true or false${got(join(path, key), v)}`);
  return b ?? false;
}

/** A command line from the local YAML, split as Python's shlex.split does; `fallback` when absent (null: required). */
export function readCommand(p: Problems, path: string, v: unknown, fallback: string | null): string[] {
  const kp = join(path, 'command');
  if (v === undefined || v === null) {
    if (fallback === null) p.error(kp, 'required');
    return fallback === null ? [] : [fallback];
  }
  if (typeof v !== 'string' || v.trim() === '') {
    p.error(kp, `expected a command line${got(kp, v)}`);
    return [];
  }
  if (/[\r\n\0]/.test(v)) {
    p.error(kp, 'must not contain line breaks or NUL characters');
    return [];
  }
  try {
    const argv = split(v);
    if (argv.length === 0) p.error(kp, `expected a command line${got(kp, v)}`);
    return argv;
  } catch (e) {
    p.error(kp, `cannot be split into arguments (${(e as Error).message})${got(kp, v)}`);
    return [];
  }
}

function readOptions(p: Problems, section: Obj, path: string, special: readonly string[], reserved: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(section)) {
    if (special.includes(k)) continue;
    const kp = join(path, k);
    if (reserved.includes(k)) {
      p.error(kp, `Keel passes --${k} itself; remove it (or set no_params and pass what the command needs in command)`);
      continue;
    }
    if (!OPTION_NAME.test(k)) {
      p.error(kp, 'not a usable option name (letters, digits, "_", "-" and "." only)');
      continue;
    }
    if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
      p.error(kp, `expected a string, number or boolean (passed as --${k}=value)${got(kp, v)}`);
      continue;
    }
    if (typeof v === 'string' && /[\r\n\0]/.test(v)) {
      p.error(kp, 'must not contain line breaks or NUL characters');
      continue;
    }
    out.push([k, pythonStr(v)]);
  }
  return out;
}

function methodList(p: Problems, v: unknown, kp: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  if (!Array.isArray(list) || list.length === 0 || !list.every((m): m is string => typeof m === 'string' && m !== '')) {
    p.error(kp, `expected a list of method names${got(kp, v)}`);
    return undefined;
  }
  const seen = new Set<string>();
  for (const m of list) {
    if (!METHOD_NAME.test(m)) p.error(kp, `not a usable method name${got(kp, m)}`);
    else if (m !== 'basebackup' && Object.hasOwn(POSTGRESQL_KEYS, m)) p.error(kp, `"${m}" is a postgresql setting, not a method name`);
    if (seen.has(m)) p.error(kp, `"${m}" is listed twice`);
    seen.add(m);
  }
  return list;
}

/** The method names postgresql.create_replica_methods lists (for the key check of the section). */
export function listedReplicaMethods(pg: Obj): string[] {
  const v = pg['create_replica_methods'];
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  return Array.isArray(list) ? list.filter((m): m is string => typeof m === 'string' && m !== 'basebackup') : [];
}

/**
 * postgresql.create_replica_methods (a list, or Patroni's comma-separated string) and each listed
 * method's section. Not set: [basebackup]. A method without a section runs its name as the command
 * (as in Patroni).
 */
export function readReplicaMethods(p: Problems, pg: Obj): ReplicaMethod[] {
  const names = methodList(p, pg['create_replica_methods'], 'postgresql.create_replica_methods');
  if (!names) return [{ kind: 'basebackup', name: 'basebackup' }];
  const out: ReplicaMethod[] = [];
  for (const name of names) {
    if (name === 'basebackup') {
      out.push({ kind: 'basebackup', name: 'basebackup' });
      continue;
    }
    const path = `postgresql.${name}`;
    const raw = pg[name];
    if (raw !== undefined && raw !== null && !isObj(raw)) {
      p.error(path, `expected a mapping (command, keep_data, no_params, no_leader, options)${got(path, raw)}`);
      continue;
    }
    const s: Obj = raw ?? {};
    const noParams = flag(p, s, path, 'no_params');
    const m: CommandMethod = {
      name,
      argv: readCommand(p, path, s['command'], name),
      options: readOptions(p, s, path, REPLICA_SPECIAL, noParams ? [] : REPLICA_OWN_ARGS),
      noParams,
    };
    out.push({ ...m, kind: 'command', keepData: flag(p, s, path, 'keep_data'), noLeader: flag(p, s, path, 'no_leader') || flag(p, s, path, 'no_master') });
  }
  return out;
}

/** bootstrap.method and its section; undefined for initdb (or no method). */
export function readBootstrapMethod(p: Problems, b: Obj): BootstrapMethod | undefined {
  const method = b['method'];
  if (method === undefined || method === null || method === 'initdb') return undefined;
  if (typeof method !== 'string' || !METHOD_NAME.test(method) || ['dcs', 'initdb', 'pg_hba', 'users', 'post_init', 'post_bootstrap'].includes(method)) {
    p.error('bootstrap.method', `expected initdb or the name of a section of bootstrap${got('bootstrap.method', method)}`);
    return undefined;
  }
  const path = `bootstrap.${method}`;
  const s = b[method];
  if (!isObj(s)) {
    p.error(path, s === undefined || s === null ? `required: bootstrap.method is ${method}, so bootstrap.${method}.command says what to run` : `expected a mapping${got(path, s)}`);
    return undefined;
  }
  const noParams = flag(p, s, path, 'no_params');
  let recoveryConf: Record<string, GucScalar> | null = null;
  if (s['recovery_conf'] !== undefined && s['recovery_conf'] !== null) recoveryConf = readParameters(p, withTimestamps(s, 'recovery_conf'), path, 'recovery_conf') ?? {};
  return {
    name: method,
    argv: readCommand(p, path, s['command'], null),
    options: readOptions(p, s, path, BOOTSTRAP_SPECIAL, []),
    noParams,
    keepExistingRecoveryConf: flag(p, s, path, 'keep_existing_recovery_conf'),
    recoveryConf,
  };
}

/**
 * An unquoted `recovery_target_time: 2026-12-04 01:00:00+00` is a YAML timestamp: it becomes the
 * same instant in UTC as "2026-12-04 00:00:00.000+00" instead of an error (not "...Z": PostgreSQL
 * checks recovery_target_time before it has loaded the time zone abbreviations, so "Z" is refused).
 */
function withTimestamps(parent: Obj, key: string): Obj {
  const v = parent[key];
  if (!isObj(v)) return parent;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) out[k] = x instanceof Date && !Number.isNaN(x.getTime()) ? x.toISOString().replace('T', ' ').replace('Z', '+00') : x;
  return { ...parent, [key]: out };
}

/** Recovery settings Keel sets itself on a replica; Patroni drops them from postgresql.recovery_conf. */
const KEEL_RECOVERY = /^(recovery_target.*|primary_conninfo|primary_slot_name|standby_mode)$/i;

/** postgresql.recovery_conf: recovery settings written with standby.signal (restore_command ...). */
export function readRecoveryConf(p: Problems, pg: Obj): Record<string, GucScalar> {
  const out = readParameters(p, withTimestamps(pg, 'recovery_conf'), 'postgresql', 'recovery_conf') ?? {};
  for (const k of Object.keys(out)) {
    if (KEEL_RECOVERY.test(k)) {
      p.warn(`postgresql.recovery_conf.${k}`, 'ignored: Keel sets it for replicas itself (as Patroni does)');
      delete out[k];
    }
  }
  return out;
}
