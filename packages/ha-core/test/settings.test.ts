import { describe, expect, it } from 'vitest';
import { MAX_TIMER_SECONDS, PATRONI_DEFAULTS, adjustTiming, numberProblem, resolveSettings, resolveSettingsExplained } from '../src/settings.ts';

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
      quorumCommit: false,
      maximumLagOnSyncnode: -1,
      failsafeMode: false,
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
        maximum_lag_on_syncnode: 4096,
        failsafe_mode: true,
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
      quorumCommit: false,
      maximumLagOnSyncnode: 4096,
      failsafeMode: true,
    });
  });

  it('accepts the old master_start_timeout, and primary_start_timeout wins over it', () => {
    expect(resolveSettings({ master_start_timeout: 42 }).primaryStartTimeout).toBe(42);
    expect(resolveSettings({ master_start_timeout: 42, primary_start_timeout: 7 }).primaryStartTimeout).toBe(7);
    expect(resolveSettings({ master_start_timeout: 'soon' }).primaryStartTimeout).toBe(300);
  });

  it("reads synchronous_mode as Patroni does: on/'true' is priority mode, 'quorum' is quorum commit, off is off", () => {
    for (const on of [true, 'on', 'true', 'ON']) expect(resolveSettings({ synchronous_mode: on })).toMatchObject({ synchronousMode: true, quorumCommit: false });
    for (const q of ['quorum', 'Quorum']) expect(resolveSettings({ synchronous_mode: q })).toMatchObject({ synchronousMode: true, quorumCommit: true });
    for (const off of [false, 'off', 'false']) expect(resolveSettings({ synchronous_mode: off })).toMatchObject({ synchronousMode: false, quorumCommit: false });
    expect(resolveSettings({ maximum_lag_on_syncnode: 'far' }).maximumLagOnSyncnode).toBe(-1);
    expect(resolveSettings({ synchronous_node_count: 0 }).synchronousNodeCount).toBe(1);
  });

  it('reads pause: null as resumed, as patronictl resume writes it', () => {
    expect(resolveSettings({ pause: null }, { pause: true }).pause).toBe(false);
    expect(resolveSettings({}, { pause: true }).pause).toBe(true);
  });

  it('lays the dynamic configuration over the given defaults over Patroni defaults', () => {
    expect(resolveSettings({ ttl: 12 }, { ttl: 9, loopWait: 2, retryTimeout: 3 })).toEqual({ ...PATRONI_DEFAULTS, ttl: 12, loopWait: 2, retryTimeout: 3 });
  });
});

describe('adjustTiming (Patroni _validate_and_adjust_timeouts, Keel floors)', () => {
  const cases: Array<[string, [number, number, number], [number, number, number], string[]]> = [
    ['keeps a timing that obeys the rule', [30, 10, 10], [30, 10, 10], []],
    ['keeps the tightest legal timing', [5, 1, 2], [5, 1, 2], []],
    [
      'reduces loop_wait first',
      [30, 15, 10],
      [30, 10, 10],
      ['violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=30 and retry_timeout=10: adjusting loop_wait from 15 to 10'],
    ],
    [
      'reduces retry_timeout too when loop_wait = 1 does not fit',
      [20, 10, 10],
      [20, 1, 9],
      ['violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=20: adjusting loop_wait from 10 to 1 and retry_timeout from 10 to 9'],
    ],
    [
      'raises values below the floors, then applies the rule',
      [3, 0, 0],
      [5, 1, 1],
      ["ttl=3 can't be smaller than 5; using 5", "loop_wait=0 can't be smaller than 1; using 1", "retry_timeout=0 can't be smaller than 1; using 1"],
    ],
  ];
  it.each(cases)('%s', (_name, [ttl, loop_wait, retry_timeout], [ttl2, lw2, rt2], notes) => {
    const r = adjustTiming({ ttl, loop_wait, retry_timeout });
    expect(r.timing).toEqual({ ttl: ttl2, loop_wait: lw2, retry_timeout: rt2 });
    expect(r.notes).toEqual(notes);
    expect(r.timing.loop_wait + 2 * r.timing.retry_timeout).toBeLessThanOrEqual(r.timing.ttl);
  });

  it('always ends with a timing that obeys the rule (every combination up to 40 s)', () => {
    const bad: string[] = [];
    for (let ttl = 0; ttl <= 40; ttl++)
      for (let lw = 0; lw <= 40; lw++)
        for (let rt = 0; rt <= 40; rt++) {
          const t = adjustTiming({ ttl, loop_wait: lw, retry_timeout: rt }).timing;
          if (!(t.loop_wait + 2 * t.retry_timeout <= t.ttl && t.loop_wait >= 1 && t.retry_timeout >= 1)) bad.push(`${ttl}/${lw}/${rt}`);
        }
    expect(bad).toEqual([]);
  });
});

describe('numberProblem', () => {
  const cases: Array<[Parameters<typeof numberProblem>[0], unknown, string | null]> = [
    ['ttl', 30, null],
    ['ttl', -1, 'must be >= 0'],
    ['ttl', 1.5, 'expected an integer'],
    ['ttl', '30', 'expected an integer'],
    ['ttl', MAX_TIMER_SECONDS, null],
    ['ttl', MAX_TIMER_SECONDS + 1, 'must be <= 2147483 (seconds; no timer may exceed 2^31-1 ms)'],
    ['retry_timeout', 1e12, 'must be <= 2147483 (seconds; no timer may exceed 2^31-1 ms)'],
    ['primary_start_timeout', Number.POSITIVE_INFINITY, 'expected an integer'],
    ['maximum_lag_on_failover', 2 ** 53, 'must be <= 9007199254740991'],
    ['synchronous_node_count', 0, 'must be >= 1'],
  ];
  it.each(cases)('%s = %s -> %s', (key, value, problem) => expect(numberProblem(key, value)).toBe(problem));
});

describe('resolveSettingsExplained', () => {
  it('adjusts a /config that breaks the timing rule instead of refusing it, and says why', () => {
    const r = resolveSettingsExplained({ ttl: 20, loop_wait: 10, retry_timeout: 10 });
    expect([r.settings.ttl, r.settings.loopWait, r.settings.retryTimeout]).toEqual([20, 1, 9]);
    expect(r.notes).toEqual(['violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=20: adjusting loop_wait from 10 to 1 and retry_timeout from 10 to 9']);
  });

  it('replaces a value that cannot work by its default, with a note', () => {
    const r = resolveSettingsExplained({ ttl: -5, primary_start_timeout: 1e10, maximum_lag_on_failover: 'x' as never });
    expect(r.settings.ttl).toBe(30);
    expect(r.settings.primaryStartTimeout).toBe(300);
    expect(r.settings.maximumLagOnFailover).toBe(1048576);
    expect(r.notes).toEqual([
      'ttl: must be >= 0, got -5; using 30',
      'maximum_lag_on_failover: expected an integer, got "x"; using 1048576',
      'primary_start_timeout: must be <= 2147483 (seconds; no timer may exceed 2^31-1 ms), got 10000000000; using 300',
    ]);
  });
});
