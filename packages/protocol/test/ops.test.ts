import { describe, expect, it } from 'vitest';
import {
  OperationError,
  ZCommand,
  ZConfigPatch,
  ZReinitializeRequest,
  ZReloadRequest,
  ZRestartRequest,
  ZSwitchoverRequest,
  mergePatch,
  parseOperationRequest,
  pythonTruthy,
} from '../src/index.ts';

const invalid = (schema: Parameters<typeof parseOperationRequest>[0], body: unknown): string => {
  try {
    parseOperationRequest(schema, body);
  } catch (e) {
    expect(e).toBeInstanceOf(OperationError);
    expect((e as OperationError).httpStatus).toBe(400);
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
};

describe('switchover / failover bodies (Patroni: leader or master, candidate or member)', () => {
  it.each([
    [{ leader: 'pg0', candidate: 'pg1' }, { leader: 'pg0', candidate: 'pg1' }],
    [{ master: 'pg0', member: 'pg1' }, { leader: 'pg0', candidate: 'pg1' }],
    [{ leader: '', master: 'pg0', candidate: null, member: 'pg2' }, { leader: 'pg0', candidate: 'pg2' }],
    [{ leader: 'pg0', scheduled_at: '2030-01-01T00:00+00:00', unknown: 1 }, { leader: 'pg0', scheduled_at: '2030-01-01T00:00+00:00' }],
    [{}, {}],
  ])('%j -> %j', (body, want) => {
    expect(parseOperationRequest(ZSwitchoverRequest, body)).toEqual(want);
  });
  it('refuses a missing body, an array and a non-string name', () => {
    expect(invalid(ZSwitchoverRequest, undefined)).toMatch(/JSON object/);
    expect(invalid(ZSwitchoverRequest, [])).toMatch(/JSON object/);
    expect(invalid(ZSwitchoverRequest, { leader: 3 })).toMatch(/^leader: /);
  });
});

describe('restart bodies', () => {
  it('takes an empty body and reads restart_pending with Python truthiness', () => {
    expect(parseOperationRequest(ZRestartRequest, undefined)).toEqual({ restart_pending: false });
    expect(parseOperationRequest(ZRestartRequest, '')).toEqual({ restart_pending: false });
    for (const v of [true, 'True', 'false', 1, 'yes', [0]]) expect(parseOperationRequest(ZRestartRequest, { restart_pending: v }).restart_pending).toBe(true);
    for (const v of [false, '', 0, null, [], {}]) expect(parseOperationRequest(ZRestartRequest, { restart_pending: v }).restart_pending).toBe(false);
  });
  it('accepts master and primary for the primary, and timeouts as numbers or "30s"', () => {
    expect(parseOperationRequest(ZRestartRequest, { role: 'master' }).role).toBe('primary');
    expect(parseOperationRequest(ZRestartRequest, { role: 'primary' }).role).toBe('primary');
    expect(parseOperationRequest(ZRestartRequest, { role: 'replica', timeout: '30s' })).toMatchObject({ role: 'replica', timeout: 30 });
  });
  it('names every bad field', () => {
    expect(invalid(ZRestartRequest, { role: 'leader' })).toMatch(/role should be either primary \(master\) or replica/);
    expect(invalid(ZRestartRequest, { bogus: 1 })).toBe('unknown restart condition: bogus');
    expect(invalid(ZRestartRequest, { timeout: -1 })).toMatch(/^timeout: expected a positive number/);
    expect(invalid(ZRestartRequest, { postgres_version: 'fifteen' })).toMatch(/^postgres_version: expected a version/);
    expect(invalid(ZRestartRequest, [1])).toMatch(/JSON object/);
  });
});

describe('other bodies', () => {
  it('reinitialize: empty body, force read with parse_bool', () => {
    expect(parseOperationRequest(ZReinitializeRequest, undefined)).toEqual({ force: false, from_leader: false });
    expect(parseOperationRequest(ZReinitializeRequest, { force: 'True', from_leader: 'on' })).toEqual({ force: true, from_leader: true });
    expect(parseOperationRequest(ZReinitializeRequest, { force: 'maybe' })).toEqual({ force: false, from_leader: false });
  });
  it('reload ignores any body', () => {
    expect(parseOperationRequest(ZReloadRequest, 'whatever')).toEqual({});
  });
  it('a config patch is a JSON object; mergePatch follows RFC 7386', () => {
    expect(invalid(ZConfigPatch, [1])).toMatch(/merge-patch/);
    expect(mergePatch({ a: { b: 1, c: 2 }, d: 1 }, { a: { b: null, e: 3 }, d: [1] })).toEqual({ a: { c: 2, e: 3 }, d: [1] });
  });
  it('pythonTruthy', () => {
    expect([NaN, -0, 'x', ' '].map(pythonTruthy)).toEqual([false, false, true, true]);
  });
});

describe('ZCommand', () => {
  it('carries the operation id, reason and ticket and reuses the request schemas', () => {
    const c = ZCommand.parse({ id: 'op-1', op: 'switchover', request: { master: 'pg0' }, reason: 'kernel update', ticket: 'CHG-1' });
    expect(c).toEqual({ id: 'op-1', op: 'switchover', request: { leader: 'pg0' }, reason: 'kernel update', ticket: 'CHG-1' });
    expect(ZCommand.parse({ id: 'op-2', op: 'restart', request: {} })).toEqual({ id: 'op-2', op: 'restart', request: { restart_pending: false } });
    expect(ZCommand.safeParse({ id: 'op 3', op: 'reload' }).success).toBe(false);
    expect(ZCommand.safeParse({ id: 'op-3', op: 'restart', request: { role: 'boss' } }).success).toBe(false);
  });
});
