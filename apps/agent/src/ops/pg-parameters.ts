/**
 * Validation of PostgreSQL parameters against the server's own catalogue (pg_settings), so a bad
 * name or value in PATCH /config is refused before anything is written.
 */
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
const BOOL_WORDS = new Set(['on', 'off', 'true', 'false', 'yes', 'no', '1', '0', 't', 'f', 'y', 'n']);

/** Parameters Keel sets itself from the YAML: changing them through /config would be ignored. */
const MANAGED = new Set(['listen_addresses', 'port', 'hba_file', 'primary_conninfo', 'primary_slot_name', 'recovery_target_timeline']);

/** Convert "128MB" / "10s" / "1000" to the parameter's own unit, or null when the text is not a number. */
export function toParameterUnit(text: string, unit: string | null): number | null {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]+)?\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const given = m[2];
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

export function validateParameters(params: Record<string, unknown>, settings: ReadonlyMap<string, PgSetting>, path = 'postgresql.parameters'): string[] {
  const errors: string[] = [];
  for (const [name, raw] of Object.entries(params)) {
    const key = `${path}.${name}`;
    if (raw === null) continue; // null removes the parameter (merge-patch)
    if (MANAGED.has(name)) {
      errors.push(`${key}: managed by Keel from the member's YAML; it cannot be set through /config`);
      continue;
    }
    const s = settings.get(name);
    if (!s) {
      if (name.includes('.')) continue; // custom (extension) placeholder variables are free-form
      errors.push(`${key}: unknown PostgreSQL parameter`);
      continue;
    }
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      errors.push(`${key}: expected a string, number or boolean`);
      continue;
    }
    const text = String(raw);
    switch (s.vartype) {
      case 'bool':
        if (!BOOL_WORDS.has(text.toLowerCase())) errors.push(`${key}: expected a boolean (on/off), got ${JSON.stringify(text)}`);
        break;
      case 'enum':
        if (s.enumvals && !s.enumvals.some((v) => v.toLowerCase() === text.toLowerCase()))
          errors.push(`${key}: expected one of ${s.enumvals.join(', ')}, got ${JSON.stringify(text)}`);
        break;
      case 'integer':
      case 'real': {
        const v = toParameterUnit(text, s.unit);
        if (v === null || !Number.isFinite(v)) {
          errors.push(`${key}: expected a number${s.unit ? ` (unit ${s.unit})` : ''}, got ${JSON.stringify(text)}`);
          break;
        }
        if (s.vartype === 'integer' && !/[a-zA-Z]/.test(text) && !Number.isInteger(v)) {
          errors.push(`${key}: expected an integer, got ${JSON.stringify(text)}`);
          break;
        }
        const min = s.min_val === null ? null : Number(s.min_val);
        const max = s.max_val === null ? null : Number(s.max_val);
        if ((min !== null && v < min) || (max !== null && v > max))
          errors.push(`${key}: ${text} is outside the allowed range ${s.min_val}..${s.max_val}${s.unit ? ` (${s.unit})` : ''}`);
        break;
      }
      case 'string':
        break;
    }
  }
  return errors;
}

export const PG_SETTINGS_SQL =
  'SELECT name, vartype, unit, min_val, max_val, enumvals, context FROM pg_catalog.pg_settings';

/** Parameters whose standby value must be >= the primary's (PostgreSQL refuses hot standby otherwise). */
export const SHARED_MEMORY_PARAMETERS = [
  'max_connections',
  'max_prepared_transactions',
  'max_locks_per_transaction',
  'max_wal_senders',
  'max_worker_processes',
] as const;
