/** Types shared by the Postgres class, the renderers and the parsers. */

/** pg_controldata's "Database cluster state" (same union as @keel/ha-core's ControlState). */
export type ControlState =
  | 'starting up'
  | 'shut down'
  | 'shut down in recovery'
  | 'shutting down'
  | 'in crash recovery'
  | 'in archive recovery'
  | 'in production';

export const CONTROL_STATES: readonly ControlState[] = [
  'starting up',
  'shut down',
  'shut down in recovery',
  'shutting down',
  'in crash recovery',
  'in archive recovery',
  'in production',
];

export type DataDirState = 'empty' | 'initialized';

/** A GUC value as it appears in configuration maps (Patroni's YAML allows all three). */
export type GucValue = string | number | boolean;
export type Gucs = Record<string, GucValue>;

export interface Credentials {
  username: string;
  password: string;
  /**
   * libpq parameters for this role's connections (sslmode, sslcert, sslkey, sslrootcert, sslcrl, ...:
   * Patroni's postgresql.authentication.<role> extras), put into primary_conninfo, pg_basebackup's and
   * pg_rewind's connection strings.
   */
  params?: Readonly<Record<string, string>>;
}

export interface HostPort {
  host: string;
  port: number;
}

/** Run child processes as this user (the tests run as root; PostgreSQL refuses root). */
export interface RunAs {
  uid: number;
  gid: number;
}

export interface PostgresOptions {
  /** Directory holding initdb, pg_ctl, pg_controldata, pg_basebackup, pg_rewind. */
  binDir: string;
  dataDir: string;
  /** listen_addresses (one address or a comma-separated list). */
  listenHost: string;
  port: number;
  /** How other members reach this instance (conn_url). */
  connectAddress: HostPort;
  /** unix_socket_directories; the probe connects through it when set, else over TCP. */
  socketDir?: string;
  superuser: Credentials;
  replication: Credentials;
  /** A dedicated pg_rewind role; without it pg_rewind connects as the superuser. */
  rewind?: Credentials;
  /** The passfile written by writeConfig/writePgpass and used by walreceiver, pg_basebackup and pg_rewind. */
  pgpassPath: string;
  /** pg_ctl's -l log. Default: "<dataDir>.log" (a sibling, so pg_basebackup/pg_rewind never copy it). */
  logFile?: string;
  runAs?: RunAs;
  /** The final GUC map written to postgresql.conf (replace later with setParameters). */
  parameters: Gucs;
  /** pg_hba.conf lines. */
  pgHba: string[];
  /** application_name in primary_conninfo (shows up in the upstream's pg_stat_replication). */
  memberName: string;
  /** Receives one line per notable operation. Never receives secrets. */
  log?: (message: string) => void;
}

export interface ControlData {
  sysid: string;
  state: ControlState;
  /** Latest checkpoint's TimeLineID. */
  timeline: number;
  /** Latest checkpoint's PrevTimeLineID. */
  prevTimeline: number | null;
  checkpointLsn: number;
  redoLsn: number;
  /** Minimum recovery ending location (0 when not in recovery). */
  minRecoveryEndLsn: number;
  /** Min recovery ending loc's timeline (0 when not in recovery). */
  minRecoveryEndTimeline: number;
  walLevel: string | null;
  walLogHints: boolean | null;
  /** Data page checksum version (0 = checksums off). */
  dataChecksumVersion: number | null;
  /** Every "key: value" line as printed (LANG=C). */
  raw: Record<string, string>;
}

export interface ReplicationRow {
  usename: string | null;
  application_name: string | null;
  client_addr: string | null;
  state: string | null;
  sync_state: string | null;
  sync_priority: number | null;
  write_lsn: number | null;
  flush_lsn: number | null;
  replay_lsn: number | null;
}

export interface SlotInfo {
  name: string;
  active: boolean;
  restartLsn: number | null;
}

/** A replication slot of pg_replication_slots (LSNs as byte positions). */
export interface ReplicationSlot {
  name: string;
  type: 'physical' | 'logical';
  database: string | null;
  plugin: string | null;
  active: boolean;
  restartLsn: number | null;
  confirmedFlushLsn: number | null;
  /** The oldest transaction whose catalog rows the slot needs (logical slots, and a physical slot with hot_standby_feedback). */
  catalogXmin: number | null;
}

export interface PendingRestart {
  name: string;
  /** The value the server runs with (current_setting). */
  old_value: string;
  /** The value the configuration files ask for. */
  new_value: string;
}

export interface Probe {
  /** PostgreSQL accepts connections (the probe query succeeded). */
  running: boolean;
  /** A postmaster process owns the data directory (it may still be starting or shutting down). */
  postmasterRunning: boolean;
  role: 'primary' | 'replica' | null;
  timeline: number | null;
  /** Primary: pg_current_wal_lsn. Replica: max(receive, replay). */
  lsn: number | null;
  receiveLsn: number | null;
  replayLsn: number | null;
  /** pg_last_xact_replay_timestamp, Patroni's format ('2026-11-26 11:09:31.521228+00:00'). */
  replayedTimestamp: string | null;
  replayPaused: boolean;
  /** pg_stat_wal_receiver.status = 'streaming'. */
  streaming: boolean;
  /** pg_stat_wal_receiver.status, null without a WAL receiver. */
  walReceiverStatus: string | null;
  upstream: HostPort | null;
  replication: ReplicationRow[];
  /** Physical replication slot names. */
  slots: string[];
  slotDetails: SlotInfo[];
  /** Every replication slot but temporary ones, physical and logical. */
  replicationSlots: ReplicationSlot[];
  /** Patroni's format: '2026-11-26 11:09:31.521228+00:00'. */
  postmasterStartTime: string | null;
  serverVersion: number | null;
  sysid: string | null;
  pendingRestart: PendingRestart[];
  /** current_setting('synchronous_standby_names') (null when not running). */
  synchronousStandbyNames: string | null;
  /** current_setting('synchronous_commit'). */
  synchronousCommit?: string | null;
  /** pg_stat_archiver with archive_mode (null when not running): the archive's health on this member. */
  archiver: ArchiverStatus | null;
  /** Why the probe could not connect or query (never contains secrets). */
  error?: string;
}

/** pg_stat_archiver since the last stats reset; times ISO 8601 UTC. */
export interface ArchiverStatus {
  /** off, on or always. */
  archiveMode: string;
  archivedCount: number;
  lastArchivedWal: string | null;
  lastArchivedAt: string | null;
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedAt: string | null;
}

export interface TimelineHistoryEntry {
  /** The timeline that ended at the switch point. */
  parentTli: number;
  /** Where it ended (byte position). */
  switchpoint: number;
  reason: string;
}

/** Where a stopped former primary's WAL ends (Postgres.localWalEnd). */
export interface LocalWalEnd {
  sysid: string;
  state: ControlState;
  /** The last checkpoint's timeline: the timeline the WAL ends on. */
  timeline: number;
  /** Start of the last valid record. */
  lastRecord: number;
  /** Where the last valid record ends: the position the next one would be written at. */
  end: number;
  /** pg_waldump's reason for stopping there (the first invalid record). */
  stoppedBecause: string;
  /** The history of `timeline` (empty for timeline 1). */
  history: TimelineHistoryEntry[];
}

/** What a running server says over a replication connection (Postgres.leaderTimeline). */
export interface LeaderTimeline {
  sysid: string;
  timeline: number;
  /** Its current WAL position (IDENTIFY_SYSTEM's xlogpos). */
  lsn: number;
  /** The history of `timeline` (empty for timeline 1). */
  history: TimelineHistoryEntry[];
}

export interface StandbyConfig {
  /** Where to stream from; null: a standby that waits (no primary_conninfo). */
  primaryConninfo: HostPort | null;
  slotName: string | null;
}

export interface WriteConfigOptions {
  /** null: run as a primary (no standby.signal). */
  standby: StandbyConfig | null;
  /** Replace the stored GUC map before writing. */
  parameters?: Gucs;
  /** Replace the stored pg_hba lines before writing. */
  pgHba?: string[];
  /** Recovery settings (postgresql.recovery_conf, a custom bootstrap's recovery_conf). */
  recovery?: Gucs;
  /** Write recovery.signal (archive recovery, e.g. to a point in time) when not a standby. */
  recoverySignal?: boolean;
  /** Leave standby.signal and recovery.signal as they are (a restore tool wrote them). */
  keepSignals?: boolean;
}

export type InitdbOption = string | Record<string, string>;

export type StopMode = 'fast' | 'immediate' | 'smart';
