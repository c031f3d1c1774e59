import type { AgentMemory } from './types.ts';

/** The first retry after a failed clone waits this long; each further failure doubles it ... */
export const CLONE_RETRY_BASE_MS = 1_000;
/** ... up to this cap. A success clears the failure, and with it the backoff. */
export const CLONE_RETRY_CAP_MS = 60_000;

/** The delay after `attempts` failures in a row: 1 s, 2 s, 4 s ... capped at 60 s. */
export function cloneRetryDelayMs(attempts: number): number {
  const n = Math.max(1, Math.floor(attempts));
  return Math.min(CLONE_RETRY_CAP_MS, CLONE_RETRY_BASE_MS * 2 ** Math.min(n - 1, 30));
}

/**
 * How long to wait before cloning again, with how many failures so far, or null: the last clone (or
 * reinitialize, which ends in a clone) did not fail, or its backoff is over.
 */
export function cloneBackoff(memory: AgentMemory, now: number): { waitMs: number; attempts: number } | null {
  const last = memory.lastFailure;
  if (last === null || (last.kind !== 'clone' && last.kind !== 'reinitialize')) return null;
  const attempts = last.attempts ?? 1;
  const waitMs = last.at + cloneRetryDelayMs(attempts) - now;
  return waitMs > 0 ? { waitMs, attempts } : null;
}
