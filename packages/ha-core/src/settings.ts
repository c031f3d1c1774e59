import { parsePatroniBool, type TDynamicConfig } from '@keel/protocol';
import { ignoreMatchersOf, permanentSlotsOf } from './permanent-slots.ts';
import type { HaSettings, StandbyClusterView } from './types.ts';

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
  quorumCommit: false,
  maximumLagOnSyncnode: -1,
  failsafeMode: false,
});

/**
 * Keel's floors. Lower than Patroni's (ttl 20, retry_timeout 3) on purpose: a 5 s lease gives fast
 * failover on a good network. A value below its floor is raised to it (as Patroni does), not refused.
 */
export const KEEL_MINIMUMS = Object.freeze({ ttl: 5, loop_wait: 1, retry_timeout: 1 });

/** No timer may exceed what setTimeout holds (2^31-1 ms); every timing key is in whole seconds. */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * The numeric keys of the dynamic configuration and the values that can work at all. A value outside
 * its range (negative, beyond a timer or a lease etcd can hold, beyond an exact integer) is refused;
 * inside it, the timing rule below may still adjust the effective value.
 */
export const DYNAMIC_NUMBER_LIMITS = Object.freeze({
  ttl: { min: 0, max: MAX_TIMER_SECONDS },
  loop_wait: { min: 0, max: MAX_TIMER_SECONDS },
  retry_timeout: { min: 0, max: MAX_TIMER_SECONDS },
  primary_start_timeout: { min: 0, max: MAX_TIMER_SECONDS },
  master_start_timeout: { min: 0, max: MAX_TIMER_SECONDS },
  maximum_lag_on_failover: { min: 0, max: Number.MAX_SAFE_INTEGER },
  synchronous_node_count: { min: 1, max: 1000 },
  // Patroni: any value <= 0 turns it off (-1 is the default).
  maximum_lag_on_syncnode: { min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
});
export type DynamicNumberKey = keyof typeof DYNAMIC_NUMBER_LIMITS;

/** Why a value of a numeric dynamic key cannot work, or null. Numbers only: callers parse text first. */
export function numberProblem(key: DynamicNumberKey, value: unknown): string | null {
  const { min, max } = DYNAMIC_NUMBER_LIMITS[key];
  if (typeof value !== 'number' || !Number.isInteger(value)) return 'expected an integer';
  if (value < min) return `must be >= ${min}`;
  if (value > max) return `must be <= ${max}${max === MAX_TIMER_SECONDS ? ' (seconds; no timer may exceed 2^31-1 ms)' : ''}`;
  return null;
}

export interface Timing {
  ttl: number;
  loop_wait: number;
  retry_timeout: number;
}

/**
 * Patroni's _validate_and_adjust_timeouts (config.py), with Keel's floors: each value is raised to its
 * floor; then, when loop_wait + 2*retry_timeout > ttl, loop_wait is reduced first
 * (loop_wait = ttl - 2*retry_timeout), and only if even loop_wait = 1 does not fit, retry_timeout
 * too (loop_wait = 1, retry_timeout = (ttl - 1) div 2). A leader must be able to miss a loop and
 * retry the DCS twice before its lease runs out. `notes` says what changed and why (logged).
 */
export function adjustTiming(t: Timing): { timing: Timing; notes: string[] } {
  const notes: string[] = [];
  const floor = (key: keyof Timing): number => {
    const v = t[key];
    if (v >= KEEL_MINIMUMS[key]) return v;
    notes.push(`${key}=${v} can't be smaller than ${KEEL_MINIMUMS[key]}; using ${KEEL_MINIMUMS[key]}`);
    return KEEL_MINIMUMS[key];
  };
  const ttl = floor('ttl');
  let loopWait = floor('loop_wait');
  let retryTimeout = floor('retry_timeout');
  const minLoop = KEEL_MINIMUMS.loop_wait;
  if (minLoop + 2 * retryTimeout > ttl) {
    const rt = Math.floor((ttl - minLoop) / 2);
    notes.push(
      `violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=${ttl}: ` +
        `adjusting loop_wait from ${loopWait} to ${minLoop} and retry_timeout from ${retryTimeout} to ${rt}`,
    );
    loopWait = minLoop;
    retryTimeout = rt;
  } else if (loopWait + 2 * retryTimeout > ttl) {
    const lw = ttl - 2 * retryTimeout;
    notes.push(
      `violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=${ttl} and retry_timeout=${retryTimeout}: ` +
        `adjusting loop_wait from ${loopWait} to ${lw}`,
    );
    loopWait = lw;
  }
  return { timing: { ttl, loop_wait: loopWait, retry_timeout: retryTimeout }, notes };
}

/**
 * The settings decide() uses: the DCS /config over `defaults` over Patroni's defaults, with the
 * timing rule applied (adjustTiming) and any value that cannot work replaced by its default.
 * `notes` explains every adjustment; callers log them when they adopt a configuration.
 */
export function resolveSettingsExplained(
  dynamicConfig: TDynamicConfig | null,
  defaults: Partial<HaSettings> = {},
): { settings: HaSettings; notes: string[] } {
  const base: HaSettings = { ...PATRONI_DEFAULTS, ...defaults };
  const c = dynamicConfig ?? {};
  const notes: string[] = [];
  const num = (key: DynamicNumberKey, value: unknown, fallback: number): number => {
    if (value === undefined || value === null) return fallback;
    const problem = numberProblem(key, value);
    if (problem === null) return value as number;
    notes.push(`${key}: ${problem}, got ${JSON.stringify(value)}; using ${fallback}`);
    return fallback;
  };
  const adjusted = adjustTiming({
    ttl: num('ttl', c.ttl, base.ttl),
    loop_wait: num('loop_wait', c.loop_wait, base.loopWait),
    retry_timeout: num('retry_timeout', c.retry_timeout, base.retryTimeout),
  });
  notes.push(...adjusted.notes);
  const settings: HaSettings = {
    ttl: adjusted.timing.ttl,
    loopWait: adjusted.timing.loop_wait,
    retryTimeout: adjusted.timing.retry_timeout,
    maximumLagOnFailover: num('maximum_lag_on_failover', c.maximum_lag_on_failover, base.maximumLagOnFailover),
    primaryStartTimeout:
      c.primary_start_timeout !== undefined && c.primary_start_timeout !== null
        ? num('primary_start_timeout', c.primary_start_timeout, base.primaryStartTimeout)
        : num('master_start_timeout', c['master_start_timeout'], base.primaryStartTimeout),
    useSlots: c.postgresql?.use_slots ?? base.useSlots,
    useRewind: c.postgresql?.use_pg_rewind ?? base.useRewind,
    checkTimeline: c.check_timeline ?? base.checkTimeline,
    // Patroni writes `pause: true` to pause and `pause: null` to resume.
    pause: c.pause === undefined ? base.pause : c.pause === true,
    synchronousMode: c.synchronous_mode === undefined ? base.synchronousMode : synchronousModeOn(c.synchronous_mode),
    quorumCommit: c.synchronous_mode === undefined ? base.quorumCommit : isQuorumMode(c.synchronous_mode),
    maximumLagOnSyncnode: num('maximum_lag_on_syncnode', c['maximum_lag_on_syncnode'], base.maximumLagOnSyncnode),
    synchronousModeStrict: boolOr(c['synchronous_mode_strict'], base.synchronousModeStrict),
    synchronousNodeCount: Math.max(1, Math.min(DYNAMIC_NUMBER_LIMITS.synchronous_node_count.max, Math.floor(numberOr(c['synchronous_node_count'], base.synchronousNodeCount)))),
    failsafeMode: boolOr(c.failsafe_mode, base.failsafeMode),
  };
  // only when configured, so settings without slots compare equal to Patroni's defaults
  const permanentSlots = permanentSlotsOf(c);
  const ignoreSlots = ignoreMatchersOf(c);
  if (Object.keys(permanentSlots).length > 0) settings.permanentSlots = permanentSlots;
  if (ignoreSlots.length > 0) settings.ignoreSlots = ignoreSlots;
  const standby = standbyClusterOf(c.standby_cluster);
  if (standby !== null) {
    settings.standbyCluster = standby;
    if (settings.synchronousMode) {
      notes.push('synchronous_mode: ignored in a standby cluster (its standby leader accepts no writes)');
      settings.synchronousMode = false;
    }
  }
  return { settings, notes };
}

/**
 * standby_cluster as decide() sees it, or null when it does not describe a standby cluster (Patroni's
 * is_standby_cluster: a host, a port or a restore_command; the agent's check refuses the rest).
 */
export function standbyClusterOf(raw: TDynamicConfig['standby_cluster']): StandbyClusterView | null {
  if (raw === undefined || raw === null) return null;
  const host = typeof raw.host === 'string' && raw.host.trim() !== '' ? raw.host.trim() : null;
  const restoreCommand = typeof raw.restore_command === 'string' && raw.restore_command.trim() !== '';
  if (host === null && !restoreCommand && raw.port === undefined) return null;
  return { host, port: typeof raw.port === 'number' ? raw.port : 5432, restoreCommand };
}

/** resolveSettingsExplained without the notes. */
export function resolveSettings(dynamicConfig: TDynamicConfig | null, defaults: Partial<HaSettings> = {}): HaSettings {
  return resolveSettingsExplained(dynamicConfig, defaults).settings;
}

/**
 * Patroni's synchronous_mode: a boolean or a bool-like string means priority mode on/off; 'quorum'
 * (Patroni 4) is quorum commit, which is synchronous too.
 */
export function synchronousModeOn(value: unknown): boolean {
  if (isQuorumMode(value)) return true;
  return typeof value === 'boolean' || typeof value === 'string' ? parsePatroniBool(value) === true : false;
}

/** synchronous_mode: quorum. */
export function isQuorumMode(value: unknown): boolean {
  return typeof value === 'string' && value.trim().toLowerCase() === 'quorum';
}

function boolOr(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' || typeof value === 'string' ? (parsePatroniBool(value) ?? fallback) : fallback;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
