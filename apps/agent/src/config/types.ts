import type { TDynamicConfig, TTags } from '@keel/protocol';
import type { HostPort } from './address.ts';

export type { HostPort } from './address.ts';

/**
 * The agent's configuration after loading, validating and normalizing a Patroni YAML file.
 * Keys mirror Patroni's YAML (snake_case). Addresses (listen, connect_address) are parsed into {host, port};
 * `api_url`, `conn_url` and `initdb_args` are helpers Keel adds.
 */
export interface AgentConfig {
  scope: string;
  /** Normalized to "/<name>/" (Patroni's default "/service/"); "/" when the YAML says "/" or "". */
  namespace: string;
  name: string;
  restapi: RestApiConfig;
  /** Exactly one of etcd3 and zookeeper is set (the validator guarantees it). */
  etcd3?: Etcd3Config;
  zookeeper?: ZooKeeperConfig;
  bootstrap: BootstrapConfig;
  postgresql: PostgresqlConfig;
  /** Member tags as written (custom tags included); published in the member key. */
  tags: TTags;
  log: LogConfig;
  watchdog: WatchdogConfig;
  /** Keel's own section; absent when the agent runs without a control plane. */
  controlplane?: ControlPlaneConfig;
  /** Keel's own section: the backup tool the leader asks for the last backup (config/backup.ts); absent: none. */
  backup?: BackupCheckConfig;
  /** Patroni's `ctl:` section: how this agent (and keelctl) call other members' REST APIs. */
  ctl: CtlConfig;
}

export interface RestApiConfig {
  /** restapi.listen parsed: where the REST API binds (host may be a wildcard). */
  listen: HostPort;
  /** restapi.connect_address parsed: what other members use; defaults to `listen` unless listen is a wildcard. */
  connect_address: HostPort;
  /** http(s)://<connect_address>/patroni: the member key's api_url (https when certfile is set, as in Patroni). */
  api_url: string;
  /** Basic auth for the unsafe (POST/PUT/PATCH/DELETE) endpoints, as in Patroni. */
  authentication?: { username: string; password: string };
  /** TLS: the REST API serves https when certfile is set (keyfile defaults to certfile, a PEM with both). */
  certfile?: string;
  keyfile?: string;
  keyfile_password?: string;
  /** CA bundle the client certificates are verified against (required when verify_client is not none). */
  cafile?: string;
  /** OpenSSL cipher list. */
  ciphers?: string;
  /** none: no client certificate asked; optional: required for unsafe calls only; required: for every call. */
  verify_client: 'none' | 'optional' | 'required';
  /** IP addresses, networks (CIDR) or host names allowed to make unsafe calls; empty = anyone (auth still applies). */
  allowlist: string[];
  /** Also allow the addresses of the members' api_url hosts. */
  allowlist_include_members: boolean;
  /** Headers added to every answer (https_extra_headers: only over TLS). */
  http_extra_headers: Record<string, string>;
  https_extra_headers: Record<string, string>;
}

/** Patroni's ctl section (patronictl, and Patroni's own requests to other members). */
export interface CtlConfig {
  authentication?: { username: string; password: string };
  /** Do not verify the server certificate of other members (only with no client certificate, as in Patroni). */
  insecure: boolean;
  /** CA to verify other members' certificates; default restapi.cafile, then the system's CAs. */
  cacert?: string;
  /** Client certificate presented to other members; default restapi.certfile (as in Patroni). */
  certfile?: string;
  keyfile?: string;
  keyfile_password?: string;
}

/** Patroni's `zookeeper:` section (plain TCP; TLS and ACLs are refused at start-up). */
export interface ZooKeeperConfig {
  /** "host:port" entries (port 2181 when missing), from a list or a comma separated string. */
  hosts: string[];
}

export interface Etcd3Config {
  /** Endpoints as "host:port" (IPv6 in brackets), from hosts, host or url. */
  hosts: string[];
  /** From `protocol` or the url scheme. */
  protocol: 'http' | 'https';
  username?: string;
  password?: string;
  /** TLS (protocol https only): CA to verify etcd with (default: the system's CAs), client certificate and key. */
  cacert?: string;
  cert?: string;
  key?: string;
}

export interface BootstrapConfig {
  /**
   * The dynamic configuration to seed into the DCS `/config` key when this node bootstraps the cluster: the
   * YAML's bootstrap.dcs as written (integers normalized), WITHOUT defaults filled in, exactly as Patroni
   * writes it. Patroni keys Keel does not implement yet are kept here (with a warning) so /config stays
   * complete. Use withDynamicDefaults() for the effective ttl/loop_wait/retry_timeout/...
   */
  dcs: TDynamicConfig;
  /** bootstrap.initdb as written, in list form: "flag" or { option: value }. */
  initdb: Array<string | Record<string, string>>;
  /** The same as initdb command-line arguments: ["--encoding=UTF8", "--data-checksums"]. */
  initdb_args: string[];
  /** Extra pg_hba lines appended after initdb (Patroni's legacy bootstrap.pg_hba). */
  pg_hba: string[];
  /** bootstrap.method when it is not initdb: a custom bootstrap command (local YAML only). */
  method?: BootstrapMethod;
}

/** A scalar GUC value as written in the YAML. */
export type GucScalar = string | number | boolean;

/**
 * A command Keel runs for a replica creation or custom bootstrap method, read only from the local YAML.
 * It is run without a shell: `argv` is `command` split as Python's shlex.split does (Patroni).
 */
export interface CommandMethod {
  name: string;
  argv: string[];
  /** The method's other keys, passed as --name=value in YAML order (values as Python prints them). */
  options: Array<[string, string]>;
  /** no_params: Keel's own --scope/--datadir/... are not passed. */
  noParams: boolean;
}

export interface ReplicaCommandMethod extends CommandMethod {
  kind: 'command';
  /** keep_data: the data directory is not emptied before the command runs. */
  keepData: boolean;
  /** no_leader (no_master): the method also works with no member to clone from. */
  noLeader: boolean;
}

/** postgresql.create_replica_methods, in order; `basebackup` is Keel's pg_basebackup. */
export type ReplicaMethod = { kind: 'basebackup'; name: 'basebackup' } | ReplicaCommandMethod;

export interface BootstrapMethod extends CommandMethod {
  /** keep_existing_recovery_conf: recovery.signal/standby.signal and the settings the command wrote are kept. */
  keepExistingRecoveryConf: boolean;
  /** recovery_conf: recovery settings (restore_command, recovery_target_*) for the first start. */
  recoveryConf: Record<string, GucScalar> | null;
}

/** A PostgreSQL role Keel connects as, plus libpq parameters (sslmode, sslcert, ...) passed through. */
export interface PgUser {
  username: string;
  password?: string;
  [libpqParameter: string]: string | undefined;
}

export interface PgListen {
  /** The listen hosts joined by commas, ready for listen_addresses: "0.0.0.0,::", "*", "10.0.0.5". */
  host: string;
  /** The same, one per entry (brackets removed from IPv6 addresses). */
  hosts: string[];
  port: number;
  /** The host for local TCP connections, chosen like Patroni: "localhost" for *, 0.0.0.0, 127.0.0.1. */
  local_host: string;
}

export interface PostgresqlConfig {
  /** postgresql.listen parsed ("host[,host...]:port"). */
  listen: PgListen;
  /** postgresql.connect_address parsed: what other members and clients use. Derived from listen's first
   * non-wildcard host when not set; required when listen has only wildcard hosts. */
  connect_address: HostPort;
  /** postgres://<connect_address>/postgres: the member key's conn_url. */
  conn_url: string;
  /** Absolute path. */
  data_dir: string;
  /** Absent: found at runtime (`pg_config --bindir`, then PATH). */
  bin_dir?: string;
  /**
   * The pgpass file Keel writes before pg_basebackup/pg_rewind. Default: "<dirname(data_dir)>/.pgpass_keel_<name>".
   * See defaultPgpass() in validate.ts for why not Patroni's ~/pgpass.
   */
  pgpass: string;
  authentication: { superuser: PgUser; replication: PgUser; rewind?: PgUser };
  /** Local GUCs (scalars). Parameters Patroni only takes from the dynamic configuration are removed (warned). */
  parameters: Record<string, string | number | boolean>;
  /** Lines for pg_hba.conf; absent means Keel leaves pg_hba.conf alone (as Patroni does). */
  pg_hba?: string[];
  callbacks: CallbacksConfig;
  pre_promote?: string;
  use_unix_socket: boolean;
  /** Local override of the dynamic postgresql.use_pg_rewind (Patroni: local wins). Absent: use the DCS value. */
  use_pg_rewind?: boolean;
  remove_data_directory_on_rewind_failure: boolean;
  remove_data_directory_on_diverged_timelines: boolean;
  /** create_replica_methods with their sections; [basebackup] when not set. */
  create_replica_methods: ReplicaMethod[];
  /**
   * recovery_conf: recovery settings for a replica (restore_command, archive_cleanup_command,
   * recovery_min_apply_delay ...), written with standby.signal. recovery_target* and
   * primary_conninfo/primary_slot_name are Keel's (dropped with a warning, as Patroni drops them).
   */
  recovery_conf: Record<string, GucScalar>;
  /**
   * Keel's own key: parameters that run commands, load code or name files (archive_command,
   * shared_preload_libraries, log_directory...) which this member accepts from the DCS /config.
   * Lower-cased. Empty (the default): such parameters come only from postgresql.parameters.
   */
  allow_from_dcs: string[];
}

export interface CallbacksConfig {
  on_start?: string;
  on_stop?: string;
  on_restart?: string;
  on_reload?: string;
  on_role_change?: string;
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

export interface LogConfig {
  /** Upper-cased; WARN → WARNING and FATAL → CRITICAL as in Patroni. Default INFO. */
  level: LogLevel;
  /** Keel default json; plain = human-readable (pretty). */
  type: 'plain' | 'json';
  /** Log to files in this directory (rotated) instead of stderr. */
  dir?: string;
  /** Bytes before rotation; default 25000000 as in Patroni. */
  file_size: number;
  /** Rotated files kept; default 4 as in Patroni. */
  file_num: number;
  /** Python logging format string (or Patroni's json-field list); accepted, Keel's formats are its own. */
  format?: string | unknown[];
  dateformat?: string;
}

export interface WatchdogConfig {
  /** `mode: off` (YAML 1.1 boolean false) and "off"/"disable(d)" → off; "auto" → automatic; "require" → required. */
  mode: 'off' | 'automatic' | 'required';
  /** Default /dev/watchdog. */
  device: string;
  /** Seconds between the watchdog firing and the leader key expiring; -1 means timeout = ttl/2. Default 5. */
  safety_margin: number;
}

export interface BackupCheckConfig {
  tool: 'pgbackrest' | 'barman';
  /** The pgBackRest stanza or the Barman server. */
  target: string;
  /** backup.<tool>.command split (shlex); Keel appends the tool's listing arguments. */
  argv: string[];
  /** Seconds between checks. */
  interval: number;
  /** Seconds a check may take before it is killed and reported as an error. */
  timeout: number;
}

export interface ControlPlaneConfig {
  url: string;
  token?: string;
}

export interface LoadedConfig {
  config: AgentConfig;
  /** One line per warning, each "<key path>: <message>"; never contains secret values. */
  warnings: string[];
}
