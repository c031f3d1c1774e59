/**
 * Orders strings by UTF-16 code unit, as Array.prototype.sort() does without a comparator and as
 * Patroni (Python's sorted()) orders member and slot names. Not String.prototype.localeCompare: its
 * first call loads ICU's collation data into the process (about 5 MiB of RSS in the agent, measured,
 * ARCHITECTURE.md "Footprint"), and its order depends on the locale.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
