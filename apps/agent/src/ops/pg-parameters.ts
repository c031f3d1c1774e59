/**
 * Validation of PostgreSQL parameters against the server's own catalogue (pg_settings), so a bad
 * name or value in PATCH/PUT /config (or a /config written with etcdctl) is refused before
 * PostgreSQL would refuse to start or reload with it. The parsing follows PostgreSQL's
 * parse_bool, parse_int and parse_real (guc.c), units included.
 */
import type { Runtime } from '../runtime.ts';

export interface PgSetting {
  name: string;
  vartype: 'bool' | 'integer' | 'real' | 'string' | 'enum';
  unit: string | null;
  min_val: string | null;
  max_val: string | null;
  enumvals: string[] | null;
  context: string;
}

const MEMORY_UNITS: Record<string, number> = { B: 1 / 1024, kB: 1, MB: 1024, GB: 1024 ** 2, TB: 1024 ** 3 };
const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parameters Keel sets itself from the YAML: changing them through /config would be ignored. */
const MANAGED = new Set(['listen_addresses', 'port', 'hba_file', 'primary_conninfo', 'primary_slot_name', 'recovery_target_timeline']);

/** Parameters PostgreSQL renamed; Keel writes the name the server knows (adaptParametersToVersion). */
const RENAMED: Record<string, string> = { wal_keep_segments: 'wal_keep_size', wal_keep_size: 'wal_keep_segments' };

/** PostgreSQL's parse_bool: on/off, true/false, yes/no, 1/0 and their unique prefixes, any case. */
export function isPgBool(text: string): boolean {
  const v = text.trim().toLowerCase();
  if (v === '') return false;
  if (['1', '0', 'on', 'off', 'of'].includes(v)) return true;
  if ('true'.startsWith(v) || 'false'.startsWith(v) || 'yes'.startsWith(v) || 'no'.startsWith(v)) return true;
  return false;
}

/** "128MB" / "10s" / "1.5GB" / "0x10" / "1e3" in the parameter's own unit, or null when it is not a number. */
export function toParameterUnit(text: string, unit: string | null, integer = false): number | null {
  const hex = integer ? /^\s*(-?0[xX][0-9a-fA-F]+)\s*([a-zA-Z]+)?\s*$/.exec(text) : null;
  const m = hex ?? /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]+)?\s*$/.exec(text);
  if (!m) return null;
  const n = hex ? parseInt(m[1]!, 16) : Number(m[1]);
  const given = m[2];
  if (!Number.isFinite(n)) return null;
  if (!given) return n;
  if (!unit) return null;
  const base = /^(\d+)?\s*(B|kB|MB|GB|TB|us|ms|s|min|h|d)$/.exec(unit);
  if (!base) return null;
  const mult = Number(base[1] ?? 1);
  const baseUnit = base[2]!;
  if (baseUnit in MEMORY_UNITS && given in MEMORY_UNITS) return (n * MEMORY_UNITS[given]!) / (MEMORY_UNITS[baseUnit]! * mult);
  if (baseUnit in TIME_UNITS && given in TIME_UNITS) return (n * TIME_UNITS[given]!) / (TIME_UNITS[baseUnit]! * mult);
  return null;
}

/** Why one value is not acceptable for the setting, or null. */
function valueProblem(s: PgSetting, text: string): string | null {
  switch (s.vartype) {
    case 'bool':
      return isPgBool(text) ? null : `expected a boolean (on/off), got ${JSON.stringify(text)}`;
    case 'enum':
      return !s.enumvals || s.enumvals.some((v) => v.toLowerCase() === text.trim().toLowerCase())
        ? null
        : `expected one of ${s.enumvals.join(', ')}, got ${JSON.stringify(text)}`;
    case 'integer':
    case 'real': {
      const raw = toParameterUnit(text, s.unit, s.vartype === 'integer');
      if (raw === null) return `expected a number${s.unit ? ` (unit ${s.unit})` : ''}, got ${JSON.stringify(text)}`;
      // PostgreSQL rounds integers given with a fraction or a unit (parse_int, since 12)
      const v = s.vartype === 'integer' ? Math.round(raw) : raw;
      const min = s.min_val === null ? null : Number(s.min_val);
      const max = s.max_val === null ? null : Number(s.max_val);
      if ((min !== null && v < min) || (max !== null && v > max))
        return `${text} is outside the allowed range ${s.min_val}..${s.max_val}${s.unit ? ` (${s.unit})` : ''}`;
      return null;
    }
    case 'string':
      return null;
  }
}

/**
 * Problems of a parameters map against pg_settings, one line each ("<path>.<name>: <reason>").
 * Names are case-insensitive (as in PostgreSQL); custom `prefix.name` placeholders are free-form.
 */
export function validateParameters(params: Record<string, unknown>, settings: ReadonlyMap<string, PgSetting>, path = 'postgresql.parameters'): string[] {
  const errors: string[] = [];
  for (const [name, raw] of Object.entries(params)) {
    const key = `${path}.${name}`;
    if (raw === null) continue; // null removes the parameter (merge-patch)
    const lower = name.toLowerCase();
    if (MANAGED.has(lower)) {
      errors.push(`${key}: managed by Keel from the member's YAML; it cannot be set through /config`);
      continue;
    }
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      errors.push(`${key}: expected a string, number or boolean`);
      continue;
    }
    const text = typeof raw === 'boolean' ? (raw ? 'on' : 'off') : String(raw);
    const s = settings.get(lower);
    if (!s) {
      const renamed = RENAMED[lower];
      if (renamed && settings.has(renamed)) {
        // written under the other name for this server (wal_keep_segments -> wal_keep_size on 13+)
        if (toParameterUnit(text, lower === 'wal_keep_size' ? '1MB' : null, true) === null)
          errors.push(`${key}: expected a number, got ${JSON.stringify(text)}`);
        continue;
      }
      if (name.includes('.')) continue; // custom (extension) placeholder variables are free-form
      errors.push(`${key}: unknown PostgreSQL parameter`);
      continue;
    }
    if (s.context === 'internal') {
      errors.push(`${key}: a read-only parameter (fixed when the cluster was initialised); PostgreSQL would refuse to start with it`);
      continue;
    }
    const problem = valueProblem(s, text);
    if (problem) errors.push(`${key}: ${problem}`);
  }
  return errors;
}

export const PG_SETTINGS_SQL =
  'SELECT name, vartype, unit, min_val, max_val, enumvals, context FROM pg_catalog.pg_settings';

/**
 * pg_settings of the running server by name, or null when PostgreSQL does not answer. The last
 * answer is kept in rt.pgSettings for checks made while PostgreSQL is down (a /config read from etcd).
 */
export async function readPgSettings(rt: Pick<Runtime, 'pg' | 'pgSettings'>): Promise<ReadonlyMap<string, PgSetting> | null> {
  try {
    const rows = await rt.pg.query<PgSetting>(PG_SETTINGS_SQL);
    rt.pgSettings = new Map(rows.map((r) => [r.name, r]));
    return rt.pgSettings;
  } catch {
    return null;
  }
}

/** Parameters whose standby value must be >= the primary's (PostgreSQL refuses hot standby otherwise). */
export const SHARED_MEMORY_PARAMETERS = [
  'max_connections',
  'max_prepared_transactions',
  'max_locks_per_transaction',
  'max_wal_senders',
  'max_worker_processes',
] as const;
