import { describe, expect, it } from 'vitest';
import {
  ignoreMatchersOf,
  isIgnored,
  permanentSlotsOf,
  planSlots,
  resolveSettings,
  statusSlots,
  type LocalSlot,
  type SlotPlanInput,
} from '../src/index.ts';

const phys = (name: string, restartLsn: number | null = 100, active = false): LocalSlot => ({
  name,
  type: 'physical',
  database: null,
  plugin: null,
  active,
  restartLsn,
  confirmedFlushLsn: null,
});
const logical = (name: string, confirmed: number | null = 100, database = 'postgres', plugin = 'test_decoding'): LocalSlot => ({
  name,
  type: 'logical',
  database,
  plugin,
  active: false,
  restartLsn: 50,
  confirmedFlushLsn: confirmed,
});

const CONFIG = {
  slots: {
    perm_phys: null,
    cdc: { type: 'logical', database: 'postgres', plugin: 'test_decoding' },
    implicit: { database: 'app', plugin: 'pgoutput' },
    node1: { type: 'physical' },
  },
  ignore_slots: [{ name: 'keep_me' }, { type: 'logical', plugin: 'wal2json' }],
};

function input(over: Partial<SlotPlanInput>): SlotPlanInput {
  return {
    role: 'primary',
    mySlotName: 'node1',
    memberSlots: ['node2', 'node3'],
    permanent: permanentSlotsOf(CONFIG),
    ignore: ignoreMatchersOf(CONFIG),
    local: [],
    status: null,
    replayLsn: null,
    paused: false,
    nofailover: false,
    useSlots: true,
    ...over,
  };
}

describe('permanent slots from the dynamic configuration', () => {
  it('reads Patroni\'s forms: null is physical, database + plugin without a type is logical', () => {
    expect(permanentSlotsOf(CONFIG)).toEqual({
      perm_phys: { type: 'physical' },
      cdc: { type: 'logical', database: 'postgres', plugin: 'test_decoding' },
      implicit: { type: 'logical', database: 'app', plugin: 'pgoutput' },
      node1: { type: 'physical' },
    });
    expect(permanentSlotsOf({ permanent_slots: { a: {} } })).toEqual({ a: { type: 'physical' } });
    expect(permanentSlotsOf({})).toEqual({});
  });

  it('leaves out what is not a valid definition (the configuration check refuses it earlier)', () => {
    expect(permanentSlotsOf({ slots: { 'Bad-Name': null, lg: { type: 'logical', database: 'x' }, ok: null } })).toEqual({ ok: { type: 'physical' } });
  });

  it('puts slots and ignore_slots into the settings only when configured', () => {
    const s = resolveSettings(CONFIG);
    expect(Object.keys(s.permanentSlots ?? {})).toEqual(['perm_phys', 'cdc', 'implicit', 'node1']);
    expect(s.ignoreSlots).toHaveLength(2);
    expect(resolveSettings({}).permanentSlots).toBeUndefined();
  });

  it('matches ignore_slots on every attribute a matcher names', () => {
    const m = ignoreMatchersOf(CONFIG);
    expect(isIgnored(m, { name: 'keep_me', type: 'physical' })).toBe(true);
    expect(isIgnored(m, { name: 'keep_me', type: 'logical', database: 'x', plugin: 'y' })).toBe(true);
    expect(isIgnored(m, { name: 'other', type: 'logical', database: 'x', plugin: 'wal2json' })).toBe(true);
    expect(isIgnored(m, { name: 'other', type: 'physical' })).toBe(false);
    expect(isIgnored(m, { name: 'other', type: 'logical', database: 'x', plugin: 'pgoutput' })).toBe(false);
  });
});

describe('planSlots on the primary', () => {
  it('creates the missing permanent slots, never a physical one named like itself', () => {
    const plan = planSlots(input({ local: [phys('node2'), phys('node3')] }));
    expect(plan.createPhysical).toEqual(['perm_phys']);
    expect(plan.createLogical).toEqual([
      { name: 'cdc', database: 'postgres', plugin: 'test_decoding' },
      { name: 'implicit', database: 'app', plugin: 'pgoutput' },
    ]);
    expect(plan.drop).toEqual([]);
    expect(plan.advance).toEqual([]);
    expect(plan.copy).toEqual([]);
  });

  it('drops unknown logical slots but never an ignored one; unknown physical ones are the member-slot sync\'s', () => {
    const plan = planSlots(
      input({
        local: [phys('perm_phys'), logical('cdc'), logical('implicit', 1, 'app', 'pgoutput'), logical('stray'), logical('keep_me'), logical('w2j', 5, 'db', 'wal2json'), phys('hand_made')],
      }),
    );
    expect(plan.drop.map((d) => d.name)).toEqual(['stray']);
    expect(plan.createPhysical).toEqual([]);
    expect(plan.createLogical).toEqual([]);
  });

  it('drops a slot whose definition changed and creates it again on a later run', () => {
    const first = planSlots(input({ local: [phys('perm_phys'), logical('cdc', 100, 'postgres', 'pgoutput'), logical('implicit', 1, 'app', 'pgoutput')] }));
    expect(first.drop).toEqual([{ name: 'cdc', why: expect.stringContaining('definition changed') }]);
    expect(first.createLogical).toEqual([]);
    const second = planSlots(input({ local: [phys('perm_phys'), logical('implicit', 1, 'app', 'pgoutput')] }));
    expect(second.createLogical).toEqual([{ name: 'cdc', database: 'postgres', plugin: 'test_decoding' }]);
  });

  it('drops nothing while paused', () => {
    expect(planSlots(input({ paused: true, local: [logical('stray')] })).drop).toEqual([]);
  });

  it('refuses a logical slot named like a member slot', () => {
    const plan = planSlots(input({ permanent: { node2: { type: 'logical', database: 'd', plugin: 'p' } }, local: [] }));
    expect(plan.createLogical).toEqual([]);
    expect(plan.problems[0]).toContain('node2');
  });

  it('does nothing with use_slots off except drop unknown logical slots', () => {
    const plan = planSlots(input({ useSlots: false, local: [logical('stray')] }));
    expect(plan.createPhysical).toEqual([]);
    expect(plan.createLogical).toEqual([]);
    expect(plan.drop.map((d) => d.name)).toEqual(['stray']);
  });
});

describe('planSlots on a replica', () => {
  const replica = (over: Partial<SlotPlanInput>) => planSlots(input({ role: 'replica', mySlotName: 'node2', memberSlots: [], ...over }));

  it('creates permanent physical slots and advances them to /status, but never an active one', () => {
    const plan = replica({ local: [phys('node1', 100)], status: { node1: 500, perm_phys: 900, cdc: 700 }, replayLsn: 1000 });
    expect(plan.createPhysical).toEqual(['perm_phys']);
    expect(plan.advance).toEqual([{ name: 'node1', type: 'physical', database: null, lsn: 500 }]);
    const active = replica({ local: [phys('node1', 100, true), phys('perm_phys', 100)], status: { node1: 500, perm_phys: 900 } });
    expect(active.advance).toEqual([{ name: 'perm_phys', type: 'physical', database: null, lsn: 900 }]);
  });

  it('never advances a slot backwards', () => {
    const plan = replica({ local: [phys('perm_phys', 900), logical('cdc', 700)], status: { perm_phys: 800, cdc: 600 }, replayLsn: 1000 });
    expect(plan.advance).toEqual([]);
  });

  it('copies a logical slot only once the leader published a position for it', () => {
    expect(replica({ local: [], status: {} }).copy).toEqual([]);
    expect(replica({ local: [], status: { cdc: 700 } }).copy).toEqual(['cdc']);
    expect(replica({ local: [], status: { cdc: 700 } }).createLogical).toEqual([]);
  });

  it('advances a copied logical slot to /status, but not past the replayed WAL', () => {
    const behind = replica({ local: [logical('cdc', 100)], status: { cdc: 700 }, replayLsn: 650 });
    expect(behind.advance).toEqual([{ name: 'cdc', type: 'logical', database: 'postgres', lsn: 650 }]);
    const ahead = replica({ local: [logical('cdc', 100)], status: { cdc: 700 }, replayLsn: 9000 });
    expect(ahead.advance).toEqual([{ name: 'cdc', type: 'logical', database: 'postgres', lsn: 700 }]);
  });

  it('keeps no permanent slots when tagged nofailover, and drops unknown logical slots', () => {
    const plan = replica({ nofailover: true, local: [logical('cdc', 100)], status: { cdc: 700, perm_phys: 5 } });
    expect(plan.createPhysical).toEqual([]);
    expect(plan.copy).toEqual([]);
    expect(plan.advance).toEqual([]);
    expect(plan.drop.map((d) => d.name)).toEqual(['cdc']);
  });
});

describe('statusSlots (what the leader writes to /status)', () => {
  it('has the permanent slots (logical: confirmed_flush, physical: restart_lsn), the member slots and its own slot at the optime', () => {
    const out = statusSlots({
      permanent: permanentSlotsOf(CONFIG),
      memberSlots: ['node2', 'node3'],
      local: [phys('node2', 300), phys('node3', null), phys('perm_phys', 200), logical('cdc', 250), logical('stray', 1), logical('implicit', 5, 'other', 'pgoutput')],
      mySlotName: 'node1',
      optime: 1000,
    });
    expect(out).toEqual({ cdc: 250, node1: 1000, node2: 300, perm_phys: 200 });
  });
});
