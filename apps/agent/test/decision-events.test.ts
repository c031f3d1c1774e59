import type { Decision } from '@keel/ha-core';
import { ZAgentEvent } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { AgentEvents, decisionKey, type TEventBody } from '../src/agent-events.ts';
import { decisionEvents, type DecisionSeen } from '../src/decision-events.ts';
import { T0, cluster, observation } from './uplink-builders.ts';

const d = (verdict: Decision['verdict'], reason: string): Decision => ({ verdict, reason, actions: [{ type: 'renewLock' }] });

describe('decision events (the HA loop reports its own decisions)', () => {
  it('reports a decision sentence once, and again only when it changes (numbers ignored)', () => {
    let seen: DecisionSeen = { leader: null, reason: null };
    const out: TEventBody[][] = [];
    const ticks: Array<[string, Decision['verdict'], string]> = [
      ['first', 'replica_ok', 'no action. I am (pg1), a secondary, and following a leader (pg0)'],
      ['same', 'replica_ok', 'no action. I am (pg1), a secondary, and following a leader (pg0)'],
      ['countdown 4', 'waiting_for_candidate', 'switchover: waiting for (pg2) to stream from me (4 s left)'],
      ['countdown 3', 'waiting_for_candidate', 'switchover: waiting for (pg2) to stream from me (3 s left)'],
      ['back', 'replica_ok', 'no action. I am (pg1), a secondary, and following a leader (pg0)'],
    ];
    ticks.forEach(([, verdict, reason], i) => {
      const r = decisionEvents(seen, observation({ now: T0 + i * 1000 }), d(verdict, reason), ['renewLock']);
      seen = r.next;
      out.push(r.events);
    });
    expect(out.map((e) => e.map((x) => x.event))).toEqual([['decision_changed'], [], ['decision_changed'], [], ['decision_changed']]);
    const changed = out[2]![0]!;
    expect(changed).toMatchObject({
      at: new Date(T0 + 2000).toISOString(),
      summary: 'pg1: switchover: waiting for (pg2) to stream from me (4 s left)',
      details: { verdict: 'waiting_for_candidate', previousReason: 'no action. I am (pg1), a secondary, and following a leader (pg0)', actions: ['renewLock'] },
      cause: { verdict: 'waiting_for_candidate' },
    });
    for (const e of out.flat()) expect(ZAgentEvent.safeParse({ ...e, seq: 1 }).success, JSON.stringify(e)).toBe(true);
    expect(decisionKey('lag 1024 B, 3.5 s')).toBe(decisionKey('lag 0 B, 12 s'));
  });

  it('reports the leader key of another member gone, not when the DCS cannot be read, and not for my own key', () => {
    const why = d('replica_ok', 'x');
    let seen: DecisionSeen = { leader: null, reason: 'x' };
    const step = (o: Parameters<typeof observation>[0]) => {
      const r = decisionEvents(seen, observation(o), why, []);
      seen = r.next;
      return r.events.map((e) => e.event);
    };
    expect(step({ cluster: cluster({ leader: 'pg0' }) })).toEqual([]);
    expect(step({ dcsError: 'deadline exceeded' })).toEqual([]); // unknown, not gone
    expect(seen.leader).toBe('pg0');
    const gone = decisionEvents(seen, observation({ cluster: cluster({ leader: null }) }), why, []);
    expect(gone.events).toHaveLength(1);
    expect(gone.events[0]).toMatchObject({ event: 'leader_key_gone', details: { previousLeader: 'pg0' } });
    seen = gone.next;
    expect(step({ cluster: cluster({ leader: 'pg1' }) })).toEqual([]);
    expect(step({ cluster: cluster({ leader: null }) })).toEqual([]); // pg1 is me
  });
});

describe('AgentEvents', () => {
  it('keeps what was emitted before the uplink attached (bounded), then forwards in order', () => {
    const ev = new AgentEvents();
    for (let i = 0; i < 300; i++) ev.emit('lock_acquired', `n${i}`, { ttlSeconds: 30 }, null, T0 + i);
    const got: TEventBody[] = [];
    ev.attach((e) => got.push(e));
    expect(got).toHaveLength(256);
    expect(got[0]!.summary).toBe('n44');
    ev.emit('demoted', 'later', { mode: 'immediate', lastLsn: 5 }, { verdict: 'demote' });
    expect(got.at(-1)).toMatchObject({ event: 'demoted', cause: { verdict: 'demote' } });
    expect(ZAgentEvent.safeParse({ ...got.at(-1), seq: 1 }).success).toBe(true);
  });

  it('latches a lasting condition until unlatched, and a throwing sink costs nothing', () => {
    const ev = new AgentEvents();
    expect(ev.latch('lock_lost')).toBe(true);
    expect(ev.latch('lock_lost')).toBe(false);
    ev.unlatch('lock_lost');
    expect(ev.latch('lock_lost')).toBe(true);
    ev.attach(() => {
      throw new Error('boom');
    });
    expect(() => ev.emit('lock_acquired', 's', { ttlSeconds: 1 })).not.toThrow();
  });
});
