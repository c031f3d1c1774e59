import { describe, expect, it } from 'vitest';
import {
  AGENT_EVENT_TYPES,
  MAX_MESSAGE_BYTES,
  agentSocketUrl,
  encodeMessage,
  parseAgentMessage,
  parseServerMessage,
  type TAgentEvent,
  type THello,
  type TSnapshot,
} from '../src/index.ts';

const AT = '2026-03-01T10:00:00.000Z';

function hello(over: Partial<THello> = {}): THello {
  return { type: 'hello', v: 1, token: 'kt_secret', cluster: 'demo', member: 'pg1', agentVersion: '0.1.0', ...over };
}

function snapshot(over: Partial<TSnapshot> = {}): TSnapshot {
  return {
    type: 'snapshot',
    seq: 7,
    at: AT,
    role: 'replica',
    state: 'running',
    pgRunning: true,
    timeline: 2,
    lsn: 50_331_648,
    receiveLsn: 50_331_648,
    replayLsn: 50_331_000,
    lag: { leaderLsn: 50_331_648, receiveBytes: 0, replayBytes: 648, receiveSeconds: 0, replaySeconds: 0.4 },
    pendingRestart: true,
    pendingRestartReasons: { max_connections: { old_value: '100', new_value: '200' } },
    tags: { nofailover: false, zone: 'a' },
    dcsLastSeen: 1_772_359_200,
    dcsOk: true,
    failoverReadiness: { eligible: true, reasons: [] },
    leader: 'pg0',
    members: [
      { name: 'pg0', role: 'primary', state: 'running', timeline: 2, lsn: 50_331_648, tags: {}, pendingRestart: false },
      { name: 'pg1', role: 'replica', state: 'running', timeline: 2, lsn: 50_331_648, tags: {}, pendingRestart: true },
    ],
    lastDecision: { verdict: 'replica_ok', reason: 'no action. I am (pg1), a secondary, and following a leader (pg0)', actions: [] },
    paused: false,
    ...over,
  };
}

const EVENTS: TAgentEvent[] = [
  { type: 'event', seq: 1, at: AT, event: 'role_change', summary: 'pg1: replica -> primary', details: { from: 'replica', to: 'primary' } },
  { type: 'event', seq: 2, at: AT, event: 'failover', summary: 's', details: { previousLeader: 'pg0', timeline: 3, manual: false } },
  { type: 'event', seq: 3, at: AT, event: 'switchover', summary: 's', details: { previousLeader: 'pg0', timeline: 3, scheduledAt: null } },
  { type: 'event', seq: 4, at: AT, event: 'postgres_down', summary: 's', details: { state: 'crashed', wasRole: 'primary' } },
  { type: 'event', seq: 5, at: AT, event: 'postgres_up', summary: 's', details: { role: 'replica', downSeconds: 12.5 } },
  { type: 'event', seq: 6, at: AT, event: 'dcs_unreachable', summary: 's', details: { error: 'deadline exceeded' } },
  { type: 'event', seq: 7, at: AT, event: 'dcs_back', summary: 's', details: { unreachableSeconds: 31 } },
  { type: 'event', seq: 8, at: AT, event: 'lag_above_threshold', summary: 's', details: { lagBytes: 2_000_000, thresholdBytes: 1_048_576 } },
  { type: 'event', seq: 9, at: AT, event: 'lag_back', summary: 's', details: { lagBytes: 0, thresholdBytes: 1_048_576 } },
  { type: 'event', seq: 10, at: AT, event: 'pending_restart', summary: 's', details: { reasons: { shared_buffers: { old_value: '128MB', new_value: '256MB' } } } },
  { type: 'event', seq: 11, at: AT, event: 'decision_changed', summary: 's', details: { verdict: 'leader_renew', reason: 'no action. I am (pg0), the leader with the lock', actions: ['renewLock'], previousReason: null }, cause: { verdict: 'leader_renew' } },
  { type: 'event', seq: 12, at: AT, event: 'lock_acquired', summary: 's', details: { ttlSeconds: 30 } },
  { type: 'event', seq: 13, at: AT, event: 'lock_lost', summary: 's', details: { error: 'the leader lock is no longer mine', lastRenewedAt: AT } },
  { type: 'event', seq: 14, at: AT, event: 'leader_key_gone', summary: 's', details: { previousLeader: 'pg0' } },
  { type: 'event', seq: 15, at: AT, event: 'promoted', summary: 's', details: { previousLeader: 'pg0', timeline: 2, lsn: 100, leaderLsn: 100, behindBytes: 0 }, cause: { verdict: 'race_won', decision: 'promoted self to leader by acquiring session lock', operationId: 'op-1' } },
  { type: 'event', seq: 16, at: AT, event: 'demoted', summary: 's', details: { mode: 'immediate-nolock', lastLsn: null } },
  { type: 'event', seq: 17, at: AT, event: 'fenced', summary: 's', details: { by: 'guard', leaseRenewedAt: AT, leaseExpiresAt: AT, lostAt: AT, stoppedAt: AT, stopMs: 120, beforeExpiry: true, lastLsn: 4096 } },
  { type: 'event', seq: 18, at: AT, event: 'rewind_started', summary: 's', details: { from: 'pg1' } },
  { type: 'event', seq: 19, at: AT, event: 'rewind_done', summary: 's', details: { from: 'pg1', ok: true, rewound: true, seconds: 3.2, error: null } },
  { type: 'event', seq: 20, at: AT, event: 'reclone', summary: 's', details: { kind: 'reinitialize', from: 'pg1', phase: 'done', seconds: 10, error: null } },
];

function agentError(raw: unknown): string {
  const r = parseAgentMessage(typeof raw === 'string' ? raw : JSON.stringify(raw));
  if (r.ok) throw new Error('expected a parse failure');
  return r.error;
}

function serverError(raw: unknown): string {
  const r = parseServerMessage(typeof raw === 'string' ? raw : JSON.stringify(raw));
  if (r.ok) throw new Error('expected a parse failure');
  return r.error;
}

describe('agent -> server messages', () => {
  it('accepts a hello with and without the optional fields', () => {
    expect(parseAgentMessage(encodeMessage(hello()))).toEqual({ ok: true, message: hello() });
    const full = hello({ incarnation: 'b6f1', resumeFrom: 42, dropped: { snapshots: 3, events: 0 } });
    expect(parseAgentMessage(encodeMessage(full))).toEqual({ ok: true, message: full });
  });

  it('refuses a hello without a token, naming the field', () => {
    const { token: _token, ...rest } = hello();
    expect(agentError(rest)).toMatch(/^hello message: token: /);
    expect(agentError(hello({ token: '' }))).toMatch(/token/);
  });

  it('refuses a hello of another protocol version with unsupported_version', () => {
    const r = parseAgentMessage(JSON.stringify({ ...hello(), v: 2 }));
    expect(r).toMatchObject({ ok: false, code: 'unsupported_version' });
  });

  it('accepts a full snapshot and one of a stopped member with unknowns as null', () => {
    expect(parseAgentMessage(encodeMessage(snapshot()))).toEqual({ ok: true, message: snapshot() });
    const stopped = snapshot({
      role: 'uninitialized',
      state: 'waiting for leader',
      pgRunning: false,
      timeline: null,
      lsn: null,
      receiveLsn: null,
      replayLsn: null,
      lag: { leaderLsn: null, receiveBytes: null, replayBytes: null, receiveSeconds: null, replaySeconds: null },
      pendingRestart: false,
      pendingRestartReasons: {},
      dcsLastSeen: null,
      dcsOk: false,
      failoverReadiness: { eligible: false, reasons: ['DCS unreachable'] },
      leader: null,
      members: [],
      lastDecision: null,
    });
    expect(parseAgentMessage(encodeMessage(stopped)).ok).toBe(true);
  });

  it.each([
    ['a state outside MemberState', { state: 'sleeping' }, /^snapshot message: state: /],
    ['a negative lag', { lag: { ...snapshot().lag, replayBytes: -1 } }, /lag\.replayBytes/],
    ['a fractional LSN', { lsn: 1.5 }, /^snapshot message: lsn: /],
    ['a seq of 0', { seq: 0 }, /seq/],
    ['a timestamp that is not ISO 8601', { at: 'yesterday' }, /at: /],
    ['readiness reasons that are not strings', { failoverReadiness: { eligible: false, reasons: [1] } }, /failoverReadiness\.reasons\.0/],
    ['a pending restart reason without new_value', { pendingRestartReasons: { a: { old_value: '1' } } }, /pendingRestartReasons\.a\.new_value/],
    ['a member summary without a name', { members: [{ role: 'replica' }] }, /members\.0\.name/],
  ])('refuses a snapshot with %s, naming the field', (_what, patch, pattern) => {
    expect(agentError({ ...snapshot(), ...patch })).toMatch(pattern);
  });

  it.each(EVENTS.map((e) => [e.event, e] as const))('accepts a %s event', (_name, e) => {
    expect(parseAgentMessage(encodeMessage(e))).toEqual({ ok: true, message: e });
  });

  it('has an example for every event type', () => {
    expect(EVENTS.map((e) => e.event).sort()).toEqual([...AGENT_EVENT_TYPES].sort());
  });

  it('refuses a fenced event without its proof, and a cause with a bad operation id', () => {
    const fenced = EVENTS.find((e) => e.event === 'fenced')!;
    expect(agentError({ ...fenced, details: { ...fenced.details, stoppedAt: undefined } })).toMatch(/details\.stoppedAt/);
    expect(agentError({ ...fenced, cause: { operationId: 'no spaces allowed' } })).toMatch(/cause\.operationId/);
  });

  it('refuses an event of an unknown type and one whose details do not match its type', () => {
    expect(agentError({ ...EVENTS[0], event: 'meteor_strike' })).toMatch(/event/);
    expect(agentError({ ...EVENTS[0], details: { from: 'replica', to: 'boss' } })).toMatch(/^event message: details\.to: /);
    expect(agentError({ ...EVENTS[7], details: { lagBytes: 'a lot', thresholdBytes: 1 } })).toMatch(/details\.lagBytes/);
  });

  it('strips unknown keys from event details instead of refusing them (forward compatible)', () => {
    const r = parseAgentMessage(JSON.stringify({ ...EVENTS[0], details: { from: 'replica', to: 'primary', extra: 1 } }));
    expect(r.ok && r.message.type === 'event' && r.message.details).toEqual({ from: 'replica', to: 'primary' });
  });

  it('accepts operation progress and results and refuses them without an operation id', () => {
    const at = '2026-01-01T00:00:00.000Z';
    const progress = { type: 'operation_progress', seq: 5, at, operationId: 'op-1', op: 'restart', steps: [{ at, message: 'accepted' }] };
    const result = { type: 'operation_result', seq: 6, at, operationId: 'op-1', op: 'restart', outcome: 'failed', code: 'unavailable', httpStatus: 503, message: 'restart conditions are not satisfied: PostgreSQL is not running', steps: [] };
    expect(parseAgentMessage(JSON.stringify(progress))).toEqual({ ok: true, message: progress });
    expect(parseAgentMessage(JSON.stringify(result))).toEqual({ ok: true, message: result });
    expect(agentError({ ...result, operationId: undefined })).toMatch(/operationId/);
    expect(agentError({ ...result, outcome: 'maybe' })).toMatch(/outcome/);
    expect(agentError({ ...progress, steps: [] })).toMatch(/steps/);
  });
});

describe('server -> agent messages', () => {
  it.each([
    ['welcome', { type: 'welcome', v: 1, ackedSeq: 0 }],
    ['ack', { type: 'ack', seq: 12 }],
    ['error', { type: 'error', code: 'unauthorized', message: 'unknown agent token for cluster demo' }],
    ['command', { type: 'command', command: { id: 'op-1', op: 'switchover', request: { leader: 'pg1', candidate: 'pg2' }, reason: 'maintenance' } }],
  ])('accepts a %s', (_name, m) => {
    expect(parseServerMessage(JSON.stringify(m))).toEqual({ ok: true, message: m });
  });

  it.each([
    ['a welcome without ackedSeq', { type: 'welcome', v: 1 }, /^welcome message: ackedSeq: /],
    ['a negative ackedSeq', { type: 'welcome', v: 1, ackedSeq: -1 }, /ackedSeq/],
    ['an ack with a string seq', { type: 'ack', seq: '3' }, /^ack message: seq: /],
    ['an error with an unknown code', { type: 'error', code: 'oops', message: 'x' }, /^error message: code: /],
    ['a command of an unknown op', { type: 'command', command: { id: 'op-1', op: 'drop_database' } }, /command\.op/],
    ['a command without an id', { type: 'command', command: { op: 'reload' } }, /command\.id/],
  ])('refuses %s, naming the field', (_what, m, pattern) => {
    expect(serverError(m)).toMatch(pattern);
  });

  it('refuses a welcome of another protocol version with unsupported_version', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'welcome', v: 2, ackedSeq: 0 }))).toMatchObject({ ok: false, code: 'unsupported_version' });
  });
});

describe('framing', () => {
  it('refuses text that is not JSON, or JSON that is not an object', () => {
    expect(parseAgentMessage('{"type":')).toMatchObject({ ok: false, code: 'malformed', error: expect.stringMatching(/not valid JSON/) });
    expect(parseAgentMessage('[1,2]')).toMatchObject({ ok: false, code: 'malformed', error: expect.stringMatching(/JSON object/) });
    expect(parseServerMessage('null')).toMatchObject({ ok: false, code: 'malformed' });
  });

  it('refuses an unknown message type, listing the known ones', () => {
    expect(agentError({ type: 'gossip' })).toMatch(/^type: .*hello/);
  });

  it('refuses a frame above MAX_MESSAGE_BYTES before parsing it', () => {
    const big = JSON.stringify({ ...hello(), token: 'x'.repeat(MAX_MESSAGE_BYTES) });
    expect(parseAgentMessage(big)).toMatchObject({ ok: false, code: 'too_large' });
    // Multi-byte characters count as bytes, not as UTF-16 units.
    const wide = JSON.stringify({ type: 'ack', seq: 1, pad: 'é'.repeat(MAX_MESSAGE_BYTES / 2) });
    expect(parseServerMessage(wide)).toMatchObject({ ok: false, code: 'too_large' });
  });
});

describe('agentSocketUrl', () => {
  it.each([
    ['http://cp.example:3000', 'ws://cp.example:3000/agents/ws'],
    ['https://cp.example/', 'wss://cp.example/agents/ws'],
    ['https://cp.example/keel', 'wss://cp.example/keel/agents/ws'],
    ['http://cp.example/agents/ws', 'ws://cp.example/agents/ws'],
    ['http://user:pw@cp.example/?token=x#f', 'ws://cp.example/agents/ws'],
  ])('maps %s to %s', (base, expected) => {
    expect(agentSocketUrl(base)).toBe(expected);
  });

  it('refuses other schemes', () => {
    expect(() => agentSocketUrl('ftp://cp.example')).toThrow(/http/);
  });
});
