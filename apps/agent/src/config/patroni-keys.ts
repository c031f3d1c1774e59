/**
 * Every configuration key Patroni knows (Patroni 4.1.4), as a nested table.
 *
 * Built from Patroni's docs/yaml_configuration.rst, docs/dynamic_configuration.rst, patroni/validator.py
 * (the `schema` used by `patroni --validate-config`) and the keys its source reads (config.py, dcs/etcd.py,
 * postgresql/*.py, watchdog/base.py). Keel uses it to tell three kinds of key apart:
 *   - a key Keel implements (the typed validators in validate.ts / dynamic.ts decide),
 *   - a key Patroni knows but Keel does not implement yet: accepted with a warning,
 *   - a key nobody knows (a typo): an error with a did-you-mean suggestion.
 *
 * A node is either a section (a nested table), LEAF (any value; its inside is not checked) or MAP (a
 * free-form mapping whose keys are user-chosen: GUCs, labels, tags, ...).
 */

export const LEAF = 'leaf';
export const MAP = 'map';
export type KeyNode = KeyTree | typeof LEAF | typeof MAP;
export interface KeyTree {
  readonly [key: string]: KeyNode;
}

/** libpq connection parameters Patroni passes through from postgresql.authentication.<user> (config.py). */
export const AUTH_PARAMETERS = [
  'username',
  'password',
  'sslmode',
  'sslcert',
  'sslkey',
  'sslpassword',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'gssencmode',
  'channel_binding',
  'sslnegotiation',
] as const;

const ETCD: KeyTree = {
  host: LEAF,
  hosts: LEAF,
  port: LEAF,
  use_proxies: LEAF,
  url: LEAF,
  proxy: LEAF,
  srv: LEAF,
  srv_suffix: LEAF,
  protocol: LEAF,
  username: LEAF,
  password: LEAF,
  cacert: LEAF,
  cert: LEAF,
  key: LEAF,
  // old spellings still accepted by dcs/etcd.py
  discovery_srv: LEAF,
  srv_domain: LEAF,
};

const CALLBACKS: KeyTree = {
  on_reload: LEAF,
  on_restart: LEAF,
  on_role_change: LEAF,
  on_start: LEAF,
  on_stop: LEAF,
};

/** The local `postgresql:` section. */
export const POSTGRESQL_KEYS: KeyTree = {
  listen: LEAF,
  connect_address: LEAF,
  proxy_address: LEAF,
  data_dir: LEAF,
  config_dir: LEAF,
  config_base_name: LEAF,
  bin_dir: LEAF,
  bin_name: {
    pg_ctl: LEAF,
    initdb: LEAF,
    pg_controldata: LEAF,
    pg_basebackup: LEAF,
    postgres: LEAF,
    pg_isready: LEAF,
    pg_rewind: LEAF,
  },
  pgpass: LEAF,
  authentication: { superuser: MAP, replication: MAP, rewind: MAP },
  callbacks: CALLBACKS,
  create_replica_methods: LEAF,
  use_unix_socket: LEAF,
  use_unix_socket_repl: LEAF,
  recovery_conf: MAP,
  custom_conf: LEAF,
  parameters: MAP,
  parameters_primary: MAP,
  parameters_replica: MAP,
  parameters_standby_leader: MAP,
  pg_hba: LEAF,
  pg_hba_primary: LEAF,
  pg_hba_replica: LEAF,
  pg_hba_standby_leader: LEAF,
  pg_ident: LEAF,
  pg_ident_primary: LEAF,
  pg_ident_replica: LEAF,
  pg_ident_standby_leader: LEAF,
  pg_ctl_timeout: LEAF,
  use_pg_rewind: LEAF,
  use_slots: LEAF,
  rewind: LEAF,
  basebackup: LEAF,
  remove_data_directory_on_rewind_failure: LEAF,
  remove_data_directory_on_diverged_timelines: LEAF,
  pre_promote: LEAF,
  before_stop: LEAF,
  krbsrvname: LEAF,
  database: LEAF,
  // pre-1.0 layouts that config.py still converts
  name: LEAF,
  superuser: MAP,
  replication: MAP,
  pg_rewind: MAP,
};

/** postgresql keys Patroni drops from the dynamic configuration: they are local by nature (config.py). */
export const LOCAL_ONLY_POSTGRESQL_KEYS = [
  'connect_address',
  'proxy_address',
  'listen',
  'config_dir',
  'data_dir',
  'pgpass',
  'authentication',
] as const;

const DYNAMIC_POSTGRESQL_KEYS: KeyTree = Object.fromEntries(
  Object.entries(POSTGRESQL_KEYS).filter(([k]) => !(LOCAL_ONLY_POSTGRESQL_KEYS as readonly string[]).includes(k)),
);

/** The dynamic configuration: `bootstrap.dcs`, the DCS `/config` key, PATCH /config. */
export const DYNAMIC_KEYS: KeyTree = {
  ttl: LEAF,
  loop_wait: LEAF,
  retry_timeout: LEAF,
  primary_race_backoff: LEAF,
  maximum_lag_on_failover: LEAF,
  maximum_lag_on_syncnode: LEAF,
  max_timelines_history: LEAF,
  primary_start_timeout: LEAF,
  master_start_timeout: LEAF,
  primary_stop_timeout: LEAF,
  master_stop_timeout: LEAF,
  synchronous_mode: LEAF,
  synchronous_mode_strict: LEAF,
  synchronous_node_count: LEAF,
  failsafe_mode: LEAF,
  check_timeline: LEAF,
  member_slots_ttl: LEAF,
  pause: LEAF,
  standby_cluster: {
    host: LEAF,
    port: LEAF,
    primary_slot_name: LEAF,
    create_replica_methods: LEAF,
    restore_command: LEAF,
    archive_cleanup_command: LEAF,
    recovery_min_apply_delay: LEAF,
  },
  slots: MAP,
  permanent_slots: MAP,
  permanent_replication_slots: MAP,
  ignore_slots: LEAF,
  postgresql: DYNAMIC_POSTGRESQL_KEYS,
};

/** The whole local YAML file. */
export const PATRONI_KEYS: KeyTree = {
  name: LEAF,
  namespace: LEAF,
  scope: LEAF,
  thread_pool_size: LEAF,
  thread_stack_size: LEAF,
  log: {
    type: LEAF,
    level: LEAF,
    traceback_level: LEAF,
    format: LEAF,
    dateformat: LEAF,
    static_fields: MAP,
    max_queue_size: LEAF,
    dir: LEAF,
    mode: LEAF,
    file_num: LEAF,
    file_size: LEAF,
    loggers: MAP,
    deduplicate_heartbeat_logs: LEAF,
  },
  bootstrap: {
    dcs: DYNAMIC_KEYS,
    method: LEAF,
    initdb: LEAF,
    post_bootstrap: LEAF,
    post_init: LEAF,
    users: MAP,
    pg_hba: LEAF,
  },
  citus: { group: LEAF, database: LEAF },
  consul: {
    host: LEAF,
    url: LEAF,
    port: LEAF,
    scheme: LEAF,
    token: LEAF,
    verify: LEAF,
    cacert: LEAF,
    cert: LEAF,
    key: LEAF,
    dc: LEAF,
    consistency: LEAF,
    checks: LEAF,
    register_service: LEAF,
    service_tags: LEAF,
    service_check_interval: LEAF,
    service_check_tls_server_name: LEAF,
  },
  etcd: ETCD,
  etcd3: ETCD,
  zookeeper: {
    hosts: LEAF,
    use_ssl: LEAF,
    cacert: LEAF,
    cert: LEAF,
    key: LEAF,
    key_password: LEAF,
    verify: LEAF,
    set_acls: MAP,
    auth_data: MAP,
    exhibitor: MAP,
  },
  exhibitor: { hosts: LEAF, poll_interval: LEAF, port: LEAF },
  kubernetes: {
    bypass_api_service: LEAF,
    namespace: LEAF,
    context: LEAF,
    labels: MAP,
    scope_label: LEAF,
    bootstrap_labels: MAP,
    role_label: LEAF,
    leader_label_value: LEAF,
    follower_label_value: LEAF,
    standby_leader_label_value: LEAF,
    tmp_role_label: LEAF,
    use_endpoints: LEAF,
    pod_ip: LEAF,
    ports: LEAF,
    cacert: LEAF,
    retriable_http_codes: LEAF,
  },
  raft: {
    self_addr: LEAF,
    bind_addr: LEAF,
    partner_addrs: LEAF,
    data_dir: LEAF,
    password: LEAF,
    min_timeout: LEAF,
    max_timeout: LEAF,
    connection_timeout: LEAF,
    append_entries_period: LEAF,
    connection_retry_time: LEAF,
    leader_fallback_timeout: LEAF,
  },
  postgresql: POSTGRESQL_KEYS,
  restapi: {
    thread_pool_size: LEAF,
    listen: LEAF,
    connect_address: LEAF,
    authentication: { username: LEAF, password: LEAF },
    certfile: LEAF,
    keyfile: LEAF,
    keyfile_password: LEAF,
    cafile: LEAF,
    ciphers: LEAF,
    verify_client: LEAF,
    allowlist: LEAF,
    allowlist_include_members: LEAF,
    http_extra_headers: MAP,
    https_extra_headers: MAP,
    request_queue_size: LEAF,
    server_tokens: LEAF,
  },
  ctl: {
    authentication: { username: LEAF, password: LEAF },
    insecure: LEAF,
    cacert: LEAF,
    certfile: LEAF,
    keyfile: LEAF,
    keyfile_password: LEAF,
  },
  watchdog: { mode: LEAF, device: LEAF, safety_margin: LEAF, driver: LEAF },
  tags: MAP,
};

/**
 * PostgreSQL parameters Patroni only takes from the dynamic configuration (ConfigHandler.CMDLINE_OPTIONS in
 * postgresql/config.py); in the local postgresql.parameters Patroni silently drops them. The first three are
 * never taken from any parameters section: they come from postgresql.listen and scope.
 */
export const DYNAMIC_ONLY_PG_PARAMETERS = [
  'listen_addresses',
  'port',
  'cluster_name',
  'wal_level',
  'hot_standby',
  'max_connections',
  'max_wal_senders',
  'wal_keep_segments',
  'wal_keep_size',
  'max_prepared_transactions',
  'max_locks_per_transaction',
  'track_commit_timestamp',
  'max_replication_slots',
  'max_worker_processes',
  'wal_log_hints',
] as const;

/** Parameters derived from the local configuration, never from a parameters section. */
export const DERIVED_PG_PARAMETERS = ['listen_addresses', 'port', 'cluster_name'] as const;

/** Looks a dotted path up in a tree. Returns undefined for unknown keys and for anything below a LEAF/MAP. */
export function lookupKey(tree: KeyTree, path: readonly string[]): KeyNode | undefined {
  let node: KeyNode = tree;
  for (const seg of path) {
    if (typeof node !== 'object') return undefined;
    const next: KeyNode | undefined = Object.hasOwn(node, seg) ? node[seg] : undefined;
    if (next === undefined) return undefined;
    node = next;
  }
  return node;
}

/** Every dotted path at which a key named `key` exists in the tree (for "it belongs elsewhere" hints). */
export function findKeyPaths(tree: KeyTree, key: string, prefix = '', out: string[] = []): string[] {
  for (const [k, node] of Object.entries(tree)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (k === key) out.push(p);
    if (typeof node === 'object') findKeyPaths(node, key, p, out);
  }
  return out;
}
