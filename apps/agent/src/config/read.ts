/** Typed readers over the parsed YAML: each reports a problem naming the key path and returns undefined. */

import { findKeyPaths, PATRONI_KEYS, type KeyNode } from './patroni-keys.ts';
import { got, join, suggest, type Problems } from './problems.ts';

export type Obj = Record<string, unknown>;

export const NOT_IMPLEMENTED = 'accepted but not implemented by Keel yet; ignored';

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A nested section. Absent or null (`restapi:` with nothing under it) gives undefined without a problem. */
export function section(p: Problems, parent: Obj, path: string, key: string): Obj | undefined {
  const v = parent[key];
  const kp = join(path, key);
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) {
    p.error(kp, `expected a mapping${got(kp, v)}`);
    return undefined;
  }
  return v;
}

export function required(p: Problems, path: string, what = 'required'): undefined {
  p.error(path, what);
  return undefined;
}

export function str(
  p: Problems,
  obj: Obj | undefined,
  path: string,
  key: string,
  opts: { required?: boolean; allowEmpty?: boolean } = {},
): string | undefined {
  const kp = join(path, key);
  const v = obj?.[key];
  if (v === undefined || v === null) return opts.required ? required(p, kp) : undefined;
  if (typeof v !== 'string') {
    p.error(kp, `expected a string${got(kp, v)}`);
    return undefined;
  }
  if (!opts.allowEmpty && v.trim() === '') {
    if (opts.required) p.error(kp, 'must not be empty');
    return undefined;
  }
  return v;
}

export function bool(p: Problems, obj: Obj | undefined, path: string, key: string): boolean | undefined {
  const kp = join(path, key);
  const v = obj?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    p.error(kp, `expected true or false${got(kp, v)}`);
    return undefined;
  }
  return v;
}

/** An integer; a string of digits is accepted as Patroni's parse_int does ("30"), a fraction is not. */
export function int(
  p: Problems,
  obj: Obj | undefined,
  path: string,
  key: string,
  opts: { min?: number; max?: number; required?: boolean } = {},
): number | undefined {
  const kp = join(path, key);
  const v = obj?.[key];
  if (v === undefined || v === null) return opts.required ? required(p, kp) : undefined;
  let n: number | undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = v;
  else if (typeof v === 'string' && /^\s*-?\d{1,15}\s*$/.test(v)) n = Number(v);
  if (n === undefined) {
    p.error(kp, `expected an integer${got(kp, v)}`);
    return undefined;
  }
  if (opts.min !== undefined && n < opts.min) {
    p.error(kp, `must be >= ${opts.min}${got(kp, n)}`);
    return undefined;
  }
  if (opts.max !== undefined && n > opts.max) {
    p.error(kp, `must be <= ${opts.max}${got(kp, n)}`);
    return undefined;
  }
  return n;
}

/** A list of strings; `allowCommaString` also takes "a,b,c" (Patroni's etcd hosts). */
export function strList(
  p: Problems,
  obj: Obj | undefined,
  path: string,
  key: string,
  opts: { allowCommaString?: boolean } = {},
): string[] | undefined {
  const kp = join(path, key);
  const v = obj?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && opts.allowCommaString) {
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  if (!Array.isArray(v)) {
    p.error(kp, `expected a list of strings${got(kp, v)}`);
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  v.forEach((item: unknown, i) => {
    if (typeof item !== 'string') {
      p.error(`${kp}[${i}]`, `expected a string${got(kp, item)}`);
      ok = false;
    } else out.push(item);
  });
  return ok ? out : undefined;
}

export interface CheckKeysOptions {
  /** Keys with their own handling (an error or a specific warning); they count as siblings for suggestions. */
  special?: Record<string, (keyPath: string, value: unknown) => void>;
  /** Keys known in this context only (custom bootstrap or replica method sections): a warning message. */
  extraKnown?: (key: string) => string | undefined;
}

/**
 * Sorts the keys of `obj`: those in `keel` are left to the caller's typed code; Patroni keys Keel does not
 * implement give a warning; anything else is an unknown key (an error, with a did-you-mean suggestion).
 */
export function checkKeys(
  p: Problems,
  obj: Obj,
  path: string,
  keel: readonly string[],
  patroni: KeyNode | undefined,
  opts: CheckKeysOptions = {},
): void {
  const patroniKeys = typeof patroni === 'object' ? patroni : {};
  for (const key of Object.keys(obj)) {
    const kp = join(path, key);
    if (keel.includes(key)) continue;
    const special = opts.special?.[key];
    if (special) {
      special(kp, obj[key]);
      continue;
    }
    if (Object.hasOwn(patroniKeys, key)) {
      p.warn(kp, NOT_IMPLEMENTED);
      continue;
    }
    const extra = opts.extraKnown?.(key);
    if (extra !== undefined) {
      p.warn(kp, extra);
      continue;
    }
    const siblings = new Set([...keel, ...Object.keys(patroniKeys), ...Object.keys(opts.special ?? {})]);
    const near = suggest(key, siblings);
    if (near !== undefined) {
      p.error(kp, `unknown key (did you mean "${near}"?)`);
      continue;
    }
    const elsewhere = findKeyPaths(PATRONI_KEYS, key).filter((x) => x !== kp);
    if (elsewhere.length > 0 && elsewhere.length <= 3) {
      p.error(kp, `unknown key here (Patroni expects it at ${elsewhere.join(' or ')})`);
    } else {
      p.error(kp, 'unknown key');
    }
  }
}
