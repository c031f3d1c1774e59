import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type LoadedConfig, type ReplicaCommandMethod } from '../src/config.ts';
import { replicaMethodArgs, usableReplicaMethods } from '../src/create-replica.ts';
import { minimal as minimalConfig } from './minimal-config.ts';

/** postgresql: lines first, then top-level YAML. */
const minimal = (pgExtra = '', extra = '') => minimalConfig(extra, pgExtra);

const parse = (text: string): LoadedConfig => parseConfig(text, 'test.yml', {});

function problems(text: string): string[] {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n').slice(1).map((l) => l.replace(/^\s*-?\s*/, ''));
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const PGBACKREST = `create_replica_methods: [pgbackrest, basebackup]
pgbackrest:
  command: /usr/bin/pgbackrest --stanza=demo --config='/etc/pg backrest.conf' --delta restore
  keep_data: True
  no_params: True
  process-max: 2`;

describe('postgresql.create_replica_methods (local YAML)', () => {
  it('reads the methods in order, each with its command split like a shell, flags and options', () => {
    const { config, warnings } = parse(minimal(PGBACKREST));
    expect(warnings).toEqual([]);
    expect(config.postgresql.create_replica_methods).toEqual([
      {
        kind: 'command',
        name: 'pgbackrest',
        argv: ['/usr/bin/pgbackrest', '--stanza=demo', '--config=/etc/pg backrest.conf', '--delta', 'restore'],
        options: [['process-max', '2']],
        noParams: true,
        keepData: true,
        noLeader: false,
      },
      { kind: 'basebackup', name: 'basebackup' },
    ]);
  });

  it('defaults to [basebackup], takes a comma-separated string, and runs a method without a section by its name (as Patroni)', () => {
    expect(parse(minimal()).config.postgresql.create_replica_methods).toEqual([{ kind: 'basebackup', name: 'basebackup' }]);
    const m = parse(minimal('create_replica_methods: "wal_e, basebackup"\nwal_e: {no_leader: 1, envdir: /etc/wal-e.d/env, use_iam: 1}')).config.postgresql
      .create_replica_methods;
    expect(m.map((x) => x.name)).toEqual(['wal_e', 'basebackup']);
    expect(m[0]).toMatchObject({ argv: ['wal_e'], noLeader: true, noParams: false, options: [['envdir', '/etc/wal-e.d/env'], ['use_iam', '1']] });
  });

  it('refuses what cannot be run safely, naming the key', () => {
    expect(problems(minimal('create_replica_methods: [x]\nx: {command: "restore \'unclosed"}'))).toEqual([
      `postgresql.x.command: cannot be split into arguments (Got EOF while in a quoted string), got "restore 'unclosed"`,
    ]);
    expect(problems(minimal('create_replica_methods: [x]\nx: {command: restore, datadir: /tmp/other}'))).toEqual([
      'postgresql.x.datadir: Keel passes --datadir itself; remove it (or set no_params and pass what the command needs in command)',
    ]);
    expect(problems(minimal('create_replica_methods: [x]\nx: {command: restore, opts: [a]}'))).toEqual([
      'postgresql.x.opts: expected a string, number or boolean (passed as --opts=value), got a list',
    ]);
    expect(problems(minimal('create_replica_methods: [parameters]'))).toEqual(['postgresql.create_replica_methods: "parameters" is a postgresql setting, not a method name']);
    expect(problems(minimal('create_replica_methods: []'))).toEqual(['postgresql.create_replica_methods: expected a list of method names, got a list']);
    expect(problems(minimal('create_replica_methods: [x]\nx: {command: "a\\nb"}'))).toEqual(['postgresql.x.command: must not contain line breaks or NUL characters']);
  });

  it('passes the options, then --scope, --role, --datadir and --connstring unless no_params', () => {
    const [m] = parse(minimal('create_replica_methods: [x]\nx: {command: /bin/restore -v, max-rate: 100M, verify: true}')).config.postgresql.create_replica_methods;
    const ctx = { scope: 'demo', dataDir: '/d', connstring: "dbname=postgres user=replicator host=10.0.0.2 port=5432" };
    expect(replicaMethodArgs(m as ReplicaCommandMethod, ctx)).toEqual([
      '--max-rate=100M',
      '--verify=True',
      '--scope=demo',
      '--role=replica',
      '--datadir=/d',
      '--connstring=dbname=postgres user=replicator host=10.0.0.2 port=5432',
    ]);
    expect(replicaMethodArgs({ ...(m as ReplicaCommandMethod), noParams: true }, ctx)).toEqual(['--max-rate=100M', '--verify=True']);
  });

  it('tries only no_leader methods when there is no member to clone from', () => {
    const methods = parse(minimal('create_replica_methods: [a, b, basebackup]\na: {command: x}\nb: {command: y, no_leader: true}')).config.postgresql.create_replica_methods;
    expect(usableReplicaMethods(methods, true).map((m) => m.name)).toEqual(['a', 'b', 'basebackup']);
    expect(usableReplicaMethods(methods, false).map((m) => m.name)).toEqual(['b']);
  });

  it('reads postgresql.recovery_conf, dropping what Keel sets for replicas itself (as Patroni)', () => {
    const { config, warnings } = parse(minimal("recovery_conf:\n  restore_command: pgbackrest --stanza=demo archive-get %f \"%p\"\n  recovery_target_time: '2026-01-01 00:00:00'"));
    expect(config.postgresql.recovery_conf).toEqual({ restore_command: 'pgbackrest --stanza=demo archive-get %f "%p"' });
    expect(warnings).toEqual(['postgresql.recovery_conf.recovery_target_time: ignored: Keel sets it for replicas itself (as Patroni does)']);
  });
});

describe('bootstrap.method (custom bootstrap, local YAML)', () => {
  const custom = `bootstrap:
  method: pgbackrest
  pgbackrest:
    command: pgbackrest --stanza=demo restore
    keep_existing_recovery_conf: false
    no_params: true
    type: time
    recovery_conf:
      restore_command: pgbackrest --stanza=demo archive-get %f "%p"
      recovery_target_time: '2026-12-04 01:00:00+00'
      recovery_target_action: promote
`;
  it('reads the command, flags, options and recovery_conf', () => {
    const { config, warnings } = parse(minimal('', custom));
    expect(warnings).toEqual([]);
    expect(config.bootstrap.method).toEqual({
      name: 'pgbackrest',
      argv: ['pgbackrest', '--stanza=demo', 'restore'],
      options: [['type', 'time']],
      noParams: true,
      keepExistingRecoveryConf: false,
      recoveryConf: {
        restore_command: 'pgbackrest --stanza=demo archive-get %f "%p"',
        recovery_target_time: '2026-12-04 01:00:00+00',
        recovery_target_action: 'promote',
      },
    });
  });

  it('reads an unquoted YAML timestamp as that instant in UTC, in a form PostgreSQL accepts at start-up', () => {
    const text = minimal('', custom.replace("recovery_target_time: '2026-12-04 01:00:00+00'", 'recovery_target_time: 2026-12-04 01:00:00+01:00'));
    expect(parse(text).config.bootstrap.method?.recoveryConf?.['recovery_target_time']).toBe('2026-12-04 00:00:00.000+00');
  });

  it('is absent for initdb and refuses a method without its section or command', () => {
    expect(parse(minimal('', 'bootstrap:\n  method: initdb\n')).config.bootstrap.method).toBeUndefined();
    expect(problems(minimal('', 'bootstrap:\n  method: wal_e\n'))).toEqual([
      'bootstrap.wal_e: required: bootstrap.method is wal_e, so bootstrap.wal_e.command says what to run',
    ]);
    expect(problems(minimal('', 'bootstrap:\n  method: wal_e\n  wal_e: {keep_existing_recovery_conf: true}\n'))).toEqual(['bootstrap.wal_e.command: required']);
    expect(problems(minimal('', 'bootstrap:\n  method: dcs\n'))).toEqual(['bootstrap.method: expected initdb or the name of a section of bootstrap, got "dcs"']);
  });
});
