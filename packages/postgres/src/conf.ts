/**
 * Pure renderers and parsers: postgresql.conf, pg_hba.conf, .pgpass, libpq conninfo strings,
 * initdb arguments, pg_controldata output, timeline history files. No I/O here.
 */
import { parseLsn } from '@keel/protocol';
import type {
  ControlData,
  ControlState,
  Credentials,
  GucValue,
  Gucs,
  HostPort,
  InitdbOption,
  StandbyConfig,
  TimelineHistoryEntry,
} from './types.ts';
import { CONTROL_STATES } from './types.ts';

export const MANAGED_HEADER = '# Managed by Keel. Do not edit: this file is rewritten on every configuration change.';

/** The file initdb wrote, kept and included by the generated postgresql.conf (Patroni does the same). */
export const BASE_CONF_NAME = 'postgresql.base.conf';

/** PostgreSQL's GUC name grammar (guc-file.l ID and QUALIFIED_ID), ASCII only: `name` or `prefix.name`. */
const GUC_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** Why `name` cannot be a configuration parameter name, or null. */
export function gucNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > 200) return 'not a valid configuration parameter name (empty or too long)';
  return GUC_NAME.test(name) ? null : `not a valid configuration parameter name: ${JSON.stringify(name)}`;
}

/** Why `value` cannot be written to postgresql.conf, or null (one line, no NUL, a finite number). */
export function gucValueProblem(value: unknown): string | null {
  if (typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `not a finite number: ${value}`;
  if (typeof value !== 'string') return 'expected a string, number or boolean';
  if (/[\r\n\0]/.test(value)) return 'must not contain line breaks or NUL characters';
  return null;
}

function assertSingleLine(what: string, value: string): void {
  if (/[\r\n\0]/.test(value)) throw new Error(`${what} must not contain line breaks or NUL characters`);
}

/**
 * A GUC value as a postgresql.conf literal: always single-quoted, with single quotes and
 * backslashes doubled (the conf scanner interprets backslash escapes inside quotes).
 * Booleans become on/off.
 */
export function quoteGucValue(value: GucValue): string {
  let text: string;
  if (typeof value === 'boolean') text = value ? 'on' : 'off';
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    text = String(value);
  } else text = value;
  assertSingleLine('a configuration value', text);
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export function assertGucName(name: string): void {
  const problem = gucNameProblem(name);
  if (problem) throw new Error(problem);
}

/** Patroni's default wal_keep_segments (CMDLINE_OPTIONS), used when converting for PostgreSQL < 13. */
const DEFAULT_WAL_KEEP_SEGMENTS = 8;

/** "128MB", "1GB", 2048 (MB) -> megabytes, or null when the text is not a size. */
function sizeInMb(value: GucValue): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(kB|MB|GB|TB)?\s*$/.exec(value);
  if (!m) return null;
  const factor = { kB: 1 / 1024, MB: 1, GB: 1024, TB: 1024 * 1024 }[m[2] ?? 'MB']!;
  return Math.floor(Number(m[1]) * factor);
}

/**
 * Parameters Patroni renames per server version (ConfigHandler.get_server_parameters), so one
 * configuration works on every version: wal_level hot_standby <-> replica (9.6), and
 * wal_keep_segments <-> wal_keep_size (13; 16 MB segments assumed, an explicit wal_keep_size wins).
 * `serverVersion` is the major version as server_version_num (150000); null leaves the map as it is.
 * Names are matched case-insensitively, as PostgreSQL does.
 */
export function adaptParametersToVersion(parameters: Gucs, serverVersion: number | null): { parameters: Gucs; notes: string[] } {
  if (serverVersion === null) return { parameters: { ...parameters }, notes: [] };
  const out: Gucs = {};
  const notes: string[] = [];
  const keyOf = (name: string): string | undefined => Object.keys(out).find((k) => k.toLowerCase() === name);
  for (const [k, v] of Object.entries(parameters)) out[k] = v;
  const walLevel = keyOf('wal_level');
  if (walLevel !== undefined) {
    const v = String(out[walLevel]).toLowerCase();
    if (serverVersion >= 90600 && v === 'hot_standby') out[walLevel] = 'replica';
    if (serverVersion < 90600 && v === 'replica') out[walLevel] = 'hot_standby';
  }
  const segKey = keyOf('wal_keep_segments');
  const sizeKey = keyOf('wal_keep_size');
  if (serverVersion >= 130000 && segKey !== undefined) {
    const segments = Number(out[segKey]);
    delete out[segKey];
    if (sizeKey === undefined) {
      const mb = (Number.isFinite(segments) ? Math.max(0, Math.floor(segments)) : DEFAULT_WAL_KEEP_SEGMENTS) * 16;
      out['wal_keep_size'] = `${mb}MB`;
      notes.push(`wal_keep_segments = ${String(parameters[segKey])} written as wal_keep_size = '${mb}MB' (PostgreSQL ${Math.floor(serverVersion / 10000)} renamed it)`);
    } else {
      notes.push(`wal_keep_segments ignored: wal_keep_size is also set (PostgreSQL ${Math.floor(serverVersion / 10000)} knows only wal_keep_size)`);
    }
  } else if (serverVersion < 130000 && sizeKey !== undefined) {
    const mb = sizeInMb(out[sizeKey]!);
    delete out[sizeKey];
    if (segKey === undefined) {
      const segments = Math.floor(((mb ?? 0) + 8) / 16);
      out['wal_keep_segments'] = segments;
      notes.push(`wal_keep_size written as wal_keep_segments = ${segments} (PostgreSQL before 13)`);
    }
  }
  return { parameters: out, notes };
}

/** A libpq conninfo value: quoted when needed, with backslash and single quote escaped by a backslash. */
export function quoteConninfoValue(value: string): string {
  if (value !== '' && /^[^\s'\\]+$/.test(value)) return value;
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** key=value pairs in order; undefined/null values are left out. */
export function buildConninfo(pairs: Array<[string, string | number | null | undefined]>): string {
  return pairs
    .filter((p): p is [string, string | number] => p[1] !== undefined && p[1] !== null)
    .map(([k, v]) => `${k}=${quoteConninfoValue(String(v))}`)
    .join(' ');
}

/** Settings Keel writes itself: a same-named entry of the parameters map is ignored. */
const MANAGED_GUCS = new Set([
  'listen_addresses',
  'port',
  'unix_socket_directories',
  'hba_file',
  'primary_conninfo',
  'primary_slot_name',
  'recovery_target_timeline',
]);

export interface PostgresqlConfInput {
  dataDir: string;
  listenHost: string;
  port: number;
  socketDir?: string;
  parameters: Gucs;
  /** Include initdb's settings file first (when it exists). */
  includeBase: boolean;
  standby: StandbyConfig | null;
  /** Recovery settings (restore_command, recovery_target_* ...), written after the parameters so they win. */
  recovery?: Gucs;
  replication: Credentials;
  pgpassPath: string;
  memberName: string;
  /** server_version_num of the data directory's major version (150000); parameters are renamed for it. */
  serverVersion?: number | null;
}

/** libpq parameters a role may carry (Patroni passes these from postgresql.authentication.<role>). */
export const ROLE_LIBPQ_PARAMETERS = [
  'sslmode',
  'sslcert',
  'sslkey',
  'sslpassword',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'sslnegotiation',
  'gssencmode',
  'channel_binding',
] as const;

/** A role's libpq parameters, in a fixed order, unknown names left out (they never reach a conninfo). */
export function roleParams(params: Readonly<Record<string, string>> | undefined): Array<[string, string | undefined]> {
  return ROLE_LIBPQ_PARAMETERS.map((k) => [k, params?.[k]]);
}

export function primaryConninfo(input: {
  upstream: HostPort;
  user: string;
  pgpassPath: string;
  applicationName: string;
  /** The replication role's libpq parameters; Patroni's defaults (prefer) fill sslmode, gssencmode, channel_binding. */
  params?: Readonly<Record<string, string>>;
}): string {
  const p = { sslmode: 'prefer', gssencmode: 'prefer', channel_binding: 'prefer', ...input.params };
  const rest = roleParams(p).filter(([k]) => !['sslmode', 'gssencmode', 'channel_binding'].includes(k));
  return buildConninfo([
    ['user', input.user],
    ['passfile', input.pgpassPath],
    ['host', input.upstream.host],
    ['port', input.upstream.port],
    ['sslmode', p.sslmode],
    ['application_name', input.applicationName],
    ['gssencmode', p.gssencmode],
    ['channel_binding', p.channel_binding],
    ...rest,
  ]);
}

/** The whole postgresql.conf. Keys of `parameters` are written in sorted order after the managed ones. */
export function renderPostgresqlConf(input: PostgresqlConfInput): string {
  const lines: string[] = [MANAGED_HEADER, '# Keel generates it from its configuration (Patroni-compatible settings).', ''];
  if (input.includeBase) lines.push(`include ${quoteGucValue(BASE_CONF_NAME)}`, '');
  const put = (name: string, value: GucValue) => {
    assertGucName(name);
    lines.push(`${name} = ${quoteGucValue(value)}`);
  };
  put('listen_addresses', input.listenHost);
  put('port', input.port);
  if (input.socketDir !== undefined) put('unix_socket_directories', input.socketDir);
  put('hba_file', `${input.dataDir}/pg_hba.conf`);
  const params = adaptParametersToVersion(input.parameters, input.serverVersion ?? null).parameters;
  if (input.standby) params.hot_standby = 'on';
  const seen = new Set<string>();
  for (const name of Object.keys(params).sort()) {
    const lower = name.toLowerCase();
    if (MANAGED_GUCS.has(lower) || seen.has(lower)) continue;
    seen.add(lower);
    put(name, params[name]!);
  }
  const recovery = Object.keys(input.recovery ?? {}).filter((n) => !MANAGED_GUCS.has(n.toLowerCase())).sort();
  if (recovery.length > 0) {
    lines.push('', '# recovery');
    for (const name of recovery) put(name, input.recovery![name]!);
  }
  if (input.standby) {
    lines.push('', '# standby');
    if (input.standby.primaryConninfo) {
      put(
        'primary_conninfo',
        primaryConninfo({
          upstream: input.standby.primaryConninfo,
          user: input.replication.username,
          ...(input.replication.params ? { params: input.replication.params } : {}),
          pgpassPath: input.pgpassPath,
          applicationName: input.memberName,
        }),
      );
    }
    if (input.standby.slotName) put('primary_slot_name', input.standby.slotName);
    put('recovery_target_timeline', 'latest');
  }
  return lines.join('\n') + '\n';
}

export function renderPgHba(lines: readonly string[]): string {
  for (const l of lines) assertSingleLine('a pg_hba line', l);
  return [MANAGED_HEADER, ...lines, ''].join('\n');
}

/** A .pgpass field: ':' and '\' escaped with a backslash. */
export function escapePgpassField(value: string): string {
  assertSingleLine('a .pgpass field', value);
  return value.replace(/([:\\])/g, '\\$1');
}

/** One .pgpass entry: the password of `user` for one server (host:port) and one database. */
export interface PgpassEntry {
  server: HostPort;
  /** "replication" for replication connections (walreceiver, pg_basebackup), else the database name. */
  database: string;
  user: Credentials;
}

/**
 * One line per entry, host, port and database named (never "*"): the file only lets the password go to
 * the server Keel is about to connect to, not to whatever host a connection string might name later.
 * The first entry for the same host, port, database and user wins.
 */
export function renderPgpass(entries: readonly PgpassEntry[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const e of entries) {
    const raw = [e.server.host, String(e.server.port), e.database, e.user.username];
    if (raw.some((f) => f === '*' || f === '')) throw new Error(`a .pgpass line must name its host, port, database and user, got ${JSON.stringify(raw.join(':'))}`);
    const fields = raw.map(escapePgpassField);
    const key = fields.join(':');
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push(`${key}:${escapePgpassField(e.user.password)}`);
  }
  return lines.join('\n') + '\n';
}

/** initdb options Keel sets itself or that would break it. */
const INITDB_FORBIDDEN = new Set(['pgdata', 'D', 'pwfile', 'pwprompt', 'W', 'username', 'U', 'sync-only', 'S', 'version', 'V', 'help', 'nosync', 'no-sync', 'N']);

/**
 * Patroni's bootstrap.initdb list: 'data-checksums' -> --data-checksums, {encoding: 'UTF8'} ->
 * --encoding=UTF8. Keel adds -D, --username, --pwfile and, unless given, --auth-local=trust
 * --auth-host=scram-sha-256 (not md5: initdb then also writes password_encryption = md5, and every
 * password would be stored as an md5 hash; pg_hba.conf is Keel's anyway, where md5 lines accept SCRAM).
 */
export function buildInitdbArgs(
  options: readonly InitdbOption[],
  ctx: { dataDir: string; superuser: string; pwfile: string },
): string[] {
  const user: string[] = [];
  const names = new Set<string>();
  const check = (name: string) => {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) throw new Error(`not a valid initdb option: ${JSON.stringify(name)}`);
    if (INITDB_FORBIDDEN.has(name)) throw new Error(`initdb option --${name} is set by Keel and may not be given`);
    names.add(name);
  };
  for (const opt of options) {
    if (typeof opt === 'string') {
      const name = opt.replace(/^--?/, '');
      check(name);
      user.push(name.length === 1 ? `-${name}` : `--${name}`);
    } else {
      for (const [k, v] of Object.entries(opt)) {
        const name = k.replace(/^--?/, '');
        check(name);
        const value = String(v);
        assertSingleLine(`initdb option --${name}`, value);
        user.push(name.length === 1 ? `-${name}${value}` : `--${name}=${value}`);
      }
    }
  }
  const auth: string[] = [];
  if (!names.has('auth') && !names.has('A')) {
    if (!names.has('auth-local')) auth.push('--auth-local=trust');
    if (!names.has('auth-host')) auth.push('--auth-host=scram-sha-256');
  }
  return [`--pgdata=${ctx.dataDir}`, `--username=${ctx.superuser}`, `--pwfile=${ctx.pwfile}`, ...auth, ...user];
}

/** pg_controldata output (LANG=C) as key -> value. */
export function parseControlDataRaw(text: string): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    raw[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return raw;
}

export function parseControlData(text: string): ControlData {
  const raw = parseControlDataRaw(text);
  const need = (key: string): string => {
    const v = raw[key];
    if (v === undefined) throw new Error(`pg_controldata output lacks "${key}"`);
    return v;
  };
  const int = (key: string): number => {
    const v = need(key);
    if (!/^\d+$/.test(v)) throw new Error(`pg_controldata: "${key}" is not a number: ${v}`);
    return Number(v);
  };
  const optInt = (key: string): number | null => (raw[key] !== undefined && /^\d+$/.test(raw[key]!) ? Number(raw[key]) : null);
  const state = need('Database cluster state');
  if (!CONTROL_STATES.includes(state as ControlState)) throw new Error(`pg_controldata: unknown cluster state "${state}"`);
  const hints = raw['wal_log_hints setting'];
  return {
    sysid: need('Database system identifier'),
    state: state as ControlState,
    timeline: int("Latest checkpoint's TimeLineID"),
    prevTimeline: optInt("Latest checkpoint's PrevTimeLineID"),
    checkpointLsn: parseLsn(need('Latest checkpoint location')),
    redoLsn: parseLsn(need("Latest checkpoint's REDO location")),
    minRecoveryEndLsn: parseLsn(need('Minimum recovery ending location')),
    minRecoveryEndTimeline: optInt("Min recovery ending loc's timeline") ?? 0,
    walLevel: raw['wal_level setting'] ?? null,
    walLogHints: hints === undefined ? null : hints === 'on',
    dataChecksumVersion: optInt('Data page checksum version'),
    raw,
  };
}

/** A timeline history file (pg_wal/0000000N.history): "parentTLI<TAB>switchpoint<TAB>reason" lines. */
export function parseTimelineHistory(text: string): TimelineHistoryEntry[] {
  const out: TimelineHistoryEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const m = /^(\d+)\s+([0-9A-Fa-f]+\/[0-9A-Fa-f]+)\s*(.*)$/.exec(t);
    if (!m) throw new Error(`not a timeline history line: ${JSON.stringify(t)}`);
    out.push({ parentTli: Number(m[1]), switchpoint: parseLsn(m[2]!), reason: m[3]!.trim() });
  }
  return out;
}

export function historyFileName(timeline: number): string {
  if (!Number.isInteger(timeline) || timeline < 1) throw new Error(`not a timeline: ${timeline}`);
  return `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
}

/** The timeline of a WAL segment file name (its first 8 hex digits). */
export function timelineOfWalFile(name: string): number {
  if (!/^[0-9A-Fa-f]{24}$/.test(name)) throw new Error(`not a WAL file name: ${JSON.stringify(name)}`);
  return parseInt(name.slice(0, 8), 16);
}

/** pg_basebackup -P progress ("12345/67890 kB (18%), 0/1 tablespace ..."). */
export function parseBasebackupProgress(line: string): { doneKb: number; totalKb: number; percent: number } | null {
  const m = /(\d+)\/(\d+) kB \((\d+)%\)/.exec(line);
  if (!m) return null;
  return { doneKb: Number(m[1]), totalKb: Number(m[2]), percent: Number(m[3]) };
}

/** The last `lines` lines of a text, for error messages. */
export function tail(text: string, lines = 20): string {
  const all = text.replace(/\r/g, '\n').split('\n').filter((l) => l.trim() !== '');
  return all.slice(-lines).join('\n');
}
