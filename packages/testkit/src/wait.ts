export interface WaitForOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number;
  /** What we are waiting for, in words; it is part of the timeout error. */
  message: string;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (value === undefined) return 'undefined';
  try {
    const s = JSON.stringify(value);
    return s.length > 500 ? `${s.slice(0, 500)}…` : s;
  } catch {
    return String(value);
  }
}

/**
 * Polls `fn` until it returns a truthy value and resolves with that value. A throw counts as "not
 * yet" (and is remembered). After `timeoutMs` it rejects with
 * `timed out after Xs: <message> (last error: …)` or `(last value: …)`.
 *
 * An attempt that is still running when the time is up is not awaited any further.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false | null | 0 | ''> | T | undefined | false | null | 0 | '',
  opts: WaitForOptions,
): Promise<T> {
  const { timeoutMs, intervalMs = 100, message } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: { kind: 'value' | 'error'; value: unknown } | null = null;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = Symbol('timeout');
    try {
      const result = await Promise.race([
        Promise.resolve().then(fn),
        new Promise<typeof timedOut>((resolve) => {
          timer = setTimeout(() => resolve(timedOut), remaining);
        }),
      ]);
      if (result === timedOut) break;
      if (result) return result as T;
      last = { kind: 'value', value: result };
    } catch (err) {
      last = { kind: 'error', value: err };
    } finally {
      clearTimeout(timer);
    }
    const pause = Math.min(intervalMs, deadline - Date.now());
    if (pause <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  const secs = Number((timeoutMs / 1000).toFixed(3));
  const tail = last === null ? ' (no attempt finished)' : ` (last ${last.kind}: ${describe(last.value)})`;
  throw new Error(`timed out after ${secs}s: ${message}${tail}`);
}
