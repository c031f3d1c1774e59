import { describe, expect, it } from 'vitest';
import { validateDynamicConfig } from '../src/config.ts';

describe('slots and ignore_slots in the dynamic configuration', () => {
  it('accepts Patroni\'s forms and normalises them', () => {
    const r = validateDynamicConfig({
      slots: { barman: null, phys: { type: 'physical' }, cdc: { type: 'logical', database: 'postgres', plugin: 'pgoutput' }, implicit: { database: 'app', plugin: 'test_decoding' } },
      ignore_slots: [{ name: 'keep_me' }, { type: 'logical', database: 'app', plugin: 'wal2json' }],
    });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.config['slots']).toEqual({
      barman: { type: 'physical' },
      phys: { type: 'physical' },
      cdc: { type: 'logical', database: 'postgres', plugin: 'pgoutput' },
      implicit: { type: 'logical', database: 'app', plugin: 'test_decoding' },
    });
    expect(r.config['ignore_slots']).toEqual([{ name: 'keep_me' }, { type: 'logical', database: 'app', plugin: 'wal2json' }]);
  });

  const bad: Array<[string, unknown, string]> = [
    ['an upper-case slot name', { slots: { Cdc: null } }, 'slots.Cdc: not a valid slot name'],
    ['a slot name longer than 63 characters', { slots: { ['s'.repeat(64)]: null } }, 'not a valid slot name'],
    ['a slot name with a dash', { slots: { 'my-slot': null } }, 'slots.my-slot: not a valid slot name'],
    ['an unknown type', { slots: { s: { type: 'logicl', database: 'd', plugin: 'p' } } }, 'slots.s.type: expected physical or logical, got "logicl"'],
    ['a logical slot without a database', { slots: { s: { type: 'logical', plugin: 'pgoutput' } } }, 'slots.s.database: required'],
    ['a logical slot without a plugin', { slots: { s: { type: 'logical', database: 'postgres' } } }, 'slots.s.plugin: required'],
    ['a database without a type or plugin', { slots: { s: { database: 'postgres' } } }, 'slots.s.plugin: required'],
    ['a physical slot with a database', { slots: { s: { type: 'physical', database: 'postgres' } } }, 'slots.s: a physical slot has no database or plugin'],
    ['an unknown key in a slot', { slots: { s: { type: 'physical', size: 1 } } }, 'slots.s.size: unknown key'],
    ['a slot that is a string', { slots: { s: 'logical' } }, 'slots.s: expected a mapping'],
    ['slots that are a list', { slots: ['a'] }, 'slots: expected a mapping of slot names'],
    ['two names for the permanent slots', { slots: { a: null }, permanent_slots: { b: null } }, 'permanent_slots and slots both define permanent slots'],
    ['ignore_slots that is a mapping', { ignore_slots: { name: 'x' } }, 'ignore_slots: expected a list of matchers'],
    ['an empty matcher', { ignore_slots: [{}] }, 'ignore_slots[0]: expected a mapping with at least one of'],
    ['a matcher with an unknown key', { ignore_slots: [{ slot: 'x' }] }, 'ignore_slots[0].slot: unknown key'],
    ['a matcher with a bad type', { ignore_slots: [{ type: 'both' }] }, 'ignore_slots[0].type: expected physical or logical'],
    ['a matcher with a bad name', { ignore_slots: [{ name: 'X y' }] }, 'ignore_slots[0].name: not a valid slot name'],
    ['a database name beyond 63 bytes', { slots: { s: { type: 'logical', database: 'd'.repeat(64), plugin: 'p' } } }, 'slots.s.database: must be at most 63 bytes'],
  ];
  it.each(bad)('refuses %s with a message naming the key, and keeps it out of the result', (_what, raw, message) => {
    const r = validateDynamicConfig(raw);
    expect(r.errors.join('\n')).toContain(message);
  });

  it('a PATCH that removes the slots (null) is accepted', () => {
    expect(validateDynamicConfig({ slots: null, ignore_slots: null }).errors).toEqual([]);
  });
});
