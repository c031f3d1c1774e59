/** One JSON line per event on stdout: {"time":…,"level":…,"event":…, …fields}. Never log secrets. */
export type TLog = (event: string, fields?: Record<string, unknown>, level?: 'info' | 'warn' | 'error') => void;

export const log: TLog = (event, fields = {}, level = 'info') => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
};
