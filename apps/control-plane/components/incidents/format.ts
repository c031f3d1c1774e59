/** Incident pages show UTC, like the generated summaries, so that a time reads the same to everyone on the call. */
export function utcTime(iso: string | number): string {
  return new Date(iso).toISOString().slice(11, 19);
}

export function utcDateTime(iso: string | number): string {
  return new Date(iso).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
}

export const SEVERITY_TONE: Record<string, string> = { critical: 'bad', major: 'warn', minor: 'info' };
export const STATUS_TONE: Record<string, string> = { open: 'bad', acknowledged: 'warn', resolved: 'ok' };
