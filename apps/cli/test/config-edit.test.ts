import { describe, expect, it } from 'vitest';
import { applyMergePatch, applySetPairs, deepEqual, InvalidSetting, mergePatch, pgPairs, type JsonObject } from '../src/config-edit.ts';

const base = (): JsonObject => ({
  ttl: 30,
  loop_wait: 10,
  postgresql: { use_pg_rewind: false, parameters: { max_connections: 100, wal_level: 'replica' } },
});

describe('-s key=value (patronictl apply_config_changes)', () => {
  it('sets dotted keys with YAML-typed values', () => {
    const out = applySetPairs(base(), ['ttl=40', 'postgresql.use_pg_rewind=true', 'synchronous_mode=on', 'postgresql.parameters.work_mem=64MB']);
    expect(out).toEqual({
      ttl: 40,
      loop_wait: 10,
      synchronous_mode: true,
      postgresql: { use_pg_rewind: true, parameters: { max_connections: 100, wal_level: 'replica', work_mem: '64MB' } },
    });
  });

  it('treats everything after postgresql.parameters. as one parameter name, dots included', () => {
    const out = applySetPairs(base(), ['postgresql.parameters.pg_stat_statements.max=5000']);
    expect((out.postgresql as JsonObject).parameters).toMatchObject({ 'pg_stat_statements.max': 5000 });
  });

  it('removes a key given an empty value or null, and a mapping that becomes empty', () => {
    const out = applySetPairs(base(), ['loop_wait=', 'postgresql.parameters.max_connections=null', 'postgresql.parameters.wal_level=', 'postgresql.use_pg_rewind=']);
    expect(out).toEqual({ ttl: 30 });
  });

  it('creates intermediate mappings, replacing a scalar in the way', () => {
    expect(applySetPairs({ slots: 'x' }, ['slots.s1.type=logical'])).toEqual({ slots: { s1: { type: 'logical' } } });
  });

  it('splits at the first = only, so values may contain =', () => {
    expect(applySetPairs({}, ["postgresql.parameters.primary_conninfo='host=a port=5'"])).toEqual({ postgresql: { parameters: { primary_conninfo: 'host=a port=5' } } });
  });

  it('rejects a pair without = or with an empty key', () => {
    expect(() => applySetPairs({}, ['ttl'])).toThrow(InvalidSetting);
    expect(() => applySetPairs({}, ['=3'])).toThrow(/empty key/);
    expect(() => applySetPairs({}, ['a..b=3'])).toThrow(/empty key/);
  });

  it('does not change its input', () => {
    const input = base();
    applySetPairs(input, ['ttl=1']);
    expect(input).toEqual(base());
  });
});

describe('-p param=value', () => {
  it('is -s postgresql.parameters.param=value', () => {
    expect(pgPairs(['max_connections=200', ' work_mem=4MB'])).toEqual(['postgresql.parameters.max_connections=200', 'postgresql.parameters.work_mem=4MB']);
    expect(applySetPairs(base(), pgPairs(['max_connections=200']))).toMatchObject({ postgresql: { parameters: { max_connections: 200 } } });
  });
});

describe('JSON merge patch (the PATCH /config body)', () => {
  it('holds only what changed, with null for removed keys', () => {
    const after = applySetPairs(base(), ['postgresql.parameters.max_connections=200', 'loop_wait=', 'pause=true']);
    expect(mergePatch(base(), after)).toEqual({ loop_wait: null, pause: true, postgresql: { parameters: { max_connections: 200 } } });
  });

  it('replaces arrays and type changes whole', () => {
    expect(mergePatch({ pg_hba: ['a'], x: { y: 1 } }, { pg_hba: ['a', 'b'], x: 3 })).toEqual({ pg_hba: ['a', 'b'], x: 3 });
  });

  it('round-trips: applying the patch to the old config gives the new one', () => {
    const before = base();
    const after = applySetPairs(before, ['ttl=20', 'postgresql.parameters.wal_level=', 'slots.s.type=physical', 'check_timeline=true']);
    expect(applyMergePatch(before, mergePatch(before, after))).toEqual(after);
  });

  it('is empty for equal configurations', () => {
    expect(mergePatch(base(), base())).toEqual({});
    expect(deepEqual(base(), base())).toBe(true);
    expect(deepEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
  });

  it('applies an --apply file as patronictl patches: nested merge, null removes', () => {
    expect(applyMergePatch(base(), { ttl: null, postgresql: { parameters: { work_mem: '8MB' } } })).toEqual({
      loop_wait: 10,
      postgresql: { use_pg_rewind: false, parameters: { max_connections: 100, wal_level: 'replica', work_mem: '8MB' } },
    });
  });
});
