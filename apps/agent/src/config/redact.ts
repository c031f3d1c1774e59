import { isSecretKey } from './problems.ts';

export const REDACTED = '******';

/**
 * A deep copy with every secret (passwords, tokens: any key isSecretKey matches) replaced by "******" and
 * credentials inside URLs masked, for logging the effective configuration.
 */
export function redactConfig<T>(config: T): T {
  return redact(config) as T;
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value === 'string') return value.replace(/(\/\/)[^/@\s]*@/g, `$1${REDACTED}@`);
  if (typeof value !== 'object' || value === null || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretKey(k) && v !== undefined && v !== null && v !== '' ? REDACTED : redact(v);
  }
  return out;
}
