import { describe, expect, it } from 'vitest';
import {
  adaptParametersToVersion,
  buildConninfo,
  gucNameProblem,
  gucValueProblem,
  buildInitdbArgs,
  escapePgpassField,
  historyFileName,
  md5Verifier,
  parseBasebackupProgress,
  parseControlData,
  parseTimelineHistory,
  passwordVerifier,
  primaryConninfo,
  quoteConninfoValue,
  quoteGucValue,
  renderPgHba,
  renderPgpass,
  renderPostgresqlConf,
  scramSha256Verifier,
  timelineOfWalFile,
  type PostgresqlConfInput,
} from '../src/index.ts';

describe('quoteGucValue', () => {
  it('quotes strings, doubling single quotes and backslashes', () => {
    expect(quoteGucValue('replica')).toBe("'replica'");
    expect(quoteGucValue("it's")).toBe("'it''s'");
    expect(quoteGucValue('C:\\dir')).toBe("'C:\\\\dir'");
    expect(quoteGucValue('')).toBe("''");
    expect(quoteGucValue("%m [%p] %q%u@%d '")).toBe("'%m [%p] %q%u@%d '''");
  });
  it('writes numbers and booleans', () => {
    expect(quoteGucValue(10)).toBe("'10'");
    expect(quoteGucValue(0.9)).toBe("'0.9'");
    expect(quoteGucValue(true)).toBe("'on'");
    expect(quoteGucValue(false)).toBe("'off'");
  });
  it('refuses line breaks and non-finite numbers', () => {
    expect(() => quoteGucValue('a\nb')).toThrow(/line breaks/);
    expect(() => quoteGucValue(Number.NaN)).toThrow(/finite/);
  });
});

describe('libpq conninfo', () => {
  it('quotes values only when needed', () => {
    expect(quoteConninfoValue('127.0.0.1')).toBe('127.0.0.1');
    expect(quoteConninfoValue('')).toBe("''");
    expect(quoteConninfoValue('a b')).toBe("'a b'");
    expect(quoteConninfoValue("o'k\\x")).toBe("'o\\'k\\\\x'");
  });
  it('builds key=value pairs and leaves out missing ones', () => {
    expect(buildConninfo([['host', 'h'], ['port', 5432], ['user', null], ['dbname', undefined]])).toBe('host=h port=5432');
  });
  it("builds Patroni's primary_conninfo", () => {
    expect(primaryConninfo({ upstream: { host: '10.0.0.1', port: 5432 }, user: 'replicator', pgpassPath: '/var/lib/keel/pgpass', applicationName: 'node1' })).toBe(
      'user=replicator passfile=/var/lib/keel/pgpass host=10.0.0.1 port=5432 sslmode=prefer application_name=node1 gssencmode=prefer channel_binding=prefer',
    );
  });
  it("puts the replication role's TLS parameters into primary_conninfo", () => {
    const params = { sslmode: 'verify-ca', sslcert: '/etc/keel/repl.crt', sslkey: '/etc/keel/repl.key', sslrootcert: '/etc/keel/ca.crt', bogus: 'x' };
    expect(primaryConninfo({ upstream: { host: '10.0.0.1', port: 5432 }, user: 'replicator', pgpassPath: '/p', applicationName: 'node1', params })).toBe(
      'user=replicator passfile=/p host=10.0.0.1 port=5432 sslmode=verify-ca application_name=node1 gssencmode=prefer channel_binding=prefer sslcert=/etc/keel/repl.crt sslkey=/etc/keel/repl.key sslrootcert=/etc/keel/ca.crt',
    );
  });
});

describe('renderPostgresqlConf', () => {
  const base: PostgresqlConfInput = {
    dataDir: '/data',
    listenHost: '127.0.0.1',
    port: 5433,
    socketDir: '/run/keel',
    parameters: { wal_level: 'replica', max_connections: 100, port: 9999, Listen_Addresses: '*', wal_log_hints: true },
    includeBase: true,
    standby: null,
    replication: { username: 'replicator', password: 'secret-r' },
    pgpassPath: '/home/pg/pgpass',
    memberName: "node'1",
  };
  it('writes the managed settings first and ignores their duplicates in the map', () => {
    const text = renderPostgresqlConf(base);
    expect(text.split('\n').slice(0, 11)).toEqual([
      '# Managed by Keel. Do not edit: this file is rewritten on every configuration change.',
      '# Keel generates it from its configuration (Patroni-compatible settings).',
      '',
      "include 'postgresql.base.conf'",
      '',
      "listen_addresses = '127.0.0.1'",
      "port = '5433'",
      "unix_socket_directories = '/run/keel'",
      "hba_file = '/data/pg_hba.conf'",
      "max_connections = '100'",
      "wal_level = 'replica'",
    ]);
    expect(text).toContain("wal_log_hints = 'on'");
    expect(text).not.toContain('9999');
    expect(text).not.toContain("'*'");
    expect(text).not.toContain('primary_conninfo');
    expect(text).not.toContain('recovery_target_timeline');
    expect(text).not.toContain('secret');
    expect(text.endsWith('\n')).toBe(true);
  });
  it('leaves out the include and the socket directory when asked', () => {
    const { socketDir: _s, ...noSocket } = base;
    const text = renderPostgresqlConf({ ...noSocket, includeBase: false });
    expect(text).not.toContain('include');
    expect(text).not.toContain('unix_socket_directories');
  });
  it('adds the standby settings, quoted twice (conf file, then conninfo)', () => {
    const text = renderPostgresqlConf({ ...base, standby: { primaryConninfo: { host: '10.0.0.1', port: 5432 }, slotName: 'node1' } });
    expect(text).toContain(
      "primary_conninfo = 'user=replicator passfile=/home/pg/pgpass host=10.0.0.1 port=5432 sslmode=prefer application_name=''node\\\\''1'' gssencmode=prefer channel_binding=prefer'",
    );
    expect(text).toContain("primary_slot_name = 'node1'");
    expect(text).toContain("recovery_target_timeline = 'latest'");
    expect(text).toContain("hot_standby = 'on'");
    expect(text).not.toContain('secret');
  });
  it('writes a standby without upstream or slot', () => {
    const text = renderPostgresqlConf({ ...base, standby: { primaryConninfo: null, slotName: null } });
    expect(text).not.toContain('primary_conninfo');
    expect(text).not.toContain('primary_slot_name');
    expect(text).toContain("recovery_target_timeline = 'latest'");
  });
  it('rejects bad parameter names', () => {
    expect(() => renderPostgresqlConf({ ...base, parameters: { 'bad name': 'x' } })).toThrow(/not a valid configuration parameter name/);
    expect(() => renderPostgresqlConf({ ...base, parameters: { "x = 'y'\nfsync": 'off' } })).toThrow(/not a valid/);
  });
  it('writes wal_keep_segments as wal_keep_size for PostgreSQL 13 and later', () => {
    const text = renderPostgresqlConf({ ...base, parameters: { wal_keep_segments: 8 }, serverVersion: 150000 });
    expect(text).toContain("wal_keep_size = '128MB'");
    expect(text).not.toContain('wal_keep_segments');
  });
});

describe('GUC names and values (the rules every writer of postgresql.conf shares)', () => {
  it.each([
    ['work_mem', null],
    ['auto_explain.log_min_duration', null],
    ['_private', null],
    ['', 'not a valid configuration parameter name (empty or too long)'],
    ['bad name', 'not a valid configuration parameter name: "bad name"'],
    ['a.b.c', 'not a valid configuration parameter name: "a.b.c"'],
    ['1abc', 'not a valid configuration parameter name: "1abc"'],
    ['x=y', 'not a valid configuration parameter name: "x=y"'],
    ['dollar$', 'not a valid configuration parameter name: "dollar$"'],
    ['fsync\nx', 'not a valid configuration parameter name: "fsync\\nx"'],
  ])('name %j -> %j', (name, problem) => expect(gucNameProblem(name)).toBe(problem));
  it.each([
    ['a b', null],
    [12, null],
    [true, null],
    ['a\nb', 'must not contain line breaks or NUL characters'],
    ['a\rb', 'must not contain line breaks or NUL characters'],
    ['a\u0000b', 'must not contain line breaks or NUL characters'],
    [Number.NaN, 'not a finite number: NaN'],
    [{}, 'expected a string, number or boolean'],
    [null, 'expected a string, number or boolean'],
  ])('value %j -> %j', (value, problem) => expect(gucValueProblem(value)).toBe(problem));
});

describe("adaptParametersToVersion (Patroni's get_server_parameters renames)", () => {
  it.each([
    ['wal_keep_segments on 15', { wal_keep_segments: 8 }, 150000, { wal_keep_size: '128MB' }],
    ['wal_keep_segments as text on 13', { wal_keep_segments: '4' }, 130000, { wal_keep_size: '64MB' }],
    ['an explicit wal_keep_size wins', { wal_keep_segments: 8, wal_keep_size: '1GB' }, 150000, { wal_keep_size: '1GB' }],
    ['wal_keep_size on 12', { wal_keep_size: '1GB' }, 120000, { wal_keep_segments: 64 }],
    ['wal_keep_size on 12, default unit MB', { wal_keep_size: 128 }, 120000, { wal_keep_segments: 8 }],
    ['hot_standby wal_level on 15', { wal_level: 'hot_standby' }, 150000, { wal_level: 'replica' }],
    ['replica wal_level on 9.5', { wal_level: 'replica' }, 90500, { wal_level: 'hot_standby' }],
    ['case-insensitive names', { WAL_KEEP_SEGMENTS: 2 }, 160000, { wal_keep_size: '32MB' }],
    ['nothing to rename', { work_mem: '4MB' }, 150000, { work_mem: '4MB' }],
    ['unknown version: unchanged', { wal_keep_segments: 8 }, null, { wal_keep_segments: 8 }],
  ] as const)('%s', (_name, input, version, expected) => {
    expect(adaptParametersToVersion({ ...input }, version).parameters).toEqual(expected);
  });
  it('says what it renamed', () => {
    expect(adaptParametersToVersion({ wal_keep_segments: 8 }, 150000).notes).toEqual([
      "wal_keep_segments = 8 written as wal_keep_size = '128MB' (PostgreSQL 15 renamed it)",
    ]);
  });
});

describe('pg_hba.conf', () => {
  it('writes the lines after a header', () => {
    expect(renderPgHba(['local all all trust', 'host all all 0.0.0.0/0 md5'])).toBe(
      '# Managed by Keel. Do not edit: this file is rewritten on every configuration change.\nlocal all all trust\nhost all all 0.0.0.0/0 md5\n',
    );
    expect(() => renderPgHba(['local all all trust\nhost all all 0.0.0.0/0 trust'])).toThrow(/line breaks/);
  });
});

describe('.pgpass', () => {
  it('escapes colons and backslashes', () => {
    expect(escapePgpassField('a:b\\c')).toBe('a\\:b\\\\c');
    expect(escapePgpassField('plain')).toBe('plain');
    expect(() => escapePgpassField('a\nb')).toThrow();
  });
  it('writes one line per server, database and role, never a wildcard', () => {
    const repl = { username: 'replicator', password: 'r:1' };
    expect(
      renderPgpass([
        { server: { host: '10.0.0.1', port: 5432 }, database: 'replication', user: repl },
        { server: { host: '::1', port: 5433 }, database: 'postgres', user: { username: 'postgres', password: 's\\2' } },
        { server: { host: '10.0.0.1', port: 5432 }, database: 'replication', user: { ...repl, password: 'other' } },
      ]),
    ).toBe('10.0.0.1:5432:replication:replicator:r\\:1\n\\:\\:1:5433:postgres:postgres:s\\\\2\n');
    expect(() => renderPgpass([{ server: { host: '*', port: 5432 }, database: 'replication', user: repl }])).toThrow(/must name its host/);
  });
});

describe('buildInitdbArgs', () => {
  const ctx = { dataDir: '/data', superuser: 'postgres', pwfile: '/tmp/x/pwfile' };
  it("turns Patroni's list form into flags", () => {
    expect(buildInitdbArgs([{ encoding: 'UTF8' }, 'data-checksums', { locale: 'C.UTF-8' }], ctx)).toEqual([
      '--pgdata=/data',
      '--username=postgres',
      '--pwfile=/tmp/x/pwfile',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--encoding=UTF8',
      '--data-checksums',
      '--locale=C.UTF-8',
    ]);
  });
  it('lets the options choose the authentication methods', () => {
    expect(buildInitdbArgs([{ 'auth-host': 'md5' }], ctx)).toEqual(['--pgdata=/data', '--username=postgres', '--pwfile=/tmp/x/pwfile', '--auth-local=trust', '--auth-host=md5']);
    expect(buildInitdbArgs([{ auth: 'scram-sha-256' }], ctx).filter((a) => a.startsWith('--auth'))).toEqual(['--auth=scram-sha-256']);
    expect(buildInitdbArgs(['--data-checksums', 'k', { waldir: '/wal', 'wal-segsize': '32' }], ctx).slice(5)).toEqual([
      '--data-checksums',
      '-k',
      '--waldir=/wal',
      '--wal-segsize=32',
    ]);
  });
  it('refuses options Keel sets and malformed ones', () => {
    expect(() => buildInitdbArgs(['pgdata'], ctx)).toThrow(/--pgdata is set by Keel/);
    expect(() => buildInitdbArgs([{ pwfile: '/x' }], ctx)).toThrow(/--pwfile/);
    expect(() => buildInitdbArgs([{ username: 'x' }], ctx)).toThrow(/--username/);
    expect(() => buildInitdbArgs(['nosync'], ctx)).toThrow(/nosync/);
    expect(() => buildInitdbArgs(['bad option'], ctx)).toThrow(/not a valid initdb option/);
    expect(() => buildInitdbArgs([{ locale: 'C\nx' }], ctx)).toThrow(/line breaks/);
  });
});

const CONTROLDATA = `pg_control version number:            1300
Catalog version number:               202209061
Database system identifier:           7712454049206437005
Database cluster state:               shut down in recovery
pg_control last modified:             Thu Nov 26 12:20:42 2026
Latest checkpoint location:           0/1500718
Latest checkpoint's REDO location:    0/15006E0
Latest checkpoint's REDO WAL file:    000000020000000000000001
Latest checkpoint's TimeLineID:       2
Latest checkpoint's PrevTimeLineID:   2
Latest checkpoint's full_page_writes: on
Latest checkpoint's NextXID:          0:724
Latest checkpoint's oldestCommitTsXid:0
Minimum recovery ending location:     1/2A000060
Min recovery ending loc's timeline:   2
wal_level setting:                    replica
wal_log_hints setting:                on
Data page checksum version:           1
Mock authentication nonce:            1011d46baf6f0476d02b096301fcecd0e31ea931bb7131aec0627b2c5f22bdb5
`;

describe('parseControlData', () => {
  it('reads the fields the agent needs', () => {
    const cd = parseControlData(CONTROLDATA);
    expect(cd).toMatchObject({
      sysid: '7712454049206437005',
      state: 'shut down in recovery',
      timeline: 2,
      prevTimeline: 2,
      checkpointLsn: 0x1500718,
      redoLsn: 0x15006e0,
      minRecoveryEndLsn: 0x1_2a000060,
      minRecoveryEndTimeline: 2,
      walLevel: 'replica',
      walLogHints: true,
      dataChecksumVersion: 1,
    });
    expect(cd.raw["Latest checkpoint's oldestCommitTsXid"]).toBe('0');
    expect(cd.raw['pg_control last modified']).toBe('Thu Nov 26 12:20:42 2026');
  });
  it('refuses unknown states and missing fields', () => {
    expect(() => parseControlData(CONTROLDATA.replace('shut down in recovery', 'on fire'))).toThrow(/unknown cluster state "on fire"/);
    expect(() => parseControlData('Database cluster state: shut down\n')).toThrow(/Database system identifier/);
  });
});

describe('timeline history', () => {
  it('parses history files', () => {
    const text = '1\t0/3000060\tno recovery target specified\n\n2\t1/A0000000\tbefore 2026-01-01 00:00:00+00\n# comment\n3\t1/B0000028\t\n';
    expect(parseTimelineHistory(text)).toEqual([
      { parentTli: 1, switchpoint: 0x3000060, reason: 'no recovery target specified' },
      { parentTli: 2, switchpoint: 0x1_a0000000, reason: 'before 2026-01-01 00:00:00+00' },
      { parentTli: 3, switchpoint: 0x1_b0000028, reason: '' },
    ]);
    expect(parseTimelineHistory('')).toEqual([]);
    expect(() => parseTimelineHistory('garbage line')).toThrow(/not a timeline history line/);
  });
  it('names history files and reads timelines from WAL file names', () => {
    expect(historyFileName(2)).toBe('00000002.history');
    expect(historyFileName(26)).toBe('0000001A.history');
    expect(() => historyFileName(0)).toThrow();
    expect(timelineOfWalFile('0000000A0000000100000002')).toBe(10);
    expect(() => timelineOfWalFile('00000001.history')).toThrow();
  });
});

describe('pg_basebackup progress', () => {
  it('parses -P lines', () => {
    expect(parseBasebackupProgress('22876/22876 kB (100%), 1/1 tablespace')).toEqual({ doneKb: 22876, totalKb: 22876, percent: 100 });
    expect(parseBasebackupProgress('    0/22868 kB (0%), 0/1 tablespace (...data/backup_label)')).toEqual({ doneKb: 0, totalKb: 22868, percent: 0 });
    expect(parseBasebackupProgress('pg_basebackup: error: connection failed')).toBeNull();
  });
});

describe('password verifiers', () => {
  it('computes the SCRAM-SHA-256 verifier PostgreSQL stores (checked against Python hashlib)', () => {
    expect(scramSha256Verifier('pencil', Buffer.from([...Array(16).keys()]))).toBe(
      'SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=',
    );
    expect(scramSha256Verifier('pencil')).not.toBe(scramSha256Verifier('pencil')); // random salt
  });
  it('computes md5 verifiers and picks by password_encryption', () => {
    expect(md5Verifier('user', 'pencil')).toBe('md520c46e3762c864548e296b33c3406aa9');
    expect(passwordVerifier('user', 'pencil', 'md5')).toBe('md520c46e3762c864548e296b33c3406aa9');
    expect(passwordVerifier('user', 'pencil', 'scram-sha-256')).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(passwordVerifier('user', 'pässword', 'scram-sha-256')).toBeNull(); // SASLprep is the server's job
  });
});
