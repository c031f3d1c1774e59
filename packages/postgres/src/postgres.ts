/**
 * The agent's only way to touch PostgreSQL: the data directory, the configuration files, the
 * command-line tools (initdb, pg_ctl, pg_controldata, pg_basebackup, pg_rewind) and SQL.
 */
import { constants as fsc } from 'node:fs';
import { access, chmod, chown, lstat, mkdir, mkdtemp, open, readFile, readdir, readlink, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Client, Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg';
import { formatLsn, parseLsn } from '@keel/protocol';
import {
  BASE_CONF_NAME,
  MANAGED_HEADER,
  buildConninfo,
  buildInitdbArgs,
  roleParams,
  type PgpassEntry,
  historyFileName,
  parseBasebackupProgress,
  parseControlData,
  parseTimelineHistory,
  renderPgHba,
  renderPgpass,
  renderPostgresqlConf,
  tail,
  timelineOfWalFile,
} from './conf.ts';
import { run, type RunResult } from './exec.ts';
import { pg } from './load-pg.ts';
import { isPostgresProcessAlive, killPostmasterTree, pollUntil } from './process.ts';
import { passwordVerifier } from './secrets.ts';
import { highestWalTimeline, parseIdentifySystem, parseTimelineHistoryReply, parseWaldumpTail, walGeometry, walRecordEnd } from './wal.ts';
import { SlotOps } from './slots.ts';
import type {
  ControlData,
  Credentials,
  DataDirState,
  Gucs,
  HostPort,
  InitdbOption,
  PendingRestart,
  PostgresOptions,
  Probe,
  ReplicationRow,
  RunAs,
  ReplicationSlot,
  SlotInfo,
  StopMode,
  LeaderTimeline,
  LocalWalEnd,
  TimelineHistoryEntry,
  WriteConfigOptions,
} from './types.ts';

const PROBE_CONNECT_TIMEOUT_MS = 3000;
const PROBE_QUERY_TIMEOUT_MS = 5000;

/** Everything the probe needs, in one round trip. */
const PROBE_SQL = `
SELECT
  pg_catalog.pg_is_in_recovery() AS in_recovery,
  pg_catalog.to_char(pg_catalog.pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS start_time,
  pg_catalog.current_setting('server_version_num')::int AS server_version,
  (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) AS sysid,
  (SELECT timeline_id FROM pg_catalog.pg_control_checkpoint()) AS checkpoint_tli,
  CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE pg_catalog.pg_current_wal_lsn()::text END AS current_lsn,
  CASE WHEN pg_catalog.pg_is_in_recovery() THEN NULL ELSE pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()) END AS current_walfile,
  pg_catalog.pg_last_wal_receive_lsn()::text AS receive_lsn,
  pg_catalog.pg_last_wal_replay_lsn()::text AS replay_lsn,
  pg_catalog.to_char(pg_catalog.pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS replay_ts,
  CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_is_wal_replay_paused() ELSE false END AS replay_paused,
  pg_catalog.current_setting('synchronous_standby_names') AS synchronous_standby_names,
  pg_catalog.current_setting('synchronous_commit') AS synchronous_commit,
  (SELECT pg_catalog.row_to_json(w) FROM (
     SELECT status, received_tli, sender_host, sender_port FROM pg_catalog.pg_stat_wal_receiver) w) AS wal_receiver,
  (SELECT COALESCE(pg_catalog.json_agg(r), '[]') FROM (
     SELECT usename, application_name, pg_catalog.host(client_addr) AS client_addr, state, sync_state, sync_priority,
            write_lsn::text AS write_lsn, flush_lsn::text AS flush_lsn, replay_lsn::text AS replay_lsn
       FROM pg_catalog.pg_stat_replication ORDER BY application_name, pid) r) AS replication,
  (SELECT COALESCE(pg_catalog.json_agg(s), '[]') FROM (
     SELECT slot_name, slot_type, plugin, database, active, restart_lsn::text AS restart_lsn,
            confirmed_flush_lsn::text AS confirmed_flush_lsn, catalog_xmin::text AS catalog_xmin
       FROM pg_catalog.pg_replication_slots WHERE NOT temporary ORDER BY slot_name) s) AS slots,
  (SELECT COALESCE(pg_catalog.json_agg(p), '[]') FROM (
     SELECT * FROM (
       SELECT s.name, pg_catalog.current_setting(s.name) AS old_value, COALESCE(f.setting, s.boot_val) AS new_value
         FROM pg_catalog.pg_settings s
         -- the last occurrence in the files wins; a pending one carries error 'setting could not be applied'
         LEFT JOIN LATERAL (SELECT fs.setting FROM pg_catalog.pg_file_settings fs
                             WHERE fs.name = s.name ORDER BY fs.seqno DESC LIMIT 1) f ON true
        WHERE s.pending_restart) x
      WHERE old_value IS DISTINCT FROM new_value ORDER BY name) p) AS pending_restart,
  (SELECT pg_catalog.row_to_json(a) FROM (
     SELECT pg_catalog.current_setting('archive_mode') AS archive_mode, archived_count, last_archived_wal,
            pg_catalog.to_char(last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_archived_time,
            failed_count, last_failed_wal,
            pg_catalog.to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_failed_time
       FROM pg_catalog.pg_stat_archiver) a) AS archiver`;

interface ProbeRow {
  in_recovery: boolean;
  start_time: string | null;
  server_version: number;
  sysid: string | null;
  checkpoint_tli: number | null;
  current_lsn: string | null;
  current_walfile: string | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  replay_ts: string | null;
  replay_paused: boolean;
  synchronous_standby_names: string | null;
  synchronous_commit: string | null;
  wal_receiver: { status: string; received_tli: number | null; sender_host: string | null; sender_port: number | null } | null;
  replication: Array<Record<string, string | number | null>>;
  slots: Array<{
    slot_name: string;
    slot_type: string;
    plugin: string | null;
    database: string | null;
    active: boolean;
    restart_lsn: string | null;
    confirmed_flush_lsn: string | null;
    catalog_xmin: string | null;
  }>;
  pending_restart: PendingRestart[];
  archiver: {
    archive_mode: string;
    archived_count: number;
    last_archived_wal: string | null;
    last_archived_time: string | null;
    failed_count: number;
    last_failed_wal: string | null;
    last_failed_time: string | null;
  } | null;
}

const lsnOrNull = (v: string | null | undefined): number | null => (v ? parseLsn(v) : null);
const patroniTime = (v: string | null): string | null => (v ? `${v}+00:00` : null);

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p, fsc.F_OK);
    return true;
  } catch {
    return false;
  }
}

function emptyProbe(): Probe {
  return {
    running: false,
    postmasterRunning: false,
    role: null,
    timeline: null,
    lsn: null,
    receiveLsn: null,
    replayLsn: null,
    replayedTimestamp: null,
    replayPaused: false,
    streaming: false,
    walReceiverStatus: null,
    upstream: null,
    replication: [],
    slots: [],
    slotDetails: [],
    replicationSlots: [],
    postmasterStartTime: null,
    serverVersion: null,
    sysid: null,
    pendingRestart: [],
    synchronousStandbyNames: null,
    archiver: null,
  };
}

export interface RewindResult {
  /** false when pg_rewind found nothing to do ("no rewind required"). */
  rewound: boolean;
  output: string;
}

export interface SyncSlotsResult {
  created: string[];
  dropped: string[];
  /** Asked to drop but still in use (active) or not physical: left alone. */
  kept: string[];
}

export class Postgres {
  readonly binDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly port: number;
  readonly listenHost: string;
  readonly connectAddress: HostPort;
  readonly socketDir: string | undefined;
  readonly memberName: string;
  private readonly superuser: Credentials;
  private readonly replication: Credentials;
  private readonly rewindUser: Credentials | undefined;
  private readonly pgpassPath: string;
  private readonly runAs: RunAs | undefined;
  private readonly logFn: ((message: string) => void) | undefined;
  private slotOpsCache: SlotOps | undefined;
  private parameters: Gucs;
  private pgHba: string[];
  private pool: Pool | null = null;
  /** The REST API's own connection (probe({ channel: 'api' })), so health checks never queue behind the HA loop. */
  private apiPool: Pool | null = null;

  constructor(opts: PostgresOptions) {
    if (!opts.binDir) throw new Error('binDir is required');
    if (!opts.dataDir) throw new Error('dataDir is required');
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new Error(`not a valid port: ${opts.port}`);
    if (!opts.superuser?.username || !opts.replication?.username) throw new Error('superuser and replication user names are required');
    if (!opts.memberName) throw new Error('memberName is required');
    this.binDir = resolve(opts.binDir);
    this.dataDir = resolve(opts.dataDir);
    this.logFile = resolve(opts.logFile ?? `${this.dataDir}.log`);
    this.port = opts.port;
    this.listenHost = opts.listenHost;
    this.connectAddress = { ...opts.connectAddress };
    this.socketDir = opts.socketDir === undefined ? undefined : resolve(opts.socketDir);
    this.memberName = opts.memberName;
    this.superuser = { ...opts.superuser };
    this.replication = { ...opts.replication };
    this.rewindUser = opts.rewind ? { ...opts.rewind } : undefined;
    this.pgpassPath = resolve(opts.pgpassPath);
    this.runAs = opts.runAs ? { ...opts.runAs } : undefined;
    this.logFn = opts.log;
    this.parameters = { ...opts.parameters };
    this.pgHba = [...opts.pgHba];
  }

  /** postgres://host:port/postgres, what members/<name>.conn_url carries. */
  get connUrl(): string {
    const h = this.connectAddress.host.includes(':') ? `[${this.connectAddress.host}]` : this.connectAddress.host;
    return `postgres://${h}:${this.connectAddress.port}/postgres`;
  }

  /** Replace the GUC map used by the next writeConfig. */
  setParameters(parameters: Gucs): void {
    this.parameters = { ...parameters };
  }

  getParameters(): Gucs {
    return { ...this.parameters };
  }

  setPgHba(lines: readonly string[]): void {
    this.pgHba = [...lines];
  }

  // ---------------------------------------------------------------- files and tools

  private say(message: string): void {
    this.logFn?.(message);
  }

  private bin(tool: string): string {
    return join(this.binDir, tool);
  }

  private async own(p: string): Promise<void> {
    if (this.runAs) await chown(p, this.runAs.uid, this.runAs.gid);
  }

  /** Write a file atomically (temp + rename) with the given mode, owned by the runAs user. */
  private async writeOwned(p: string, content: string, mode: number): Promise<void> {
    const tmp = `${p}.keel-tmp`;
    await writeFile(tmp, content, { mode });
    await chmod(tmp, mode);
    await this.own(tmp);
    await rename(tmp, p);
  }

  /** Create dir (and parents) if missing; a directory we create gets `mode` and the runAs owner. */
  private async ensureDir(dir: string, mode: number): Promise<void> {
    if (await exists(dir)) return;
    await mkdir(dir, { recursive: true, mode });
    await chmod(dir, mode);
    await this.own(dir);
  }

  private tool(
    tool: string,
    args: string[],
    extra: { env?: Record<string, string>; timeoutMs?: number; onStderr?: (c: string) => void; keepLocale?: boolean } = {},
  ): Promise<RunResult> {
    return run(this.bin(tool), args, { ...extra, ...(this.runAs ? { runAs: this.runAs } : {}) });
  }

  private async logTail(fromOffset = 0, lines = 20): Promise<string> {
    try {
      const buf = await readFile(this.logFile);
      const start = Math.max(fromOffset, buf.length - 64 * 1024);
      return tail(buf.subarray(start).toString('utf8'), lines);
    } catch {
      return '';
    }
  }

  private async logSize(): Promise<number> {
    try {
      return (await stat(this.logFile)).size;
    } catch {
      return 0;
    }
  }

  private async ensureLogFile(): Promise<void> {
    await this.ensureDir(dirname(this.logFile), 0o755);
    const fh = await open(this.logFile, 'a', 0o600);
    await fh.close();
    await this.own(this.logFile);
  }

  // ---------------------------------------------------------------- data directory

  /** missing or empty (dot files and lost+found ignored) => 'empty'; PG_VERSION => 'initialized'; else throws. */
  async dataDirState(): Promise<DataDirState> {
    let entries: string[];
    try {
      entries = await readdir(this.dataDir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return 'empty';
      throw new Error(`cannot read the data directory ${this.dataDir}: ${(e as Error).message}`);
    }
    const meaningful = entries.filter((n) => !n.startsWith('.') && n !== 'lost+found');
    if (meaningful.length === 0) return 'empty';
    if (entries.includes('PG_VERSION')) return 'initialized';
    throw new Error(
      `the data directory ${this.dataDir} is not empty but has no PG_VERSION (it holds ${meaningful.slice(0, 5).join(', ')}${meaningful.length > 5 ? ', ...' : ''}); refusing to use or overwrite it`,
    );
  }

  /** Wipe the data directory's contents (never while PostgreSQL runs) and leave it empty, mode 0700. */
  async removeDataDir(): Promise<void> {
    const pid = await this.postmasterPid();
    if (pid) throw new Error(`refusing to remove the data directory ${this.dataDir}: PostgreSQL is running (PID ${pid})`);
    this.say(`removing the contents of ${this.dataDir}`);
    let entries: string[] = [];
    try {
      entries = await readdir(this.dataDir);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    // A symlinked pg_wal (initdb --waldir) or tablespaces live elsewhere: empty their targets too.
    const linkTargets: string[] = [];
    const walLink = join(this.dataDir, 'pg_wal');
    if ((await lstat(walLink).catch(() => null))?.isSymbolicLink()) linkTargets.push(resolve(this.dataDir, await readlink(walLink)));
    const tblspc = join(this.dataDir, 'pg_tblspc');
    for (const n of await readdir(tblspc).catch(() => [] as string[])) {
      const l = join(tblspc, n);
      if ((await lstat(l).catch(() => null))?.isSymbolicLink()) linkTargets.push(resolve(tblspc, await readlink(l)));
    }
    for (const target of linkTargets) {
      for (const n of await readdir(target).catch(() => [] as string[])) await rm(join(target, n), { recursive: true, force: true });
    }
    for (const n of entries) {
      if (n === 'lost+found') continue;
      await rm(join(this.dataDir, n), { recursive: true, force: true });
    }
    if (!(await exists(this.dataDir))) await mkdir(this.dataDir, { recursive: true });
    await chmod(this.dataDir, 0o700);
    await this.own(this.dataDir);
  }

  /** pg_controldata, parsed; null when the data directory has no pg_control. */
  async controlData(): Promise<ControlData | null> {
    if (!(await exists(join(this.dataDir, 'global', 'pg_control')))) return null;
    const r = await this.tool('pg_controldata', ['-D', this.dataDir], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`pg_controldata failed (exit ${r.code ?? r.signal}): ${tail(r.stderr + r.stdout, 10)}`);
    return parseControlData(r.stdout);
  }

  /** The timeline history file of `timeline` (timeline 1 has none: []). */
  async readTimelineHistory(timeline: number): Promise<TimelineHistoryEntry[]> {
    if (timeline === 1) return [];
    const p = join(this.dataDir, 'pg_wal', historyFileName(timeline));
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      throw new Error(`cannot read the history of timeline ${timeline} (${p}): ${(e as Error).message}`);
    }
    return parseTimelineHistory(text);
  }

  /**
   * Where the WAL of this stopped former primary's data directory ends, read without changing it:
   * pg_waldump from the last checkpoint's redo point on its timeline to the first invalid record (the
   * same point crash recovery would replay to), and the history of that timeline. Throws, saying why,
   * whenever that is not certain: PostgreSQL running, a state other than a primary's (`shut down`,
   * `in production`, `in crash recovery`, `shutting down`), WAL files of a later timeline than the
   * checkpoint's (a promotion not checkpointed yet), pg_waldump stopping for any reason other than an
   * invalid record, or not reaching the checkpoint record.
   */
  async localWalEnd(opts: { timeoutSec?: number } = {}): Promise<LocalWalEnd> {
    const pid = await this.postmasterPid();
    if (pid) throw new Error(`PostgreSQL is running (PID ${pid})`);
    const cd = await this.controlData();
    if (!cd) throw new Error(`${this.dataDir} has no pg_control`);
    if (!['shut down', 'in production', 'in crash recovery', 'shutting down'].includes(cd.state)) {
      throw new Error(`pg_control says "${cd.state}", not a primary's state`);
    }
    const geometry = walGeometry(cd.raw);
    const walDir = join(this.dataDir, 'pg_wal');
    const highest = highestWalTimeline(await readdir(walDir));
    if (highest > cd.timeline) throw new Error(`pg_wal holds files of timeline ${highest}, later than the last checkpoint's timeline ${cd.timeline}`);
    const timeoutSec = opts.timeoutSec ?? 120;
    const r = await this.tool('pg_waldump', ['--path', walDir, '--timeline', String(cd.timeline), '--start', formatLsn(cd.redoLsn)], { timeoutMs: timeoutSec * 1000 });
    if (r.timedOut) throw new Error(`pg_waldump did not finish within ${timeoutSec} s`);
    const dumped = parseWaldumpTail(r.stdout, r.stderr);
    if (dumped.lastRecord < cd.checkpointLsn) {
      throw new Error(`pg_waldump stopped at ${formatLsn(dumped.lastRecord)}, before the last checkpoint record at ${formatLsn(cd.checkpointLsn)}`);
    }
    return {
      sysid: cd.sysid,
      state: cd.state,
      timeline: cd.timeline,
      lastRecord: dumped.lastRecord,
      end: walRecordEnd(dumped.lastRecord, dumped.totalLength, geometry, dumped.isSwitch),
      stoppedBecause: dumped.stoppedBecause,
      history: await this.readTimelineHistory(cd.timeline),
    };
  }

  /**
   * What `source` (a running primary or standby) says about its timelines over a replication
   * connection as the replication role, like the walreceiver's: IDENTIFY_SYSTEM (system identifier,
   * current timeline) and TIMELINE_HISTORY of that timeline (where each earlier one ended).
   * `timelineHint` (the timeline it published) lets both go over one connection when it is right.
   */
  async leaderTimeline(source: HostPort, opts: { timeoutSec?: number; timelineHint?: number } = {}): Promise<LeaderTimeline> {
    await this.writePgpass(source, 'replication');
    const conninfo = buildConninfo([
      ['host', source.host],
      ['port', source.port],
      ['user', this.replication.username],
      ['dbname', 'replication'],
      ['replication', 'true'],
      ['connect_timeout', 10],
      ['application_name', `keel-rejoin-${this.memberName}`],
      ...roleParams(this.replication.params),
    ]);
    const timeoutSec = opts.timeoutSec ?? 30;
    const psql = async (commands: string[]): Promise<string> => {
      const r = await this.tool('psql', ['-X', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1', '-d', conninfo, ...commands.flatMap((c) => ['-c', c])], {
        env: { PGPASSFILE: this.pgpassPath },
        timeoutMs: timeoutSec * 1000,
      });
      if (r.code !== 0) {
        const why = r.timedOut ? `timed out after ${timeoutSec} s` : `exit ${r.code ?? r.signal}`;
        throw new Error(`${commands.join('; ')} on ${source.host}:${source.port} failed (${why}): ${tail(r.stderr + '\n' + r.stdout, 5)}`);
      }
      return r.stdout;
    };
    // One connection when the hint (the timeline the leader published) is right, two otherwise.
    const hint = opts.timelineHint;
    if (hint !== undefined && hint > 1) {
      const out = await psql(['IDENTIFY_SYSTEM', `TIMELINE_HISTORY ${hint}`]).catch(() => null);
      const nl = out?.indexOf('\n') ?? -1;
      if (out && nl > 0) {
        const id = parseIdentifySystem(out.slice(0, nl));
        if (id.timeline === hint) return { sysid: id.sysid, timeline: id.timeline, lsn: id.lsn, history: parseTimelineHistoryReply(out.slice(nl + 1), hint) };
      }
    }
    const id = parseIdentifySystem(await psql(['IDENTIFY_SYSTEM']));
    const history = id.timeline > 1 ? parseTimelineHistoryReply(await psql([`TIMELINE_HISTORY ${id.timeline}`]), id.timeline) : [];
    return { sysid: id.sysid, timeline: id.timeline, lsn: id.lsn, history };
  }

  // ---------------------------------------------------------------- configuration files

  /**
   * .pgpass (0600) for the connections about to be made, one line per server and role: the replication
   * role for streaming and base backups from `server`, the rewind role (or the superuser) for pg_rewind.
   * Rewritten whole on every call, so it never holds passwords for servers Keel no longer connects to.
   */
  private async writePgpass(server: HostPort | null, purpose: 'replication' | 'rewind'): Promise<void> {
    const entries: PgpassEntry[] = [];
    if (server) {
      if (purpose === 'replication') entries.push({ server, database: 'replication', user: this.replication });
      else entries.push({ server, database: 'postgres', user: this.rewindUser ?? this.superuser });
    }
    await this.ensureDir(dirname(this.pgpassPath), 0o700);
    await this.writeOwned(this.pgpassPath, renderPgpass(entries), 0o600);
  }

  /**
   * postgresql.conf (generated whole; initdb's original is kept as postgresql.base.conf and
   * included first), pg_hba.conf, standby.signal (present iff standby) and the passfile.
   */
  async writeConfig(opts: WriteConfigOptions): Promise<void> {
    if (opts.parameters) this.setParameters(opts.parameters);
    if (opts.pgHba) this.setPgHba(opts.pgHba);
    if (!(await exists(join(this.dataDir, 'PG_VERSION')))) throw new Error(`cannot write the configuration: ${this.dataDir} is not an initialized data directory`);
    const confPath = join(this.dataDir, 'postgresql.conf');
    const basePath = join(this.dataDir, BASE_CONF_NAME);
    if (!(await exists(basePath)) && (await exists(confPath))) {
      const current = await readFile(confPath, 'utf8');
      if (!current.startsWith(MANAGED_HEADER)) await rename(confPath, basePath);
    }
    const conf = renderPostgresqlConf({
      dataDir: this.dataDir,
      listenHost: this.listenHost,
      port: this.port,
      ...(this.socketDir !== undefined ? { socketDir: this.socketDir } : {}),
      parameters: this.parameters,
      includeBase: await exists(basePath),
      standby: opts.standby,
      ...(opts.recovery ? { recovery: opts.recovery } : {}),
      replication: this.replication,
      pgpassPath: this.pgpassPath,
      memberName: this.memberName,
      serverVersion: await this.dataDirVersion(),
    });
    await this.writeOwned(confPath, conf, 0o600);
    await this.writeOwned(join(this.dataDir, 'pg_hba.conf'), renderPgHba(this.pgHba), 0o600);
    const signal = join(this.dataDir, 'standby.signal');
    if (opts.standby) await this.writeOwned(signal, '', 0o600);
    else if (!opts.keepSignals) await unlink(signal).catch((e) => (errnoCode(e) === 'ENOENT' ? undefined : Promise.reject(e)));
    if (opts.recoverySignal && !opts.standby) await this.writeOwned(join(this.dataDir, 'recovery.signal'), '', 0o600);
    await this.writePgpass(opts.standby?.primaryConninfo ?? null, 'replication');
    this.say(`wrote postgresql.conf and pg_hba.conf (${opts.standby ? 'standby' : 'primary'})`);
  }

  /** The data directory's major version as server_version_num (PG_VERSION "15" -> 150000), or null. */
  async dataDirVersion(): Promise<number | null> {
    const text = await readFile(join(this.dataDir, 'PG_VERSION'), 'utf8').catch(() => null);
    const m = text === null ? null : /^\s*(\d+)(?:\.(\d+))?\s*$/.exec(text);
    if (!m) return null;
    const major = Number(m[1]);
    return major >= 10 ? major * 10000 : major * 10000 + Number(m[2] ?? 0) * 100;
  }

  // ---------------------------------------------------------------- initdb

  async initdb(options: readonly InitdbOption[] = []): Promise<void> {
    if ((await this.dataDirState()) !== 'empty') throw new Error(`initdb: the data directory ${this.dataDir} is not empty`);
    await this.ensureDir(this.dataDir, 0o700);
    const tmp = await mkdtemp(join(tmpdir(), 'keel-initdb-'));
    try {
      await this.own(tmp);
      const pwfile = join(tmp, 'pwfile');
      await this.writeOwned(pwfile, this.superuser.password + '\n', 0o600);
      const args = buildInitdbArgs(options, { dataDir: this.dataDir, superuser: this.superuser.username, pwfile });
      this.say(`initdb ${args.filter((a) => !a.startsWith('--pwfile')).join(' ')}`);
      // initdb takes the cluster's default locale and encoding from the caller's environment
      const r = await this.tool('initdb', args, { timeoutMs: 300_000, keepLocale: true });
      if (r.code !== 0) {
        await this.removeDataDir().catch(() => undefined);
        throw new Error(`initdb failed (exit ${r.code ?? r.signal}): ${tail(r.stderr + '\n' + r.stdout, 15)}`);
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  // ---------------------------------------------------------------- process control

  /** The postmaster's PID when it is alive (postmaster.pid + kill(pid, 0) + not a zombie). */
  async postmasterPid(): Promise<number | null> {
    let text: string;
    try {
      text = await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8');
    } catch {
      return null;
    }
    const pid = Number(text.split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return null;
    return (await isPostgresProcessAlive(pid)) ? pid : null;
  }

  async isRunning(): Promise<boolean> {
    return (await this.postmasterPid()) !== null;
  }

  /**
   * postmaster.pid and the socket lock file name a PID; when that process is dead or a zombie (an
   * init that does not reap, after a SIGKILL), PostgreSQL still believes it alive and refuses to
   * start ("lock file ... already exists"). Remove such stale files. The shared memory interlock
   * still protects the data directory should this judgement ever be wrong.
   */
  private async removeStaleLockFiles(): Promise<void> {
    const socketDirs = this.socketDir !== undefined ? [this.socketDir] : ['/var/run/postgresql', '/tmp'];
    const files = [join(this.dataDir, 'postmaster.pid'), ...socketDirs.map((d) => join(d, `.s.PGSQL.${this.port}.lock`))];
    for (const f of files) {
      let text: string;
      try {
        text = await readFile(f, 'utf8');
      } catch {
        continue;
      }
      const pid = Number(text.split('\n')[0]);
      if (Number.isInteger(pid) && pid > 0 && (await isPostgresProcessAlive(pid))) continue;
      this.say(`removing the stale lock file ${f} (PID ${pid} is not running)`);
      await unlink(f).catch(() => undefined);
    }
  }

  /** pg_ctl start. With wait, returns once PostgreSQL accepts connections (or throws with the log tail). */
  async start(opts: { timeoutSec: number; wait: boolean }): Promise<void> {
    const running = await this.postmasterPid();
    if (running) throw new Error(`cannot start PostgreSQL: it is already running (PID ${running})`);
    if ((await this.dataDirState()) !== 'initialized') throw new Error(`cannot start PostgreSQL: ${this.dataDir} is not an initialized data directory`);
    await this.ensureLogFile();
    if (this.socketDir) await this.ensureDir(this.socketDir, 0o755);
    await this.removeStaleLockFiles();
    const offset = await this.logSize();
    const timeoutSec = Math.max(1, Math.round(opts.timeoutSec));
    this.say(`starting PostgreSQL (${opts.wait ? `waiting up to ${timeoutSec}s` : 'not waiting'})`);
    const r = await this.tool('pg_ctl', ['start', '-D', this.dataDir, '-l', this.logFile, opts.wait ? '-w' : '-W', '-t', String(timeoutSec)], {
      timeoutMs: (timeoutSec + 30) * 1000,
    });
    if (r.code === 0) return;
    const pid = await this.postmasterPid();
    const what = pid ? `did not become ready within ${timeoutSec}s (still starting, PID ${pid})` : 'failed to start';
    throw new Error(`PostgreSQL ${what}: ${tail(r.stderr + '\n' + r.stdout, 5)}\n--- log ---\n${await this.logTail(offset)}`);
  }

  /**
   * pg_ctl stop; returns when the postmaster is gone. A fast stop that times out becomes an
   * immediate one, and an immediate one that times out ends with SIGKILL. A smart stop that
   * times out throws (the server keeps shutting down, refusing new connections).
   */
  async stop(mode: StopMode = 'fast', timeoutSec = 60): Promise<void> {
    const pid = await this.postmasterPid();
    if (!pid) return;
    await this.closePool(); // our own connection would hold up a smart shutdown
    const offset = await this.logSize();
    const timeout = Math.max(1, Math.round(timeoutSec));
    this.say(`stopping PostgreSQL (${mode}, PID ${pid})`);
    const r = await this.tool('pg_ctl', ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', String(timeout)], { timeoutMs: (timeout + 30) * 1000 });
    if (!(await this.postmasterPid())) return;
    if (mode === 'smart') {
      throw new Error(`PostgreSQL did not stop within ${timeout}s (smart mode waits for clients): ${tail(r.stderr + r.stdout, 5)}\n--- log ---\n${await this.logTail(offset)}`);
    }
    if (mode === 'fast') {
      this.say(`fast stop did not finish within ${timeout}s: stopping in immediate mode`);
      await this.tool('pg_ctl', ['stop', '-D', this.dataDir, '-m', 'immediate', '-w', '-t', String(Math.max(10, timeout))], {
        timeoutMs: (Math.max(10, timeout) + 30) * 1000,
      });
      if (!(await this.postmasterPid())) return;
    }
    this.say(`immediate stop did not finish: killing PostgreSQL (PID ${pid})`);
    await killPostmasterTree(pid);
    if (!(await pollUntil(async () => !(await this.postmasterPid()), 10_000))) {
      throw new Error(`PostgreSQL (PID ${pid}) survived SIGKILL\n--- log ---\n${await this.logTail(offset)}`);
    }
  }

  async restart(opts: { mode?: StopMode; timeoutSec: number }): Promise<void> {
    await this.stop(opts.mode ?? 'fast', opts.timeoutSec);
    await this.start({ timeoutSec: opts.timeoutSec, wait: true });
  }

  /** pg_ctl reload (SIGHUP): re-read postgresql.conf and pg_hba.conf. */
  async reload(): Promise<void> {
    const r = await this.tool('pg_ctl', ['reload', '-D', this.dataDir], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`pg_ctl reload failed (exit ${r.code ?? r.signal}): ${tail(r.stderr + r.stdout, 5)}`);
  }

  /**
   * pg_ctl promote -w, then wait until pg_is_in_recovery() is false. By default a CHECKPOINT
   * follows, so pg_control shows the new timeline at once (pg_rewind on the former primary reads
   * the source's timeline from there; until the end-of-recovery checkpoint it would say "no
   * rewind required"). Returns at once if already a primary.
   */
  async promote(opts: { timeoutSec: number; checkpoint?: boolean }): Promise<void> {
    const pid = await this.postmasterPid();
    if (!pid) throw new Error('cannot promote: PostgreSQL is not running');
    const deadline = Date.now() + opts.timeoutSec * 1000;
    const inRecovery = async (): Promise<boolean | null> => {
      try {
        const rows = await this.query<{ r: boolean }>('SELECT pg_catalog.pg_is_in_recovery() AS r');
        return rows[0]?.r ?? null;
      } catch {
        return null;
      }
    };
    if ((await inRecovery()) === false) return;
    const offset = await this.logSize();
    this.say('promoting PostgreSQL');
    const timeout = Math.max(1, Math.round(opts.timeoutSec));
    const r = await this.tool('pg_ctl', ['promote', '-D', this.dataDir, '-w', '-t', String(timeout)], { timeoutMs: (timeout + 30) * 1000 });
    if (r.code !== 0 && !/not in standby mode/.test(r.stderr)) {
      throw new Error(`pg_ctl promote failed (exit ${r.code ?? r.signal}): ${tail(r.stderr + r.stdout, 5)}\n--- log ---\n${await this.logTail(offset)}`);
    }
    const ok = await pollUntil(async () => (await inRecovery()) === false, Math.max(0, deadline - Date.now()), 100);
    if (!ok) throw new Error(`PostgreSQL is still in recovery ${opts.timeoutSec}s after promote\n--- log ---\n${await this.logTail(offset)}`);
    if (opts.checkpoint ?? true) {
      await this.query('CHECKPOINT').catch((e: Error) => this.say(`checkpoint after promote failed: ${e.message}`));
    }
  }

  // ---------------------------------------------------------------- SQL

  private getPool(channel: 'loop' | 'api' = 'loop'): Pool {
    if (channel === 'api') {
      this.apiPool ??= this.newPool(1);
      return this.apiPool;
    }
    this.pool ??= this.newPool(2);
    return this.pool;
  }

  private newPool(max: number): Pool {
    const pool = new pg.Pool({
      host: this.socketDir ?? this.localTcpHost(),
      port: this.port,
      user: this.superuser.username,
      password: this.superuser.password,
      database: 'postgres',
      application_name: 'keel',
      max,
      connectionTimeoutMillis: PROBE_CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: 60_000,
      allowExitOnIdle: true,
    });
    // An idle connection dies when PostgreSQL stops; pg-pool drops it, we only must not crash.
    pool.on('error', () => undefined);
    return pool;
  }

  /** Where to reach the local server over TCP when there is no socket directory. */
  private localTcpHost(): string {
    const first = this.listenHost.split(',')[0]?.trim() ?? '';
    if (!first || first === '*' || first === '0.0.0.0') return '127.0.0.1';
    if (first === '::') return '::1';
    return first;
  }

  /** Close the pool; waits at most waitMs for queries in flight (they fail when the server stops anyway). */
  private async closePool(waitMs = 1000): Promise<void> {
    const pools = [this.pool, this.apiPool].filter((p): p is Pool => p !== null);
    this.pool = null;
    this.apiPool = null;
    if (pools.length === 0) return;
    const ended = Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([ended, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }

  /** Permanent-slot operations (slots.ts): create, drop, advance, copy from the primary. */
  get slotOps(): SlotOps {
    this.slotOpsCache ??= new SlotOps({
      dataDir: this.dataDir,
      own: (p) => this.own(p),
      localClient: (database) => this.connectClient({ host: this.socketDir ?? this.localTcpHost(), port: this.port, user: this.superuser, database }),
      sourceClient: (source) => this.connectClient({ host: source.host, port: source.port, user: this.rewindUser ?? this.superuser, database: 'postgres' }),
    });
    return this.slotOpsCache;
  }

  /** One connection (not pooled), with the role's TLS settings when it requires TLS. */
  private async connectClient(o: { host: string; port: number; user: Credentials; database: string }): Promise<Client> {
    const p = o.user.params ?? {};
    const mode = p['sslmode'];
    const file = async (k: string) => (p[k] ? await readFile(p[k]) : undefined);
    const ssl =
      mode === 'require' || mode === 'verify-ca' || mode === 'verify-full'
        ? {
            rejectUnauthorized: mode !== 'require',
            ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
            ca: await file('sslrootcert'),
            cert: await file('sslcert'),
            key: await file('sslkey'),
          }
        : false;
    const client = new pg.Client({
      host: o.host,
      port: o.port,
      user: o.user.username,
      password: o.user.password,
      database: o.database,
      application_name: 'keel-slots',
      connectionTimeoutMillis: PROBE_CONNECT_TIMEOUT_MS,
      ssl,
    });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /** Run SQL as the superuser on the local instance; returns the rows. */
  async query<T extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]> {
    const res = await this.getPool().query<T>(sql, params);
    return res.rows;
  }

  /** Close the connection pool (a later query opens a new one). */
  async close(): Promise<void> {
    await this.closePool(10_000);
  }

  /**
   * What the agent needs to know about the running instance. Never throws. The HA loop probes on its
   * own connection; the REST API passes channel 'api' and gets a separate one (at most one query at a
   * time there: the API shares one probe result between its callers).
   */
  async probe(opts: { channel?: 'loop' | 'api' } = {}): Promise<Probe> {
    const out = emptyProbe();
    let row: ProbeRow | undefined;
    try {
      const res = await this.getPool(opts.channel).query<ProbeRow>({ text: PROBE_SQL, query_timeout: PROBE_QUERY_TIMEOUT_MS } as QueryConfig);
      row = res.rows[0];
      if (!row) throw new Error('the probe query returned no row');
    } catch (e) {
      out.error = (e as Error).message || String(e);
      // no answer: is the postmaster there at all (starting, shutting down, not accepting connections)?
      // Only looked at then: reading postmaster.pid is four trips through libuv's thread pool.
      try {
        out.postmasterRunning = await this.isRunning();
      } catch {
        /* keep false */
      }
      return out;
    }
    try {
      out.running = true;
      out.postmasterRunning = true;
      out.role = row.in_recovery ? 'replica' : 'primary';
      out.serverVersion = row.server_version;
      out.sysid = row.sysid;
      out.postmasterStartTime = patroniTime(row.start_time);
      out.receiveLsn = lsnOrNull(row.receive_lsn);
      out.replayLsn = lsnOrNull(row.replay_lsn);
      out.replayedTimestamp = patroniTime(row.replay_ts);
      out.replayPaused = row.replay_paused;
      out.synchronousStandbyNames = row.synchronous_standby_names ?? null;
      out.synchronousCommit = row.synchronous_commit ?? null;
      const a = row.archiver;
      out.archiver = a
        ? {
            archiveMode: a.archive_mode,
            archivedCount: Number(a.archived_count),
            lastArchivedWal: a.last_archived_wal,
            lastArchivedAt: a.last_archived_time,
            failedCount: Number(a.failed_count),
            lastFailedWal: a.last_failed_wal,
            lastFailedAt: a.last_failed_time,
          }
        : null;
      const wr = row.wal_receiver;
      out.walReceiverStatus = wr?.status ?? null;
      out.streaming = wr?.status === 'streaming';
      out.upstream = wr?.sender_host && wr.sender_port ? { host: wr.sender_host, port: wr.sender_port } : null;
      if (row.in_recovery) {
        const candidates = [out.receiveLsn, out.replayLsn].filter((x): x is number => x !== null);
        out.lsn = candidates.length ? Math.max(...candidates) : null;
        out.timeline = wr?.received_tli || row.checkpoint_tli;
      } else {
        out.lsn = lsnOrNull(row.current_lsn);
        out.timeline = row.current_walfile ? timelineOfWalFile(row.current_walfile) : row.checkpoint_tli;
      }
      out.replication = row.replication.map(
        (r): ReplicationRow => ({
          usename: (r.usename as string | null) ?? null,
          application_name: (r.application_name as string | null) ?? null,
          client_addr: (r.client_addr as string | null) ?? null,
          state: (r.state as string | null) ?? null,
          sync_state: (r.sync_state as string | null) ?? null,
          sync_priority: (r.sync_priority as number | null) ?? null,
          write_lsn: lsnOrNull(r.write_lsn as string | null),
          flush_lsn: lsnOrNull(r.flush_lsn as string | null),
          replay_lsn: lsnOrNull(r.replay_lsn as string | null),
        }),
      );
      out.replicationSlots = row.slots.map(
        (s): ReplicationSlot => ({
          name: s.slot_name,
          type: s.slot_type === 'logical' ? 'logical' : 'physical',
          database: s.database,
          plugin: s.plugin,
          active: s.active,
          restartLsn: lsnOrNull(s.restart_lsn),
          confirmedFlushLsn: lsnOrNull(s.confirmed_flush_lsn),
          catalogXmin: s.catalog_xmin === null ? null : Number(s.catalog_xmin),
        }),
      );
      out.slotDetails = out.replicationSlots
        .filter((s) => s.type === 'physical')
        .map((s): SlotInfo => ({ name: s.name, active: s.active, restartLsn: s.restartLsn }));
      out.slots = out.slotDetails.map((s) => s.name);
      out.pendingRestart = row.pending_restart.map((p) => ({ name: p.name, old_value: String(p.old_value), new_value: String(p.new_value) }));
    } catch (e) {
      out.error = `cannot interpret the probe result: ${(e as Error).message}`;
    }
    return out;
  }

  /**
   * On a primary: the superuser's password, the replication role (LOGIN REPLICATION) and, when
   * configured, the rewind role with the grants pg_rewind needs. Idempotent. Passwords go to the
   * server as verifiers (SCRAM, or md5 when password_encryption=md5), with statement logging off.
   */
  async createRoles(): Promise<void> {
    const client: PoolClient = await this.getPool().connect();
    let failed = false;
    try {
      await client.query('BEGIN');
      // Keep the statements (which carry password verifiers) out of the server log; do not wait
      // for synchronous standbys that may not exist yet.
      await client.query("SET LOCAL log_statement = 'none'");
      await client.query('SET LOCAL log_min_duration_statement = -1');
      await client.query("SET LOCAL log_min_error_statement = 'panic'");
      await client.query("SET LOCAL synchronous_commit = 'local'");
      const rec = await client.query<{ r: boolean; enc: string }>("SELECT pg_catalog.pg_is_in_recovery() AS r, pg_catalog.current_setting('password_encryption') AS enc");
      if (rec.rows[0]?.r) throw new Error('cannot create roles: PostgreSQL is in recovery (a replica)');
      const enc = rec.rows[0]?.enc;
      const ensureRole = async (cred: Credentials, attributes: string) => {
        const found = await client.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [cred.username]);
        const verifier = passwordVerifier(cred.username, cred.password, enc);
        const pw = client.escapeLiteral(verifier ?? cred.password);
        const verb = found.rowCount ? 'ALTER' : 'CREATE';
        await client.query(`${verb} ROLE ${client.escapeIdentifier(cred.username)} WITH ${attributes} PASSWORD ${pw}`);
        this.say(`${verb === 'CREATE' ? 'created' : 'updated'} role ${cred.username}`);
      };
      await ensureRole(this.superuser, 'SUPERUSER LOGIN');
      if (this.replication.username !== this.superuser.username) await ensureRole(this.replication, 'LOGIN REPLICATION');
      const rw = this.rewindUser;
      if (rw && rw.username !== this.superuser.username) {
        await ensureRole(rw, 'LOGIN');
        const who = client.escapeIdentifier(rw.username);
        for (const fn of [
          'pg_catalog.pg_ls_dir(text, boolean, boolean)',
          'pg_catalog.pg_stat_file(text, boolean)',
          'pg_catalog.pg_read_binary_file(text)',
          'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)',
        ]) {
          await client.query(`GRANT EXECUTE ON FUNCTION ${fn} TO ${who}`);
        }
      }
      await client.query('COMMIT');
    } catch (e) {
      failed = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw new Error(`creating roles failed: ${(e as Error).message}`);
    } finally {
      client.release(failed);
    }
  }

  /** Create missing physical slots; drop the named ones that exist, are physical and inactive. */
  async syncSlots(opts: { create: readonly string[]; drop: readonly string[] }): Promise<SyncSlotsResult> {
    const valid = /^[a-z0-9_]{1,63}$/;
    for (const n of [...opts.create, ...opts.drop]) {
      if (!valid.test(n)) throw new Error(`not a valid replication slot name: ${JSON.stringify(n)}`);
    }
    const rows = await this.query<{ slot_name: string; slot_type: string; active: boolean }>(
      'SELECT slot_name, slot_type, active FROM pg_catalog.pg_replication_slots',
    );
    const byName = new Map(rows.map((r) => [r.slot_name, r]));
    const result: SyncSlotsResult = { created: [], dropped: [], kept: [] };
    for (const name of opts.create) {
      if (byName.has(name)) continue;
      try {
        await this.query('SELECT pg_catalog.pg_create_physical_replication_slot($1, true)', [name]);
        result.created.push(name);
      } catch (e) {
        if (!/already exists/.test((e as Error).message)) throw e;
      }
    }
    for (const name of opts.drop) {
      const s = byName.get(name);
      if (!s) continue;
      if (s.slot_type !== 'physical' || s.active) {
        result.kept.push(name);
        continue;
      }
      try {
        await this.query('SELECT pg_catalog.pg_drop_replication_slot($1)', [name]);
        result.dropped.push(name);
      } catch (e) {
        const m = (e as Error).message;
        if (/is active/.test(m)) result.kept.push(name);
        else if (!/does not exist/.test(m)) throw e;
      }
    }
    if (result.created.length || result.dropped.length) this.say(`slots: created [${result.created.join(', ')}] dropped [${result.dropped.join(', ')}]`);
    return result;
  }

  // ---------------------------------------------------------------- replicas

  /**
   * Wait until PostgreSQL, started in archive recovery (a custom bootstrap to a recovery target with
   * recovery_target_action = promote), has left recovery. False when it is still in recovery at the deadline.
   */
  async waitForRecoveryEnd(timeoutMs: number): Promise<boolean> {
    return pollUntil(async () => {
      const rows = await this.query<{ r: boolean }>('SELECT pg_catalog.pg_is_in_recovery() AS r').catch(() => null);
      return rows?.[0]?.r === false;
    }, timeoutMs, 500);
  }

  /** Create the data directory (0700, owned by the PostgreSQL user) if it is missing. */
  async ensureDataDir(): Promise<void> {
    await this.ensureDir(this.dataDir, 0o700);
  }

  /** Remove recovery.signal and standby.signal (a custom bootstrap without keep_existing_recovery_conf). */
  async removeRecoverySignals(): Promise<void> {
    for (const f of ['recovery.signal', 'standby.signal']) {
      await unlink(join(this.dataDir, f)).catch((e) => (errnoCode(e) === 'ENOENT' ? undefined : Promise.reject(e)));
    }
  }

  /**
   * For a command that connects to `source` as the replication role (a replica creation method): the
   * passfile written for that server, the environment pointing at it, and the connection string
   * (dbname, user, host, port, the role's libpq parameters; never the password).
   */
  async replicationSource(source: HostPort): Promise<{ connstring: string; env: Record<string, string> }> {
    await this.writePgpass(source, 'replication');
    const connstring = buildConninfo([
      ['dbname', 'postgres'],
      ['user', this.replication.username],
      ['host', source.host],
      ['port', source.port],
      ...roleParams(this.replication.params),
    ]);
    return { connstring, env: { PGPASSFILE: this.pgpassPath } };
  }

  /**
   * Run a command from the local configuration (a replica creation or bootstrap method) as the
   * PostgreSQL OS user, without a shell, in the tools' cleaned environment plus `env`.
   */
  async runCommand(argv: readonly string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
    const [file, ...args] = argv;
    if (!file) throw new Error('runCommand: empty command');
    return run(file, args, { ...opts, keepLocale: true, ...(this.runAs ? { runAs: this.runAs } : {}) });
  }

  /**
   * pg_basebackup from host:port as the replication user (passfile) into the empty data
   * directory. On failure the partial copy is removed. Write the configuration afterwards.
   */
  async basebackup(
    source: HostPort,
    opts: { onProgress?: (p: { doneKb: number; totalKb: number; percent: number }) => void; timeoutSec?: number; checkpoint?: 'fast' | 'spread' } = {},
  ): Promise<void> {
    const pid = await this.postmasterPid();
    if (pid) throw new Error(`cannot take a base backup: PostgreSQL is running (PID ${pid})`);
    if ((await this.dataDirState()) !== 'empty') throw new Error(`cannot take a base backup: ${this.dataDir} is not empty`);
    await this.ensureDir(this.dataDir, 0o700);
    await this.writePgpass(source, 'replication');
    const conninfo = buildConninfo([
      ['host', source.host],
      ['port', source.port],
      ['user', this.replication.username],
      ['connect_timeout', 10],
      ['application_name', `keel-basebackup-${this.memberName}`],
      ...roleParams(this.replication.params),
    ]);
    const args = [
      '-D', this.dataDir,
      '-X', 'stream',
      '-c', opts.checkpoint ?? 'fast',
      '-d', conninfo,
      '--no-password',
    ];
    if (opts.onProgress) args.push('-P');
    this.say(`pg_basebackup from ${source.host}:${source.port}`);
    const onProgress = opts.onProgress;
    const r = await this.tool('pg_basebackup', args, {
      env: { PGPASSFILE: this.pgpassPath },
      ...(opts.timeoutSec ? { timeoutMs: opts.timeoutSec * 1000 } : {}),
      ...(onProgress
        ? {
            onStderr: (chunk: string) => {
              for (const part of chunk.split(/[\r\n]/)) {
                const p = parseBasebackupProgress(part);
                if (p) onProgress(p);
              }
            },
          }
        : {}),
    });
    if (r.code !== 0) {
      await this.removeDataDir().catch(() => undefined);
      const why = r.timedOut ? `timed out after ${opts.timeoutSec}s` : `exit ${r.code ?? r.signal}`;
      throw new Error(`pg_basebackup from ${source.host}:${source.port} failed (${why}): ${tail(r.stderr + '\n' + r.stdout, 10)}`);
    }
    await chmod(this.dataDir, 0o700);
    await this.own(this.dataDir);
  }

  /**
   * pg_rewind the (stopped) data directory from a running source. pg_rewind 15 first runs crash
   * recovery in single-user mode if the target was not shut down cleanly (standby.signal is moved
   * aside meanwhile: single-user mode refuses standby mode). pg_rewind copies the source's
   * configuration files: ours, and standby.signal, are put back afterwards. Call
   * writeConfig({standby}) before starting the rewound instance.
   */
  async rewind(source: HostPort, opts: { timeoutSec?: number } = {}): Promise<RewindResult> {
    const pid = await this.postmasterPid();
    if (pid) throw new Error(`cannot rewind: PostgreSQL is running (PID ${pid})`);
    if ((await this.dataDirState()) !== 'initialized') throw new Error(`cannot rewind: ${this.dataDir} is not an initialized data directory`);
    await this.writePgpass(source, 'rewind');
    const saved = new Map<string, Buffer>();
    for (const f of ['postgresql.conf', BASE_CONF_NAME, 'pg_hba.conf', 'pg_ident.conf']) {
      const buf = await readFile(join(this.dataDir, f)).catch(() => null);
      if (buf) saved.set(f, buf);
    }
    // Single-user crash recovery refuses standby mode ("standby mode is not supported by single-user servers").
    const signal = join(this.dataDir, 'standby.signal');
    const hadSignal = await exists(signal);
    if (hadSignal) await unlink(signal);
    const user = this.rewindUser ?? this.superuser;
    const conninfo = buildConninfo([
      ['host', source.host],
      ['port', source.port],
      ['user', user.username],
      ['dbname', 'postgres'],
      ['connect_timeout', 10],
      ['application_name', `keel-rewind-${this.memberName}`],
      ...roleParams(user.params),
    ]);
    this.say(`pg_rewind from ${source.host}:${source.port} as ${user.username}`);
    let r: RunResult;
    try {
      r = await this.tool('pg_rewind', [`--target-pgdata=${this.dataDir}`, `--source-server=${conninfo}`], {
        env: { PGPASSFILE: this.pgpassPath },
        ...(opts.timeoutSec ? { timeoutMs: opts.timeoutSec * 1000 } : {}),
      });
    } finally {
      for (const [f, buf] of saved) {
        const p = join(this.dataDir, f);
        await writeFile(p, buf, { mode: 0o600 }).catch(() => undefined);
        await this.own(p).catch(() => undefined);
      }
      if (hadSignal) await this.writeOwned(signal, '', 0o600).catch(() => undefined);
    }
    const output = (r.stderr + '\n' + r.stdout).trim();
    if (r.code !== 0) {
      const why = r.timedOut ? `timed out after ${opts.timeoutSec}s` : `exit ${r.code ?? r.signal}`;
      throw new Error(`pg_rewind from ${source.host}:${source.port} failed (${why}): ${tail(output, 15)}`);
    }
    return { rewound: !/no rewind required/.test(output), output };
  }
}

