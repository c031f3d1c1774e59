import { describe, expect, it } from 'vitest';
import { parseLsn } from '@keel/protocol';
import { rewindNeeded, type Known, type RejoinLeader, type RejoinLocal, type TimelineFork } from '../src/rewind-needed.ts';

const SYSID = '7312345678901234567';
const L = parseLsn;
const fork = (parentTli: number, switchpoint: string): TimelineFork => ({ parentTli, switchpoint: L(switchpoint) });
const local = (timeline: number, end: string, history: TimelineFork[] = [], sysid = SYSID): Known<RejoinLocal> => ({
  ok: true,
  value: { sysid, timeline, end: L(end), history },
});
const leader = (timeline: number, history: TimelineFork[], sysid = SYSID): Known<RejoinLeader> => ({ ok: true, value: { sysid, timeline, history } });

describe('rewindNeeded: a former primary that has not diverged follows without pg_rewind', () => {
  it('my WAL on timeline 1 ends exactly where the leader left timeline 1 (the usual crash with nothing unreplicated)', () => {
    const v = rewindNeeded(local(1, '0/3000148'), leader(2, [fork(1, '0/3000148')]));
    expect(v).toEqual({
      rewind: false,
      reason: "my WAL ends at 0/3000148 on timeline 1, exactly at the point where the leader's history leaves timeline 1 for timeline 2 (0/3000148): not diverged, the leader has all of it",
      localEnd: L('0/3000148'),
      switchpoint: L('0/3000148'),
    });
  });

  it('my WAL ends before the switch point (the leader got more of timeline 1 than my disk kept): still follows', () => {
    const v = rewindNeeded(local(1, '0/3000100'), leader(2, [fork(1, '0/3000148')]));
    expect(v.rewind).toBe(false);
    expect(v.reason).toContain(', before the point where');
  });

  it('a chain of timelines: I ended on timeline 2, the leader is on 4 (2 -> 3 -> 4)', () => {
    const history = [fork(1, '0/3000148'), fork(2, '0/5000000'), fork(3, '0/7000060')];
    const v = rewindNeeded(local(2, '0/5000000', [fork(1, '0/3000148')]), leader(4, history));
    expect(v.rewind).toBe(false);
    expect(v.reason).toContain('leaves timeline 2 for timeline 3 (0/5000000)');
    expect(v.switchpoint).toBe(L('0/5000000'));
  });

  it('timeline numbers may skip (2 -> 5): the next timeline is the next history line', () => {
    const v = rewindNeeded(local(2, '0/5000000', [fork(1, '0/3000148')]), leader(6, [fork(1, '0/3000148'), fork(2, '0/5000000'), fork(5, '0/6000000')]));
    expect(v.rewind).toBe(false);
    expect(v.reason).toContain('for timeline 5');
  });
});

describe('rewindNeeded: everything else rewinds', () => {
  it('diverged: my WAL goes past the switch point (writes the leader never received)', () => {
    const v = rewindNeeded(local(1, '0/3000150'), leader(2, [fork(1, '0/3000148')]));
    expect(v).toEqual({
      rewind: true,
      reason: "my WAL ends at 0/3000150 on timeline 1, past the point where the leader's history leaves timeline 1 for timeline 2 (0/3000148): diverged",
      localEnd: L('0/3000150'),
      switchpoint: L('0/3000148'),
    });
  });

  it('diverged in a chain: timeline 2 went on past where timeline 3 left it', () => {
    const v = rewindNeeded(local(2, '0/5000100', [fork(1, '0/3000148')]), leader(4, [fork(1, '0/3000148'), fork(2, '0/5000000'), fork(3, '0/7000060')]));
    expect(v.rewind).toBe(true);
    expect(v.reason).toMatch(/past the point .* \(0\/5000000\): diverged$/);
  });

  it('my WAL could not be read (pg_waldump failed, a later timeline in pg_wal, ...)', () => {
    const v = rewindNeeded({ ok: false, error: 'pg_waldump printed no WAL record before stopping' }, leader(2, [fork(1, '0/3000148')]));
    expect(v).toEqual({ rewind: true, reason: 'cannot tell where my WAL ends (pg_waldump printed no WAL record before stopping)', localEnd: null, switchpoint: null });
  });

  it("the leader's history could not be read", () => {
    const v = rewindNeeded(local(1, '0/3000148'), { ok: false, error: 'IDENTIFY_SYSTEM on 127.0.0.1:5433 failed (exit 2)' });
    expect(v.rewind).toBe(true);
    expect(v.reason).toBe("my WAL ends at 0/3000148 on timeline 1 but the leader's timeline history cannot be read (IDENTIFY_SYSTEM on 127.0.0.1:5433 failed (exit 2))");
    expect(v.localEnd).toBe(L('0/3000148'));
  });

  it('history missing: the leader is on timeline 3 but sent no history', () => {
    const v = rewindNeeded(local(1, '0/3000148'), leader(3, []));
    expect(v.rewind).toBe(true);
    expect(v.reason).toContain('timeline 3 has no history');
  });

  it('my timeline is not in the leader\'s history (a sibling branch: I am on 3, the leader on 4 via 1 -> 2 -> 4)', () => {
    const v = rewindNeeded(local(3, '0/6000000', [fork(1, '0/3000148'), fork(2, '0/5000000')]), leader(4, [fork(1, '0/3000148'), fork(2, '0/5000000')]));
    expect(v.rewind).toBe(true);
    expect(v.reason).toContain('does not pass through');
  });

  it('my timeline ahead of the leader\'s', () => {
    const v = rewindNeeded(local(3, '0/6000000', [fork(1, '0/3000148'), fork(2, '0/5000000')]), leader(2, [fork(1, '0/3000148')]));
    expect(v.rewind).toBe(true);
    expect(v.reason).toContain("ahead of the leader's timeline 2");
  });

  it('the leader still on my timeline (it has not promoted yet): pg_rewind decides', () => {
    const v = rewindNeeded(local(2, '0/6000000', [fork(1, '0/3000148')]), leader(2, [fork(1, '0/3000148')]));
    expect(v.rewind).toBe(true);
    expect(v.reason).toContain('still on timeline 2');
  });

  it('another lineage: my timeline 2 left timeline 1 elsewhere than the leader\'s timeline 2 did', () => {
    const v = rewindNeeded(local(2, '0/5000000', [fork(1, '0/3000100')]), leader(3, [fork(1, '0/3000148'), fork(2, '0/5000000')]));
    expect(v.rewind).toBe(true);
    expect(v.reason).toContain('another lineage');
  });

  it('another system identifier', () => {
    const v = rewindNeeded(local(1, '0/3000148'), leader(2, [fork(1, '0/3000148')], '1111'));
    expect(v.rewind).toBe(true);
    expect(v.reason).toContain('system identifier 1111 is not mine');
  });

  it('a history out of order or naming the leader\'s own timeline', () => {
    expect(rewindNeeded(local(1, '0/3000148'), leader(3, [fork(2, '0/5000000'), fork(1, '0/3000148')])).reason).toContain('timeline 1 follows timeline 2');
    expect(rewindNeeded(local(1, '0/3000148'), leader(3, [fork(1, '0/6000000'), fork(2, '0/5000000')])).reason).toContain('before timeline 1 did');
    expect(rewindNeeded(local(1, '0/3000148'), leader(2, [fork(1, '0/3000148'), fork(2, '0/5000000')])).reason).toContain('cannot precede timeline 2');
  });

  it('my own timeline without a history (timeline 2 but no 00000002.history)', () => {
    const v = rewindNeeded(local(2, '0/5000000'), leader(3, [fork(1, '0/3000148'), fork(2, '0/5000000')]));
    expect(v.rewind).toBe(true);
    expect(v.reason).toContain('its own history is unusable');
  });
});
