import type { THaContext, TSnapshot } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { computeReadiness, whatIf } from '../server/lib/failover-readiness.ts';
import { memberView, type TMemberView } from '../server/lib/member-view.ts';
import { snapshot } from './support/builders.ts';

const now = new Date();
const MB = 1024 * 1024;

function ha(over: Partial<THaContext> = {}): THaContext {
  return {
    ttl: 30,
    loopWait: 10,
    retryTimeout: 10,
    maximumLagOnFailover: MB,
    checkTimeline: false,
    synchronousMode: false,
    optime: 100 * MB,
    clusterTimeline: 3,
    sync: null,
    fence: null,
    ...over,
  };
}

/** A member at `lsn`, reporting `haOver`; `ageSeconds` since its last report (stale after 30 s). */
function member(name: string, over: Partial<TSnapshot> & { haOver?: Partial<THaContext> } = {}, ageSeconds = 1, connected = true): TMemberView {
  const { haOver, ...rest } = over;
  const role = rest.role ?? 'replica';
  const s = snapshot(1, {
    timeline: 3,
    lsn: 100 * MB,
    leader: 'pg0',
    ha: ha({ ...(role === 'primary' ? { fence: { armed: true, leaseKnown: true } } : {}), ...haOver }),
    ...rest,
  });
  return memberView({ name, snapshot: s, lastSeenAt: new Date(now.getTime() - ageSeconds * 1000), lastSeq: 1n, agentVersion: '0.1.0' }, { now, staleAfterSeconds: 30, connected });
}

const primary = (over: Partial<TSnapshot> & { haOver?: Partial<THaContext> } = {}) => member('pg0', { role: 'primary', lsn: 100 * MB, ...over });

describe('failover readiness (ha-core ranking over every member)', () => {
  it('promotes the member closest to the leader and prices the failover from ttl, loop_wait and its lag', () => {
    const r = computeReadiness([primary(), member('pg1', { lsn: 100 * MB - 4096 }), member('pg2', { lsn: 100 * MB - 8192 })]);
    expect(r.leader).toBe('pg0');
    expect(r.candidate).toBe('pg1');
    expect(r.members.map((m) => [m.name, m.eligible, m.lagBytes])).toEqual([
      ['pg1', true, 4096],
      ['pg2', true, 8192],
    ]);
    expect(r.rpo).toMatchObject({ bytes: 4096 });
    expect(r.rpo?.basis).toMatch(/^asynchronous/);
    // lease path: ttl 30 - loop_wait 10 + 1 s promotion .. ttl 30 + 5 s; the armed fence hands over at once
    expect(r.rto?.nodeDeath).toMatchObject({ minSeconds: 21, maxSeconds: 35 });
    expect(r.rto?.agentDeath).toMatchObject({ minSeconds: 1, maxSeconds: 8 });
    expect(r.basis).toMatchObject({ settingsFrom: 'pg0', ttl: 30, loopWait: 10, leaderLsn: 100 * MB });
    expect(r.summary).toBe('pg1 would be promoted; 4 kB at risk');
  });

  it('says why each other member would not be promoted: nofailover, failover_priority, lag, timeline, stale, DCS', () => {
    const r = computeReadiness([
      primary({ haOver: { checkTimeline: true } }),
      member('pg1', { tags: { nofailover: true } }),
      member('pg2', { tags: { failover_priority: 0 } }),
      member('pg3', { lsn: 90 * MB }),
      member('pg4', { timeline: 2 }),
      member('pg5', {}, 120),
      member('pg6', { dcsOk: false }),
      member('pg7'),
    ]);
    const why = Object.fromEntries(r.members.map((m) => [m.name, m.reasons]));
    expect(why['pg1']).toEqual(['tagged nofailover']);
    expect(why['pg2']).toEqual(['tagged failover_priority 0']);
    expect(why['pg3']).toEqual(['lag 10 MB exceeds maximum_lag_on_failover 1 MB']);
    expect(why['pg4']).toEqual(['timeline 2 is behind cluster timeline 3']);
    expect(why['pg5']?.[0]).toMatch(/^unreachable \(no report since /);
    expect(why['pg6']).toEqual(['cannot reach the DCS']);
    expect(why['pg7']).toEqual([]);
    expect(r.candidate).toBe('pg7');
  });

  it('a killed former primary is out at once: its agent is disconnected, and it still claims to be primary', () => {
    // pg1 took over (the newest snapshots say so); pg0's last report, seconds old, still says primary
    const r = computeReadiness([
      member('pg0', { role: 'primary', leader: 'pg0', at: new Date(now.getTime() - 5000).toISOString() }, 1, false),
      member('pg1', { role: 'primary', leader: 'pg1' }),
      member('pg2', { leader: 'pg1' }),
    ]);
    expect(r.leader).toBe('pg1');
    expect(r.candidate).toBe('pg2');
    expect(r.members.find((m) => m.name === 'pg0')?.reasons).toEqual(['unreachable (agent disconnected)']);
    const connected = computeReadiness([member('pg0', { role: 'primary', leader: 'pg0', at: new Date(now.getTime() - 5000).toISOString() }), member('pg1', { role: 'primary', leader: 'pg1' })]);
    expect(connected.members[0]?.reasons).toEqual(['reports itself primary while pg1 holds the leader lock']);
  });

  it('a member that is down is not ranked on its stale position', () => {
    const r = computeReadiness([primary(), member('pg1', { state: 'stopped', pgRunning: false, lsn: null })]);
    expect(r.members[0]?.reasons).toEqual(['not running (state: stopped)']);
    expect(r.candidate).toBeNull();
    expect(r.blockers).toEqual(['no eligible member']);
    expect(r.rto).toBeNull();
    expect(r.summary).toBe('nobody would be promoted: no eligible member; pg1: not running (state: stopped)');
  });

  it('synchronous mode: only /sync members may take over, and a sync standby loses nothing', () => {
    const sync = { synchronousMode: true, sync: { leader: 'pg0', syncStandby: ['pg2'] } };
    const r = computeReadiness([primary({ haOver: sync }), member('pg1', { lsn: 100 * MB, haOver: sync }), member('pg2', { lsn: 100 * MB - 100, haOver: sync })]);
    expect(r.candidate).toBe('pg2');
    expect(r.members.find((m) => m.name === 'pg1')?.reasons).toEqual(['not a synchronous standby in /sync (synchronous_mode)']);
    expect(r.rpo).toMatchObject({ bytes: 0 });
    expect(r.rpo?.basis).toMatch(/synchronous standby in \/sync/);
  });

  it('quorum mode: a member takes over only with quorum + 1 votes of the voting set, voter or not, as the agents check', () => {
    // ANY 1 (pg1, pg2): /sync = {leader: pg0, voters: [pg1, pg2], quorum: 1}; pg3 does not vote
    const q = { synchronousMode: true, sync: { leader: 'pg0', syncStandby: ['pg1', 'pg2'], quorum: 1 } };
    const members = [
      primary({ haOver: q }),
      member('pg1', { lsn: 100 * MB, haOver: q }),
      member('pg2', { lsn: 100 * MB - 100, haOver: q }),
      member('pg3', { lsn: 100 * MB - 50, haOver: q }),
    ];
    const r = computeReadiness(members);
    expect(r.basis.quorum).toEqual({ leader: 'pg0', voters: ['pg1', 'pg2'], quorum: 1 });
    expect(r.basis.syncStandbys).toBeNull();
    expect(r.candidate).toBe('pg1');
    expect(r.rpo).toMatchObject({ bytes: 0 });
    expect(r.rpo?.basis).toMatch(/2 of \/sync's voting set are not ahead of pg1/);
    expect(r.members.find((m) => m.name === 'pg2')?.reasons).toEqual([
      'quorum not reached: 1 of the voting set (pg0, pg1, pg2) are not ahead of me, 2 needed (synchronous_mode: quorum)',
    ]);
    // pg1 gone: pg2 has only its own vote (pg3 is ahead of it), pg3 only pg2's: nobody has every acknowledged commit for sure
    const after = computeReadiness(members, { without: ['pg1'] });
    expect(after.candidate).toBeNull();
    expect(after.members.map((m) => [m.name, m.eligible])).toEqual([
      ['pg3', false],
      ['pg2', false],
    ]);
    // a non-voter with both voters behind it may take over
    const ahead = computeReadiness([members[0]!, member('pg1', { lsn: 100 * MB - 200, haOver: q }), members[2]!, member('pg3', { lsn: 100 * MB, haOver: q })]);
    expect(ahead.candidate).toBe('pg3');
  });

  it('a paused cluster promotes nobody', () => {
    const r = computeReadiness([primary({ paused: true }), member('pg1', { paused: true })]);
    expect(r.candidate).toBeNull();
    expect(r.blockers).toEqual(['the cluster is paused: no automatic failover']);
  });

  it("a leader whose fence is not armed: agent death waits for the lease, and the panel says so", () => {
    const r = computeReadiness([primary({ haOver: { fence: { armed: false, leaseKnown: false } } }), member('pg1')]);
    expect(r.warnings).toContain("pg0's fence is not armed: if its agent dies, failover waits for the lease");
    expect(r.rto?.agentDeath).toMatchObject({ minSeconds: 21, maxSeconds: 35 });
    expect(r.rto?.agentDeath.basis).toMatch(/not armed/);
  });

  it("equal position and priority: the tie is named, and a higher failover_priority breaks it", () => {
    expect(computeReadiness([primary(), member('pg1'), member('pg2')])).toMatchObject({ candidate: 'pg1', tiesWith: ['pg2'] });
    expect(computeReadiness([primary(), member('pg1'), member('pg2', { tags: { failover_priority: 5 } })])).toMatchObject({ candidate: 'pg2', tiesWith: [] });
  });

  it("uses Patroni's defaults when no member reports its settings, and says so", () => {
    const r = computeReadiness([primary({ ha: undefined }), member('pg1', { ha: undefined })]);
    expect(r.basis).toMatchObject({ settingsFrom: null, ttl: 30, loopWait: 10 });
    expect(r.warnings).toContain("no member reports its settings: Patroni's defaults assumed");
  });
});

describe('what-if: member X dies', () => {
  const cluster = () => [primary(), member('pg1', { lsn: 100 * MB - 10 }), member('pg2', { lsn: 100 * MB - 5000 }), member('pg3', { tags: { nofailover: true } })];

  it('the leader dies: the best candidate is promoted, at its lag', () => {
    const w = whatIf(cluster(), 'pg0');
    expect(w.failover).toBe(true);
    expect(w.after.candidate).toBe('pg1');
    expect(w.sentence).toBe('If pg0 dies, pg1 is promoted: 21–35 s if its node crashes (1–8 s if only its agent dies), 10 bytes at risk.');
  });

  it('a tie is named in the sentence', () => {
    expect(whatIf([primary(), member('pg1'), member('pg2')], 'pg0').sentence).toMatch(/^If pg0 dies, pg1 \(or pg2, whichever takes the lock first\) is promoted: /);
  });

  it('the best candidate dies: the next one would be promoted, at a higher cost', () => {
    const w = whatIf(cluster(), 'pg1');
    expect(w.failover).toBe(false);
    expect(w.after.candidate).toBe('pg2');
    expect(w.after.rpo?.bytes).toBe(5000);
    expect(w.after.members.map((m) => m.name)).not.toContain('pg1');
    expect(w.sentence).toMatch(/^If pg1 dies, the best candidate is gone; should pg0 die next, pg2 would be promoted/);
  });

  it('the last eligible member dies: nobody would be promoted', () => {
    const w = whatIf([primary(), member('pg1'), member('pg3', { tags: { nofailover: true } })], 'pg1');
    expect(w.after.candidate).toBeNull();
    expect(w.sentence).toBe('If pg1 dies, the best candidate is gone; should pg0 die next, nobody would be promoted.');
  });
});
