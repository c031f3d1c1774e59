/**
 * The one check for dynamic configurations an agent adopts: PATCH/PUT (all or nothing, normalised
 * document written) and /config read from etcd (bad values skipped, last good kept). pg_settings
 * rows are real PostgreSQL 15 rows, copied as data.
 */
import { describe, expect, it } from 'vitest';
import { adoptDynamicConfig, checkConfigUpdate, keysOf } from '../src/config/check-config.ts';
import { isPgBool, validateParameters, type PgSetting } from '../src/ops/pg-parameters.ts';

const row = (name: string, vartype: PgSetting['vartype'], unit: string | null, min: string | null, max: string | null, enumvals: string[] | null = null, context = 'user'): PgSetting => ({
  name,
  vartype,
  unit,
  min_val: min,
  max_val: max,
  enumvals,
  context,
});
const PG15 = new Map<string, PgSetting>(
  [
    row('work_mem', 'integer', 'kB', '64', '2147483647'),
    row('shared_buffers', 'integer', '8kB', '16', '1073741823', null, 'postmaster'),
    row('max_connections', 'integer', null, '1', '262143', null, 'postmaster'),
    row('wal_keep_size', 'integer', 'MB', '0', '2147483647', null, 'sighup'),
    row('statement_timeout', 'integer', 'ms', '0', '2147483647'),
    row('seq_page_cost', 'real', null, '0', '1.79769e+308'),
    row('vacuum_cost_delay', 'real', 'ms', '0', '100'),
    row('fsync', 'bool', null, null, null, null, 'sighup'),
    row('wal_level', 'enum', null, null, null, ['minimal', 'replica', 'logical'], 'postmaster'),
    row('application_name', 'string', null, null, null),
    row('block_size', 'integer', null, '8192', '8192', null, 'internal'),
  ].map((r) => [r.name, r]),
);

describe('PostgreSQL parameter values against pg_settings (guc.c parse_bool, parse_int, parse_real)', () => {
  const cases: Array<[Record<string, unknown>, string[]]> = [
    [{ work_mem: '64MB', WORK_MEM: '1GB', shared_buffers: '128MB', max_connections: 100, fsync: 'of', wal_level: 'Replica' }, []],
    [{ work_mem: '1.5MB', statement_timeout: '1min', seq_page_cost: '1e1', vacuum_cost_delay: '2ms', work_mem2: 1 }, ['postgresql.parameters.work_mem2: unknown PostgreSQL parameter']],
    [{ work_mem: 'lots' }, ['postgresql.parameters.work_mem: expected a number (unit kB), got "lots"']],
    [{ work_mem: '10s' }, ['postgresql.parameters.work_mem: expected a number (unit kB), got "10s"']],
    [{ work_mem: '3TB' }, ['postgresql.parameters.work_mem: 3TB is outside the allowed range 64..2147483647 (kB)']],
    [{ work_mem: 1 }, ['postgresql.parameters.work_mem: 1 is outside the allowed range 64..2147483647 (kB)']],
    [{ vacuum_cost_delay: '1s' }, ['postgresql.parameters.vacuum_cost_delay: 1s is outside the allowed range 0..100 (ms)']],
    [{ fsync: 'maybe' }, ['postgresql.parameters.fsync: expected a boolean (on/off), got "maybe"']],
    [{ fsync: 'o' }, ['postgresql.parameters.fsync: expected a boolean (on/off), got "o"']],
    [{ wal_level: 'maximal' }, ['postgresql.parameters.wal_level: expected one of minimal, replica, logical, got "maximal"']],
    [{ block_size: 8192 }, ['postgresql.parameters.block_size: a read-only parameter (fixed when the cluster was initialised); PostgreSQL would refuse to start with it']],
    [{ port: 5433 }, ["postgresql.parameters.port: managed by Keel from the member's YAML; it cannot be set through /config"]],
    [{ wal_keep_segments: 8 }, []],
    [{ wal_keep_segments: 'eight' }, ['postgresql.parameters.wal_keep_segments: expected a number, got "eight"']],
    [{ 'auto_explain.log_min_duration': 'anything' }, []],
  ];
  it.each(cases)('%j -> %j', (params, errors) => expect(validateParameters(params, PG15)).toEqual(errors));
  it.each([
    ['on', true], ['OFF', true], ['t', true], ['tru', true], ['ye', true], ['n', true], ['1', true], ['0', true],
    ['o', false], ['', false], ['2', false], ['enable', false],
  ])('bool %j -> %s', (text, ok) => expect(isPgBool(text)).toBe(ok));
});

describe('checkConfigUpdate (PATCH/PUT /config)', () => {
  const ctx = { allowFromDcs: [], pgSettings: PG15 };

  it('refuses the issue repro (application_name with a line break) with a clear message', () => {
    expect(checkConfigUpdate({ postgresql: { parameters: { application_name: 'a\nb' } } }, ctx)).toEqual({
      ok: false,
      status: 400,
      problems: ['postgresql.parameters.application_name: must not contain line breaks or NUL characters'],
    });
  });

  it('returns the normalised document (numbers as numbers) to write, not the raw body', () => {
    const r = checkConfigUpdate({ ttl: '30', loop_wait: ' 10 ', pause: 'true', postgresql: { parameters: { work_mem: '8MB' } } }, ctx);
    expect(r).toEqual({ ok: true, config: { ttl: 30, loop_wait: 10, pause: true, postgresql: { parameters: { work_mem: '8MB' } } }, warnings: [], kept: [] });
  });

  it('accepts a timing that breaks the rule (agents adjust it) with the adjustment as a warning', () => {
    const r = checkConfigUpdate({ ttl: 20, loop_wait: 10, retry_timeout: 10 }, ctx);
    expect(r.ok && r.warnings).toEqual([
      'ttl: violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=20: adjusting loop_wait from 10 to 1 and retry_timeout from 10 to 9 (the configuration keeps the values as written)',
    ]);
  });

  it('does not blame a PATCH for a bad value already in /config (pause must work), and writes that value back unchanged', () => {
    const current = { ttl: 30, synchronous_mode: 'sometimes', postgresql: { parameters: { archive_command: 'x', work_mem: '4MB' } } };
    const r = checkConfigUpdate({ ...current, pause: true }, { ...ctx, current });
    expect(r.ok).toBe(true);
    expect(r.ok && r.config).toEqual({ ...current, pause: true });
    expect(r.ok && r.kept).toHaveLength(2);
    // but a PATCH that sets such a value itself is refused
    const again = checkConfigUpdate({ ...current, postgresql: { parameters: { archive_command: 'y', work_mem: '4MB' } } }, { ...ctx, current });
    expect(again.ok).toBe(false);
  });

  it('needs a running server only for the parameters a request sets', () => {
    const current = { postgresql: { parameters: { work_mem: '4MB' } } };
    expect(checkConfigUpdate({ ...current, pause: true }, { allowFromDcs: [], pgSettings: null, current }).ok).toBe(true);
    expect(checkConfigUpdate({ postgresql: { parameters: { work_mem: '8MB' } } }, { allowFromDcs: [], pgSettings: null, current })).toEqual({
      ok: false,
      status: 503,
      problems: ['cannot validate PostgreSQL parameters: PostgreSQL is not running on this member; send the request to a running member'],
    });
  });
});

describe('adoptDynamicConfig (/config read from etcd)', () => {
  const ctx = { allowFromDcs: [], pgSettings: PG15 };

  it('skips each bad value with a reason and keeps the last good value', () => {
    const lastGood = { ttl: 30, postgresql: { parameters: { application_name: 'app', work_mem: '4MB' } } };
    const raw = { ttl: -1, loop_wait: 5, postgresql: { parameters: { application_name: 'a\nb', work_mem: '8MB', archive_command: 'curl x|sh', shared_buffers: 'lots' } } };
    const r = adoptDynamicConfig(raw, lastGood, ctx);
    expect(r.config).toEqual({ ttl: 30, loop_wait: 5, postgresql: { parameters: { application_name: 'app', work_mem: '8MB' } } });
    expect(r.skipped).toEqual([
      'ttl: must be >= 0, got -1; keeping the last good value 30',
      'postgresql.parameters.application_name: must not contain line breaks or NUL characters; keeping the last good value "app"',
      'postgresql.parameters.archive_command: runs a command; Keel takes it only from the local YAML (postgresql.parameters), unless postgresql.allow_from_dcs lists "archive_command"; left out',
      'postgresql.parameters.shared_buffers: expected a number (unit 8kB), got "lots"; left out',
    ]);
  });

  it('skips a key with a bad value instead of acting on it', () => {
    const r = adoptDynamicConfig({ ttl: 20, synchronous_mode: 'sometimes' }, null, ctx);
    expect(r.config).toEqual({ ttl: 20 });
    expect(r.skipped).toHaveLength(1);
  });

  it('never acts on half a standby_cluster: a bad key skips the whole section (the last good one stays)', () => {
    const r = adoptDynamicConfig({ ttl: 20, standby_cluster: { host: 'site-a', port: 99999 } }, null, ctx);
    expect(r.config).toEqual({ ttl: 20 });
    const kept = adoptDynamicConfig({ standby_cluster: { host: 'site-a', port: 99999 } }, { standby_cluster: { host: 'site-b', port: 5432 } }, ctx);
    expect(kept.config).toEqual({ standby_cluster: { host: 'site-b', port: 5432 } });
  });

  it('keeps the last good configuration whole when the value is not a mapping at all', () => {
    expect(adoptDynamicConfig([1, 2], { ttl: 30 }, ctx)).toEqual({
      config: { ttl: 30 },
      skipped: ['not a mapping (a list); keeping the last good configuration whole'],
    });
  });

  it('reads dotted extension parameter names as one key', () => {
    expect(keysOf('postgresql.parameters.auto_explain.log_min_duration')).toEqual(['postgresql', 'parameters', 'auto_explain.log_min_duration']);
    expect(keysOf('postgresql.pg_hba[3]')).toEqual(['postgresql', 'pg_hba']);
    expect(keysOf('(root)')).toEqual([]);
  });
});
