/** When to try a delivery again: exponential backoff with a cap, and which answers are worth retrying. Pure. */

export const RETRY = { firstDelayMs: 5_000, factor: 2, maxDelayMs: 10 * 60_000, maxAttempts: 12 } as const;

/** The delay after `attempts` failed attempts (1 -> 5 s, 2 -> 10 s, ... capped at 10 min). */
export function retryDelayMs(attempts: number, policy: { firstDelayMs: number; factor: number; maxDelayMs: number } = RETRY): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * policy.factor ** Math.max(0, attempts - 1));
}

/** 2xx: delivered. 408, 429 and 5xx, or no answer: try again. Other 4xx: the request itself is wrong; retrying cannot help. */
export function outcomeOf(status: number | null): 'delivered' | 'retry' | 'permanent' {
  if (status === null) return 'retry';
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'permanent';
}
