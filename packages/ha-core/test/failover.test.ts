import { describe, expect, it } from 'vitest';
import { failoverRequest, parseScheduledAt } from '../src/failover.ts';

describe('parseScheduledAt', () => {
  const at = Date.UTC(2026, 0, 14, 10, 9, 57);

  it.each([
    ['2026-01-14T10:09:57+00:00', at],
    ['2026-01-14T10:09:57Z', at],
    ['2026-01-14 11:09:57+01:00', at],
    ['2026-01-14T11:09:57+0100', at],
    ['2026-01-14T11:09:57+01', at],
    ['2026-01-14T05:39:57-04:30', at],
    ['2026-01-14T10:09:57.250+00:00', at + 250],
    ['2026-01-14T10:09+00:00', at - 57_000],
  ])('reads %s', (text, ms) => {
    expect(parseScheduledAt(text)).toEqual({ ok: true, at: ms });
  });

  it.each(['2026-01-14T10:09:57', '2026-01-14', '2026-01-14 10:09'])('refuses %s: no timezone', (text) => {
    expect(parseScheduledAt(text)).toEqual({ ok: false, error: 'no_timezone' });
  });

  it.each(['tomorrow', '', '2026-02-30T10:00:00Z', '2026-13-01T10:00:00Z', '2026-01-14T24:00:00Z', '14/01/2026 10:09 UTC', '1969-12-31T23:59:59Z'])(
    'refuses %j: not an ISO 8601 time',
    (text) => {
      expect(parseScheduledAt(text)).toEqual({ ok: false, error: 'unparseable' });
    },
  );
});

describe('failoverRequest', () => {
  it('is no request when the key is absent, or empty as Patroni leaves it after clearing', () => {
    expect(failoverRequest(null)).toBeNull();
    expect(failoverRequest({})).toBeNull();
    expect(failoverRequest({ leader: '', member: '' })).toBeNull();
    expect(failoverRequest({ scheduled_at: '2026-01-14T10:09:57+00:00' })).toBeNull();
  });

  it("names a switchover when it names a leader, and prefers Patroni's `member` to `candidate`", () => {
    expect(failoverRequest({ leader: 'a', member: 'b', candidate: 'c' })).toEqual({
      leader: 'a',
      candidate: 'b',
      scheduledAt: null,
      schedule: null,
      action: 'switchover',
    });
  });

  it('names a manual failover when it names only a candidate, and parses the schedule', () => {
    expect(failoverRequest({ candidate: 'c', scheduled_at: 'soon' })).toEqual({
      leader: null,
      candidate: 'c',
      scheduledAt: 'soon',
      schedule: { ok: false, error: 'unparseable' },
      action: 'manual failover',
    });
  });
});
