import { spawnSync } from 'node:child_process';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Permanent slots on a real 3-member cluster (PostgreSQL 15: no failover slots, so the replicas copy
 * the logical slot's state file from the primary and advance it from /status, as Patroni does).
 * One cluster, cases in order; the failover comes last.
 */
describe('permanent replication slots', () => {
  let c: TestCluster;
  let auth: Record<string, string>;

  type SlotRow = { slot_name: string; slot_type: string; restart_lsn: string | null; confirmed_flush_lsn: string | null };
  const slotsOf = async (m: Member) =>
    (await m.sql<SlotRow>('SELECT slot_name, slot_type, restart_lsn::text, confirmed_flush_lsn::text FROM pg_replication_slots ORDER BY slot_name').catch(() => [] as SlotRow[]));
  const slot = async (m: Member, name: string) => (await slotsOf(m)).find((s) => s.slot_name === name);
  const lsn = (text: string | null | undefined): bigint => {
    if (!text) return -1n;
    const [hi, lo] = text.split('/');
    return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
  };
  function statusKey(): { optime: number; slots?: Record<string, number> } | null {
    const r = spawnSync('etcdctl', [`--endpoints=http://${c.etcd.hostPort}`, 'get', `/service/${c.scope}/status`, '--print-value-only'], {
      encoding: 'utf8',
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    return r.status === 0 && r.stdout.trim() ? (JSON.parse(r.stdout) as { optime: number; slots?: Record<string, number> }) : null;
  }
  const patchConfig = async (m: Member, body: unknown) =>
    m.api('/config', { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const logged = (m: Member, text: string) => m.logs().some((l) => typeof l['msg'] === 'string' && l['msg'].includes(text));
  /** The rows a test_decoding consumer received, as "INSERT n" (one per inserted id). */
  const consume = async (m: Member) =>
    (await m.sql<{ data: string }>("SELECT data FROM pg_logical_slot_get_changes('cdc', NULL, NULL)"))
      .map((r) => /table public\.cdc_t: INSERT: id\[integer\]:(\d+)/.exec(r.data)?.[1])
      .filter((x): x is string => x !== undefined)
      .map(Number);

  let primary: Member;
  let replicas: Member[];

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 3,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      tweak: (config) => {
        const dcs = (config['bootstrap'] as { dcs: { postgresql: { parameters: Record<string, unknown> } } }).dcs;
        dcs.postgresql.parameters['wal_level'] = 'logical';
        (dcs as Record<string, unknown>)['ignore_slots'] = [{ name: 'keep_me' }, { type: 'physical', name: 'keep_phys' }];
      },
    });
    auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}` };
    primary = await c.waitForPrimary(90_000);
    replicas = c.members.filter((m) => m.name !== primary.name);
    await c.waitForReplicas(replicas.map((m) => m.name), 120_000);
  }, 240_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('refuses a bad slots definition with 400, and it never reaches the DCS', async () => {
    const r = await patchConfig(primary, { slots: { cdc: { type: 'logical', database: 'postgres' } } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('slots.cdc.plugin: required');
    expect(((await primary.api<Record<string, unknown>>('/config')).body)['slots']).toBeUndefined();
  });

  it('creates the permanent slots declared through PATCH /config on the primary, and on the replicas (the logical one copied)', async () => {
    await primary.sql('CREATE TABLE cdc_t (id int PRIMARY KEY)');
    const r = await patchConfig(primary, {
      slots: { cdc: { type: 'logical', database: 'postgres', plugin: 'test_decoding' }, perm_phys: { type: 'physical' } },
    });
    expect(r.status).toBe(200);
    await waitFor(async () => (await slot(primary, 'cdc'))?.slot_type === 'logical' && (await slot(primary, 'perm_phys'))?.slot_type === 'physical', {
      timeoutMs: 30_000,
      message: 'the primary has the logical slot cdc and the physical slot perm_phys',
    });
    for (const m of replicas) {
      await waitFor(async () => (await slot(m, 'cdc'))?.slot_type === 'logical' && (await slot(m, 'perm_phys'))?.slot_type === 'physical', {
        timeoutMs: 60_000,
        message: `${m.name} has copies of cdc and perm_phys`,
      });
      expect(logged(m, 'copying logical replication slots cdc from the primary')).toBe(true);
    }
  });

  it('drops an unknown slot on the primary but leaves the ones ignore_slots matches', async () => {
    await primary.sql("SELECT pg_create_logical_replication_slot('keep_me', 'test_decoding')");
    await primary.sql("SELECT pg_create_logical_replication_slot('stray', 'test_decoding')");
    await primary.sql("SELECT pg_create_physical_replication_slot('keep_phys', true)");
    await primary.sql("SELECT pg_create_physical_replication_slot('stray_phys', true)");
    await waitFor(async () => {
      const names = (await slotsOf(primary)).map((s) => s.slot_name);
      return !names.includes('stray') && !names.includes('stray_phys');
    }, { timeoutMs: 30_000, message: 'the unknown slots stray and stray_phys are dropped' });
    await waitFor(async () => logged(primary, 'dropped replication slot stray: an unknown logical slot'), { timeoutMs: 10_000, message: 'the drop is logged' });
    const names = (await slotsOf(primary)).map((s) => s.slot_name);
    expect(names).toEqual(expect.arrayContaining(['keep_me', 'keep_phys', 'cdc', 'perm_phys']));
  });

  it('writes the slots to /status and advances the permanent physical slot on the replicas', async () => {
    // a consumer of perm_phys (e.g. Barman's receive-wal) moves it on the primary
    await primary.sql('INSERT INTO cdc_t SELECT generate_series(1000, 1010)');
    await primary.sql('CHECKPOINT');
    const target = (await primary.sql<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l'))[0]!.l;
    await primary.sql("SELECT pg_replication_slot_advance('perm_phys', $1::pg_lsn)", [target]);
    await waitFor(async () => (statusKey()?.slots?.['perm_phys'] ?? 0) >= Number(lsn(target)), { timeoutMs: 30_000, message: '/status has perm_phys at the new position' });
    const status = statusKey()!;
    expect(status.optime).toBeGreaterThan(0);
    expect(Object.keys(status.slots ?? {})).toEqual(expect.arrayContaining(['cdc', 'perm_phys', ...replicas.map((m) => m.name)]));
    for (const m of replicas) {
      await waitFor(async () => lsn((await slot(m, 'perm_phys'))?.restart_lsn) >= lsn(target), {
        timeoutMs: 30_000,
        message: `perm_phys on ${m.name} advanced to ${target}`,
      });
      await waitFor(async () => logged(m, 'advanced physical replication slot perm_phys'), { timeoutMs: 10_000, message: `${m.name} logs the advance` });
    }
  });

  it('a logical consumer continues on the new primary after kill -9 of the old one: nothing missing, nothing repeated', async () => {
    await primary.sql('INSERT INTO cdc_t SELECT generate_series(1, 5)');
    const first = await consume(primary);
    expect(first).toEqual(expect.arrayContaining([1, 2, 3, 4, 5]));
    const confirmed = (await slot(primary, 'cdc'))!.confirmed_flush_lsn;
    // committed after the consumer's confirmed position: it must receive these after the failover
    await primary.sql('INSERT INTO cdc_t SELECT generate_series(6, 10)');
    const end = (await primary.sql<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l'))[0]!.l;
    for (const m of replicas) {
      await waitFor(async () => lsn((await m.sql<{ l: string }>('SELECT pg_last_wal_replay_lsn()::text AS l'))[0]?.l) >= lsn(end), {
        timeoutMs: 30_000,
        message: `${m.name} replayed the last rows`,
      });
      await waitFor(async () => lsn((await slot(m, 'cdc'))?.confirmed_flush_lsn) >= lsn(confirmed), {
        timeoutMs: 30_000,
        message: `cdc on ${m.name} advanced to the consumer's confirmed position ${confirmed}`,
      });
      // Patroni's readiness check: the primary keeps the catalog rows the copy needs (hot_standby_feedback)
      await waitFor(async () => logged(m, 'logical replication slot cdc is safe to be used after a failover'), {
        timeoutMs: 30_000,
        message: `${m.name} finds its copy of cdc safe to use after a failover`,
      });
      expect((await m.sql<{ s: string }>("SELECT current_setting('hot_standby_feedback') AS s"))[0]?.s).toBe('on');
    }
    await primary.kill9Node();
    const next = await c.waitForPrimary(90_000, primary.name);
    let after: number[] = [];
    await waitFor(async () => {
      after = await consume(next).catch(() => []);
      return after.length > 0;
    }, { timeoutMs: 30_000, message: `the consumer reads cdc on the new primary ${next.name}` });
    expect(after.sort((a, b) => a - b)).toEqual([6, 7, 8, 9, 10]);
    // the new primary keeps its permanent slots
    expect((await slotsOf(next)).map((s) => s.slot_name)).toEqual(expect.arrayContaining(['cdc', 'perm_phys']));
  });
});
