import type { TDynamicConfig } from '@keel/protocol';
import type { HaSettings } from './types.ts';

/** Patroni's defaults for everything decide() reads. */
export const PATRONI_DEFAULTS: Readonly<HaSettings> = Object.freeze({
  ttl: 30,
  loopWait: 10,
  retryTimeout: 10,
  maximumLagOnFailover: 1048576,
  primaryStartTimeout: 300,
  useSlots: true,
  useRewind: false,
  checkTimeline: false,
  pause: false,
  synchronousMode: false,
  synchronousModeStrict: false,
  synchronousNodeCount: 1,
});

/**
 * Keel's floors. Lower than Patroni's (ttl 20, retry_timeout 3) on purpose: a 5 s lease gives fast
 * failover on a good network. The real guard is the timing rule in checkTiming().
 */
export const KEEL_MINIMUMS = Object.freeze({ ttl: 5, loop_wait: 1, retry_timeout: 1 });

export interface Timing {
  ttl: number;
  loop_wait: number;
  retry_timeout: number;
}

/**
 * The settings decide() uses: the DCS /config over `defaults` over Patroni's defaults. Only merges;
 * callers reject a bad timing with checkTiming() before they apply it.
 */
export function resolveSettings(dynamicConfig: TDynamicConfig | null, defaults: Partial<HaSettings> = {}): HaSettings {
  const base: HaSettings = { ...PATRONI_DEFAULTS, ...defaults };
  const c = dynamicConfig ?? {};
  return {
    ttl: c.ttl ?? base.ttl,
    loopWait: c.loop_wait ?? base.loopWait,
    retryTimeout: c.retry_timeout ?? base.retryTimeout,
    maximumLagOnFailover: c.maximum_lag_on_failover ?? base.maximumLagOnFailover,
    primaryStartTimeout: c.primary_start_timeout ?? numberOr(c['master_start_timeout'], base.primaryStartTimeout),
    useSlots: c.postgresql?.use_slots ?? base.useSlots,
    useRewind: c.postgresql?.use_pg_rewind ?? base.useRewind,
    checkTimeline: c.check_timeline ?? base.checkTimeline,
    // Patroni writes `pause: true` to pause and `pause: null` to resume.
    pause: c.pause === undefined ? base.pause : c.pause === true,
    synchronousMode: c.synchronous_mode === undefined ? base.synchronousMode : synchronousModeOn(c.synchronous_mode),
    synchronousModeStrict: boolOr(c['synchronous_mode_strict'], base.synchronousModeStrict),
    synchronousNodeCount: Math.max(1, Math.floor(numberOr(c['synchronous_node_count'], base.synchronousNodeCount))),
  };
}

/**
 * Why a timing is unsafe, or null. A leader must be able to miss a loop and retry the DCS twice before
 * its lease runs out, else a healthy primary loses its lock: loop_wait + 2*retry_timeout <= ttl.
 */
export function checkTiming(t: Timing): string | null {
  for (const key of ['ttl', 'loop_wait', 'retry_timeout'] as const) {
    const value = t[key];
    if (!Number.isFinite(value) || value < KEEL_MINIMUMS[key]) return `${key} (${value}) must be >= ${KEEL_MINIMUMS[key]}`;
  }
  const needed = t.loop_wait + 2 * t.retry_timeout;
  if (needed > t.ttl) {
    return `loop_wait (${t.loop_wait}) + 2*retry_timeout (${t.retry_timeout}) = ${needed} must be <= ttl (${t.ttl})`;
  }
  return null;
}

/**
 * Patroni's synchronous_mode: a boolean or a bool-like string means priority mode on/off. 'quorum' is
 * not implemented by Keel: it resolves to off (the configuration check warns about it).
 */
export function synchronousModeOn(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return false;
  return ['on', 'true', 'yes', '1'].includes(value.trim().toLowerCase());
}

function boolOr(value: unknown, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['on', 'true', 'yes', '1'].includes(v)) return true;
    if (['off', 'false', 'no', '0'].includes(v)) return false;
  }
  return fallback;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
