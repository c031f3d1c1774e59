import { describe, expect, it } from 'vitest';
import { PATRONI_DEFAULTS, checkTiming, resolveSettings } from '../src/settings.ts';

describe('resolveSettings', () => {
  it("uses Patroni's defaults when the DCS has no /config", () => {
    expect(resolveSettings(null)).toEqual({
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
  });

  it('takes every key from the dynamic configuration', () => {
    expect(
      resolveSettings({
        ttl: 15,
        loop_wait: 3,
        retry_timeout: 5,
        maximum_lag_on_failover: 0,
        primary_start_timeout: 0,
        check_timeline: true,
        pause: true,
        synchronous_mode: true,
        synchronous_mode_strict: true,
        synchronous_node_count: 2,
        postgresql: { use_slots: false, use_pg_rewind: true },
      }),
    ).toEqual({
      ttl: 15,
      loopWait: 3,
      retryTimeout: 5,
      maximumLagOnFailover: 0,
      primaryStartTimeout: 0,
      useSlots: false,
      useRewind: true,
      checkTimeline: true,
      pause: true,
      synchronousMode: true,
      synchronousModeStrict: true,
      synchronousNodeCount: 2,
    });
  });

  it('accepts the old master_start_timeout, and primary_start_timeout wins over it', () => {
    expect(resolveSettings({ master_start_timeout: 42 }).primaryStartTimeout).toBe(42);
    expect(resolveSettings({ master_start_timeout: 42, primary_start_timeout: 7 }).primaryStartTimeout).toBe(7);
    expect(resolveSettings({ master_start_timeout: 'soon' }).primaryStartTimeout).toBe(300);
  });

  it("reads synchronous_mode as Patroni does: on/'true' is priority mode, 'quorum' (not implemented) and off are off", () => {
    for (const on of [true, 'on', 'true', 'ON']) expect(resolveSettings({ synchronous_mode: on }).synchronousMode).toBe(true);
    for (const off of [false, 'off', 'false', 'quorum']) expect(resolveSettings({ synchronous_mode: off }).synchronousMode).toBe(false);
    expect(resolveSettings({ synchronous_node_count: 0 }).synchronousNodeCount).toBe(1);
  });

  it('reads pause: null as resumed, as patronictl resume writes it', () => {
    expect(resolveSettings({ pause: null }, { pause: true }).pause).toBe(false);
    expect(resolveSettings({}, { pause: true }).pause).toBe(true);
  });

  it('lays the dynamic configuration over the given defaults over Patroni defaults', () => {
    expect(resolveSettings({ ttl: 12 }, { ttl: 9, loopWait: 2 })).toEqual({ ...PATRONI_DEFAULTS, ttl: 12, loopWait: 2 });
  });
});

describe('checkTiming', () => {
  it("accepts Patroni's defaults and Keel's fast timings", () => {
    expect(checkTiming({ ttl: 30, loop_wait: 10, retry_timeout: 10 })).toBeNull();
    expect(checkTiming({ ttl: 5, loop_wait: 1, retry_timeout: 2 })).toBeNull();
  });

  it('rejects loop_wait + 2*retry_timeout > ttl with the arithmetic in the message', () => {
    expect(checkTiming({ ttl: 20, loop_wait: 10, retry_timeout: 10 })).toBe('loop_wait (10) + 2*retry_timeout (10) = 30 must be <= ttl (20)');
  });

  it("rejects values below Keel's minimums", () => {
    expect(checkTiming({ ttl: 4, loop_wait: 1, retry_timeout: 1 })).toBe('ttl (4) must be >= 5');
    expect(checkTiming({ ttl: 30, loop_wait: 0, retry_timeout: 1 })).toBe('loop_wait (0) must be >= 1');
    expect(checkTiming({ ttl: 30, loop_wait: 1, retry_timeout: 0 })).toBe('retry_timeout (0) must be >= 1');
    expect(checkTiming({ ttl: Number.NaN, loop_wait: 1, retry_timeout: 1 })).toBe('ttl (NaN) must be >= 5');
  });
});
