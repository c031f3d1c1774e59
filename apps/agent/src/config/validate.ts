/**
 * From the parsed YAML (environment overrides applied) to a typed, normalized AgentConfig. Every problem is
 * collected in `Problems`; the caller throws when there is any error. When there are errors, the returned
 * object may hold placeholders and must not be used.
 */

import { REMOTE_UPSTREAM } from '@keel/ha-core';
import path from 'node:path';
import { parsePatroniBool, type TTags } from '@keel/protocol';
import { formatHostPort, localHostFor, parseHostsPort, WILDCARD_HOSTS, type HostPort } from './address.ts';
import { checkDynamicConfig, readParameters, type DynamicContext } from './dynamic.ts';
import { listedReplicaMethods, readBootstrapMethod, readRecoveryConf, readReplicaMethods } from './methods.ts';
import { readBackup } from './backup.ts';
import { privilegedKind } from './parameters.ts';
import {
  AUTH_PARAMETERS,
  DERIVED_PG_PARAMETERS,
  DYNAMIC_KEYS,
  DYNAMIC_ONLY_PG_PARAMETERS,
  PATRONI_KEYS,
  lookupKey,
} from './patroni-keys.ts';
import { got, join, show, type Problems } from './problems.ts';
import { readCtl, readEtcdTls, readRestApiSecurity, RESTAPI_TLS_KEYS } from './tls.ts';
import { bool, checkKeys, int, isObj, section, str, strList, type Obj } from './read.ts';
import type {
  AgentConfig,
  BootstrapConfig,
  CallbacksConfig,
  ControlPlaneConfig,
  Etcd3Config,
  ZooKeeperConfig,
  LogConfig,
  LogLevel,
  PgUser,
  PostgresqlConfig,
  RestApiConfig,
  WatchdogConfig,
} from './types.ts';

export const DEFAULT_NAMESPACE = '/service/';
export const DEFAULT_ETCD_PORT = 2379;
export const DEFAULT_ZOOKEEPER_PORT = 2181;
/** Patroni's reserved member name (synchronous_mode_strict placeholder). */
const RESERVED_NAME = '__patroni_strict_sync_replica_placeholder__';

/**
 * Default pgpass when postgresql.pgpass is not set: "<dirname(data_dir)>/.pgpass_keel_<name>".
 * - Not Patroni's default (~/pgpass): that is shared by every agent running as the same OS user, and it
 *   rewrites a file in the user's home behind their back.
 * - Not inside data_dir: pg_basebackup needs an empty target, and rewind/reinit wipe the directory.
 * - Not /tmp: a world-writable directory invites symlink games with a file that holds passwords.
 * The parent of data_dir is normally owned by the postgres user (/var/lib/postgresql/15/ on Debian), and
 * the member name in the file name keeps two agents sharing a parent directory apart.
 */
export function defaultPgpass(dataDir: string, name: string): string {
  return path.join(path.dirname(dataDir), `.pgpass_keel_${name.replace(/[^A-Za-z0-9._-]/g, '_')}`);
}

export function normalizeNamespace(ns: string): string {
  const trimmed = ns.trim().replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}

const TOP_KEYS = [
  'scope',
  'namespace',
  'name',
  'restapi',
  'etcd3',
  'zookeeper',
  'bootstrap',
  'postgresql',
  'tags',
  'log',
  'watchdog',
  'controlplane',
  'ctl',
  'backup',
] as const;

export function buildAgentConfig(p: Problems, root: unknown): AgentConfig {
  if (root === undefined || root === null) root = {};
  if (!isObj(root)) {
    p.error('', `expected a mapping of settings at the top of the file${got('', root)}`);
    root = {};
  }
  const r = root as Obj;
  checkKeys(p, r, '', TOP_KEYS, PATRONI_KEYS, {
    special: {
      etcd: (kp) => p.error(kp, 'Keel supports etcd3 only; rename etcd: to etcd3: (keys written through the v2 API are not visible through v3)'),
    },
    extraKnown: (key) =>
      Object.hasOwn(DYNAMIC_KEYS, key)
        ? 'a dynamic setting, ignored at the top level (as in Patroni); put it under bootstrap.dcs'
        : undefined,
  });

  const scope = identifier(p, r, 'scope');
  const name = identifier(p, r, 'name');
  if (name === RESERVED_NAME) p.error('name', 'this name is reserved by Patroni');
  if (name === REMOTE_UPSTREAM) p.error('name', 'this name is reserved by Keel (it stands for the other site of a standby cluster)');
  const ns = str(p, r, '', 'namespace', { allowEmpty: true });

  const allowFromDcs = readAllowFromDcs(p, r);
  const config: AgentConfig = {
    scope: scope ?? '',
    namespace: ns === undefined ? DEFAULT_NAMESPACE : normalizeNamespace(ns),
    name: name ?? '',
    restapi: readRestApi(p, r),
    ...readDcs(p, r),
      bootstrap: readBootstrap(p, r, { allowFromDcs }),
    postgresql: readPostgresql(p, r, name ?? '', allowFromDcs),
    tags: readTags(p, r),
    log: readLog(p, r),
    watchdog: readWatchdog(p, r),
    ctl: readCtl(p, r),
  };
  const cp = readControlPlane(p, r);
  if (cp) config.controlplane = cp;
  const backup = readBackup(p, r);
  if (backup) config.backup = backup;
  return config;
}

/** scope and name: required, non-empty, and usable inside a DCS key. */
function identifier(p: Problems, r: Obj, key: string): string | undefined {
  const v = r[key];
  // `name: 1` or `scope: 2024`: YAML reads a number; Patroni would use it as text, so does Keel
  const s = typeof v === 'number' ? String(v) : str(p, r, '', key, { required: true });
  if (s === undefined) return undefined;
  if (s.includes('/')) {
    p.error(key, `must not contain "/" (it becomes part of the DCS keys)${got(key, s)}`);
    return undefined;
  }
  if (s !== s.trim()) p.error(key, `must not start or end with spaces${got(key, s)}`);
  return s;
}

/** A host:port setting. Numbers are read as text, so `listen: 5432` reports the missing host, not a type. */
function hostPort(
  p: Problems,
  obj: Obj,
  sectionPath: string,
  key: string,
  opts: { multipleHosts?: boolean; allowWildcard?: boolean },
): { text: string; hosts: string[]; port: number } | undefined {
  const kp = join(sectionPath, key);
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  const text = typeof v === 'number' ? String(v) : v;
  if (typeof text !== 'string') {
    p.error(kp, `expected host:port${got(kp, v)}`);
    return undefined;
  }
  const parsed = parseHostsPort(text, opts);
  if (!parsed.ok) {
    p.error(kp, `${parsed.reason}${got(kp, text)}`);
    return undefined;
  }
  return { text: text.trim(), ...parsed.value };
}

function concreteHost(hosts: readonly string[]): string | undefined {
  return hosts.find((h) => !WILDCARD_HOSTS.includes(h));
}

const NO_ADDR: HostPort = { host: '', port: 0 };

function readRestApi(p: Problems, r: Obj): RestApiConfig {
  const s = section(p, r, '', 'restapi') ?? {};
  checkKeys(p, s, 'restapi', ['listen', 'connect_address', 'authentication', ...RESTAPI_TLS_KEYS], PATRONI_KEYS['restapi']);
  const listen = hostPort(p, s, 'restapi', 'listen', { allowWildcard: true });
  if (listen === undefined && (s['listen'] === undefined || s['listen'] === null)) p.error('restapi.listen', 'required');
  let connect = hostPort(p, s, 'restapi', 'connect_address', {});
  if (!connect && (s['connect_address'] === undefined || s['connect_address'] === null) && listen) {
    const host = concreteHost(listen.hosts);
    if (host) connect = { text: formatHostPort(host, listen.port), hosts: [host], port: listen.port };
    else p.error('restapi.connect_address', `required because restapi.listen (${show(listen.text)}) is a wildcard address`);
  }
  const security = readRestApiSecurity(p, s);
  const scheme = security.certfile !== undefined ? 'https' : 'http';
  const out: RestApiConfig = {
    listen: listen ? { host: listen.hosts[0]!, port: listen.port } : NO_ADDR,
    connect_address: connect ? { host: connect.hosts[0]!, port: connect.port } : NO_ADDR,
    api_url: connect ? `${scheme}://${formatHostPort(connect.hosts[0]!, connect.port)}/patroni` : '',
    ...security,
  };
  const auth = section(p, s, 'restapi', 'authentication');
  if (auth) {
    checkKeys(p, auth, 'restapi.authentication', ['username', 'password'], undefined);
    const username = str(p, auth, 'restapi.authentication', 'username', { required: true });
    const password = str(p, auth, 'restapi.authentication', 'password', { required: true, allowEmpty: true });
    if (username !== undefined && password !== undefined) out.authentication = { username, password };
  }
  return out;
}

const ETCD_KEEL_KEYS = ['hosts', 'host', 'url', 'port', 'protocol', 'username', 'password', 'cacert', 'cert', 'key'] as const;

/** The DCS sections Patroni reads; Keel runs on etcd3 or zookeeper and needs exactly one of them. */
const DCS_SECTIONS = ['etcd', 'etcd3', 'zookeeper'] as const;

/** Exactly one of etcd / etcd3 / zookeeper (etcd, the v2 API, is refused on its own key). */
function readDcs(p: Problems, r: Obj): { etcd3?: Etcd3Config; zookeeper?: ZooKeeperConfig } {
  const given = DCS_SECTIONS.filter((k) => r[k] !== undefined && r[k] !== null);
  if (given.length > 1) {
    p.error(given.join(', '), `exactly one DCS section is allowed, found ${given.length}: keep one of ${given.join(' or ')}`);
    return {};
  }
  if (given.length === 0) {
    if (Object.hasOwn(r, 'etcd')) return {}; // `etcd:` is reported on its own key
    const other = ['consul', 'exhibitor', 'kubernetes', 'raft'].filter((k) => Object.hasOwn(r, k));
    p.error(
      'etcd3',
      `required (or zookeeper): Keel keeps the cluster state in etcd (v3 API) or ZooKeeper${other.length ? `; ${other.join(', ')} is not supported` : ''}`,
    );
    return {};
  }
  if (given[0] === 'zookeeper') return { zookeeper: readZooKeeper(p, r) };
  if (given[0] === 'etcd3') return { etcd3: readEtcd3(p, r) };
  return {};
}

const ZOOKEEPER_KEEL_KEYS = ['hosts'] as const;
/** Patroni's zookeeper keys Keel cannot honour: security settings, so a start-up error rather than a warning. */
const ZOOKEEPER_REFUSED: Record<string, string> = {
  use_ssl: 'TLS to ZooKeeper is not implemented: Keel would talk to it in plain text; remove use_ssl or use etcd3 with https',
  cacert: 'TLS to ZooKeeper is not implemented',
  cert: 'TLS to ZooKeeper is not implemented',
  key: 'TLS to ZooKeeper is not implemented',
  key_password: 'TLS to ZooKeeper is not implemented',
  verify: 'TLS to ZooKeeper is not implemented',
  set_acls: 'znode ACLs are not implemented: Keel would create world-writable znodes',
  auth_data: 'ZooKeeper authentication is not implemented',
};

function readZooKeeper(p: Problems, r: Obj): ZooKeeperConfig {
  const out: ZooKeeperConfig = { hosts: [] };
  const s = section(p, r, '', 'zookeeper');
  if (!s) return out;
  const special = Object.fromEntries(Object.entries(ZOOKEEPER_REFUSED).map(([k, why]) => [k, (kp: string) => p.error(kp, why)]));
  checkKeys(p, s, 'zookeeper', ZOOKEEPER_KEEL_KEYS, PATRONI_KEYS['zookeeper'], { special });
  if (s['hosts'] === undefined || s['hosts'] === null) {
    p.error('zookeeper.hosts', 'required: the ZooKeeper servers as a list or a comma separated string of host:port');
    return out;
  }
  const list = strList(p, s, 'zookeeper', 'hosts', { allowCommaString: true }) ?? [];
  if (list.length === 0) p.error('zookeeper.hosts', 'must list at least one host:port');
  list.forEach((h, i) => {
    const kp = list.length > 1 ? `zookeeper.hosts[${i}]` : 'zookeeper.hosts';
    if (h.includes('://') || h.includes('/')) {
      p.error(kp, `expected host:port (no scheme, no chroot path; use namespace)${got(kp, h)}`);
      return;
    }
    const parsed = parseHostsPort(h, { defaultPort: DEFAULT_ZOOKEEPER_PORT });
    if (!parsed.ok) p.error(kp, `${parsed.reason}${got(kp, h)}`);
    else out.hosts.push(formatHostPort(parsed.value.hosts[0]!, parsed.value.port));
  });
  out.hosts = [...new Set(out.hosts)];
  return out;
}

function readEtcd3(p: Problems, r: Obj): Etcd3Config {
  const out: Etcd3Config = { hosts: [], protocol: 'http' };
  const s = section(p, r, '', 'etcd3');
  if (!s) return out;
  checkKeys(p, s, 'etcd3', ETCD_KEEL_KEYS, PATRONI_KEYS['etcd3']);
  const port = int(p, s, 'etcd3', 'port', { min: 1, max: 65535 }) ?? DEFAULT_ETCD_PORT;
  const protocolText = str(p, s, 'etcd3', 'protocol');
  let protocol: 'http' | 'https' | undefined;
  if (protocolText !== undefined) {
    const l = protocolText.toLowerCase();
    if (l === 'http' || l === 'https') protocol = l;
    else p.error('etcd3.protocol', `expected http or https${got('etcd3.protocol', protocolText)}`);
  }
  let username = str(p, s, 'etcd3', 'username');
  let password = str(p, s, 'etcd3', 'password', { allowEmpty: true });

  // Patroni's precedence (dcs/etcd.py get_etcd_client): url, then hosts, then host
  const present = (['url', 'hosts', 'host'] as const).filter((k) => s[k] !== undefined && s[k] !== null);
  for (const k of present.slice(1)) p.warn(`etcd3.${k}`, `ignored because etcd3.${present[0]} is set (as in Patroni)`);
  const chosen = present[0];
  if (chosen === 'url') {
    const urls = strList(p, s, 'etcd3', 'url', { allowCommaString: true }) ?? [];
    const schemes = new Set<string>();
    urls.forEach((u, i) => {
      const kp = urls.length > 1 ? `etcd3.url[${i}]` : 'etcd3.url';
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        p.error(kp, `expected a URL like http://host:2379${got(kp, u)}`);
        return;
      }
      const scheme = url.protocol.replace(/:$/, '');
      if (scheme !== 'http' && scheme !== 'https') {
        p.error(kp, `expected an http or https URL${got(kp, u)}`);
        return;
      }
      schemes.add(scheme);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      out.hosts.push(formatHostPort(host, url.port ? Number(url.port) : DEFAULT_ETCD_PORT));
      if (url.username && username === undefined) username = decodeURIComponent(url.username);
      if (url.password && password === undefined) password = decodeURIComponent(url.password);
    });
    if (schemes.size > 1) p.error('etcd3.url', 'mixes http and https URLs');
    const [scheme] = [...schemes];
    if (scheme === 'http' || scheme === 'https') protocol = scheme;
    if (urls.length === 0) p.error('etcd3.url', 'must name at least one URL');
  } else if (chosen === 'hosts' || chosen === 'host') {
    const list = chosen === 'hosts' ? (strList(p, s, 'etcd3', 'hosts', { allowCommaString: true }) ?? []) : [str(p, s, 'etcd3', 'host', { required: true })];
    if (chosen === 'hosts' && list.length === 0 && Array.isArray(s['hosts'])) p.error('etcd3.hosts', 'must list at least one host:port');
    if (chosen === 'hosts' && typeof s['hosts'] === 'string' && list.length === 0) p.error('etcd3.hosts', 'must list at least one host:port');
    list.forEach((h, i) => {
      if (h === undefined) return;
      const kp = chosen === 'hosts' ? `etcd3.hosts[${i}]` : 'etcd3.host';
      if (h.includes('://')) {
        p.error(kp, `expected host:port, not a URL (put URLs in etcd3.url)${got(kp, h)}`);
        return;
      }
      const parsed = parseHostsPort(h, { defaultPort: port });
      if (!parsed.ok) p.error(kp, `${parsed.reason}${got(kp, h)}`);
      else out.hosts.push(formatHostPort(parsed.value.hosts[0]!, parsed.value.port));
    });
  } else if (s['srv'] != null || s['proxy'] != null) {
    p.error('etcd3', 'Keel needs etcd3.hosts, etcd3.host or etcd3.url; srv and proxy discovery are not implemented');
  } else {
    p.error('etcd3.hosts', 'required (or etcd3.host, or etcd3.url)');
  }
  out.protocol = protocol ?? 'http';
  readEtcdTls(p, s, out);
  if (password !== undefined && username === undefined) p.error('etcd3.username', 'required when etcd3.password is set');
  if (username !== undefined) out.username = username;
  if (password !== undefined) out.password = password;
  return out;
}

/** initdb options Patroni refuses (postgresql/bootstrap.py): Keel sets them itself. */
const INITDB_NOT_ALLOWED = ['pgdata', 'nosync', 'pwfile', 'sync-only', 'version'];

function unquote(s: string): string {
  const m = /^(['"])(.*)\1$/s.exec(s.trim());
  return m ? m[2]! : s;
}

function readBootstrap(p: Problems, r: Obj, ctx: DynamicContext): BootstrapConfig {
  const s = section(p, r, '', 'bootstrap') ?? {};
  const method = typeof s['method'] === 'string' ? s['method'] : undefined;
  checkKeys(p, s, 'bootstrap', ['dcs', 'initdb', 'pg_hba', 'method', ...(method && method !== 'initdb' ? [method] : [])], PATRONI_KEYS['bootstrap'], {
    special: {
      users: (kp) => p.warn(kp, 'deprecated in Patroni (removed in 4.0) and not implemented by Keel; ignored'),
    },
  });
  const dcs = checkDynamicConfig(p, s['dcs'], 'bootstrap.dcs', ctx);
  const { list, args } = readInitdb(p, s['initdb']);
  const custom = readBootstrapMethod(p, s);
  return { dcs, initdb: list, initdb_args: args, pg_hba: strList(p, s, 'bootstrap', 'pg_hba') ?? [], ...(custom ? { method: custom } : {}) };
}

function readInitdb(p: Problems, v: unknown): { list: Array<string | Record<string, string>>; args: string[] } {
  const list: Array<string | Record<string, string>> = [];
  const args: string[] = [];
  if (v === undefined || v === null) return { list, args };
  const add = (kp: string, opt: string, value?: unknown): void => {
    if (INITDB_NOT_ALLOWED.includes(opt)) {
      p.error(kp, `option "${opt}" is not allowed (Keel sets it itself)`);
      return;
    }
    if (value === false || value === null || value === '') return; // Patroni skips empty values
    if (value === undefined || value === true) {
      list.push(opt);
      args.push(`--${opt}`);
      return;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      p.error(kp, `expected a string value for option "${opt}"${got(kp, value)}`);
      return;
    }
    const text = unquote(String(value));
    list.push({ [opt]: text });
    args.push(`--${opt}=${text}`);
  };
  if (isObj(v)) {
    for (const [k, val] of Object.entries(v)) add(`bootstrap.initdb.${k}`, k, val);
  } else if (Array.isArray(v)) {
    v.forEach((item: unknown, i) => {
      const kp = `bootstrap.initdb[${i}]`;
      if (typeof item === 'string') add(kp, item.trim());
      else if (isObj(item) && Object.keys(item).length === 1) {
        const [k, val] = Object.entries(item)[0]!;
        add(kp, k, val);
      } else p.error(kp, `expected an option name or a single "option: value" mapping${got(kp, item)}`);
    });
  } else {
    p.error('bootstrap.initdb', `expected a list of options${got('bootstrap.initdb', v)}`);
  }
  return { list, args };
}

const PG_KEEL_KEYS = [
  'listen',
  'connect_address',
  'data_dir',
  'bin_dir',
  'pgpass',
  'authentication',
  'parameters',
  'pg_hba',
  'callbacks',
  'pre_promote',
  'use_unix_socket',
  'use_pg_rewind',
  'remove_data_directory_on_rewind_failure',
  'remove_data_directory_on_diverged_timelines',
  'allow_from_dcs',
  'create_replica_methods',
  'recovery_conf',
] as const;

/**
 * postgresql.allow_from_dcs (Keel's own key): the parameters that run commands, load code or name
 * files that this member accepts from the DCS (/config, PATCH /config). Each must be such a parameter.
 */
function readAllowFromDcs(p: Problems, r: Obj): string[] {
  const pg = isObj(r['postgresql']) ? r['postgresql'] : {};
  const list = strList(p, pg, 'postgresql', 'allow_from_dcs') ?? [];
  const out: string[] = [];
  list.forEach((name, i) => {
    const kp = `postgresql.allow_from_dcs[${i}]`;
    if (privilegedKind(name) === null && name.toLowerCase() !== 'log_filename') {
      p.error(kp, `not a parameter that runs a command, loads code or names a file; the DCS may set it anyway${got(kp, name)}`);
    } else out.push(name.toLowerCase());
  });
  return out;
}

const CALLBACK_KEYS = ['on_start', 'on_stop', 'on_restart', 'on_reload', 'on_role_change'] as const;

function absolutePath(p: Problems, obj: Obj, sectionPath: string, key: string, required: boolean): string | undefined {
  const v = str(p, obj, sectionPath, key, { required });
  if (v === undefined) return undefined;
  const kp = join(sectionPath, key);
  if (!path.isAbsolute(v)) {
    p.error(kp, `must be an absolute path${got(kp, v)}`);
    return undefined;
  }
  const n = path.normalize(v);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

function readPostgresql(p: Problems, r: Obj, name: string, allowFromDcs: string[]): PostgresqlConfig {
  const s = section(p, r, '', 'postgresql') ?? {};
  checkKeys(p, s, 'postgresql', [...PG_KEEL_KEYS, ...listedReplicaMethods(s)], PATRONI_KEYS['postgresql'], {
    special: {
      use_slots: (kp) =>
        p.warn(kp, 'only the dynamic configuration (bootstrap.dcs.postgresql.use_slots) sets this; ignored here (as in Patroni)'),
    },
  });

  const listen = hostPort(p, s, 'postgresql', 'listen', { multipleHosts: true, allowWildcard: true });
  if (listen === undefined && (s['listen'] === undefined || s['listen'] === null)) p.error('postgresql.listen', 'required');
  let connect = hostPort(p, s, 'postgresql', 'connect_address', {});
  if (!connect && (s['connect_address'] === undefined || s['connect_address'] === null) && listen) {
    const host = concreteHost(listen.hosts);
    if (host) connect = { text: formatHostPort(host, listen.port), hosts: [host], port: listen.port };
    else p.error('postgresql.connect_address', `required because postgresql.listen (${show(listen.text)}) is a wildcard address`);
  }
  const dataDir = absolutePath(p, s, 'postgresql', 'data_dir', true);
  const binDir = str(p, s, 'postgresql', 'bin_dir');
  const pgpass = absolutePath(p, s, 'postgresql', 'pgpass', false);

  const out: PostgresqlConfig = {
    listen: listen
      ? { host: listen.hosts.join(','), hosts: listen.hosts, port: listen.port, local_host: localHostFor(listen.hosts) }
      : { host: '', hosts: [], port: 0, local_host: '' },
    connect_address: connect ? { host: connect.hosts[0]!, port: connect.port } : NO_ADDR,
    conn_url: connect ? `postgres://${formatHostPort(connect.hosts[0]!, connect.port)}/postgres` : '',
    data_dir: dataDir ?? '',
    pgpass: pgpass ?? (dataDir && name ? defaultPgpass(dataDir, name) : ''),
    authentication: readAuthentication(p, s),
    parameters: readLocalParameters(p, s),
    callbacks: readCallbacks(p, s),
    use_unix_socket: bool(p, s, 'postgresql', 'use_unix_socket') ?? false,
    remove_data_directory_on_rewind_failure: bool(p, s, 'postgresql', 'remove_data_directory_on_rewind_failure') ?? false,
    remove_data_directory_on_diverged_timelines: bool(p, s, 'postgresql', 'remove_data_directory_on_diverged_timelines') ?? false,
    allow_from_dcs: allowFromDcs,
    create_replica_methods: readReplicaMethods(p, s),
    recovery_conf: readRecoveryConf(p, s),
  };
  if (binDir !== undefined) out.bin_dir = binDir;
  const hba = strList(p, s, 'postgresql', 'pg_hba');
  if (hba) out.pg_hba = hba;
  const prePromote = str(p, s, 'postgresql', 'pre_promote');
  if (prePromote !== undefined) out.pre_promote = prePromote;
  const rewind = bool(p, s, 'postgresql', 'use_pg_rewind');
  if (rewind !== undefined) out.use_pg_rewind = rewind;
  return out;
}

function readAuthentication(p: Problems, s: Obj): PostgresqlConfig['authentication'] {
  const base = 'postgresql.authentication';
  const a = section(p, s, 'postgresql', 'authentication') ?? {};
  checkKeys(p, a, base, ['superuser', 'replication', 'rewind'], lookupKey(PATRONI_KEYS, ['postgresql', 'authentication']));
  const superuser = readUser(p, a, 'superuser', true);
  const replication = readUser(p, a, 'replication', true);
  const rewind = readUser(p, a, 'rewind', false);
  return { superuser: superuser ?? { username: '' }, replication: replication ?? { username: '' }, ...(rewind ? { rewind } : {}) };
}

function readUser(p: Problems, a: Obj, role: string, isRequired: boolean): PgUser | undefined {
  const base = `postgresql.authentication.${role}`;
  const u = section(p, a, 'postgresql.authentication', role);
  if (!u) {
    if (isRequired && (a[role] === undefined || a[role] === null)) p.error(`${base}.username`, 'required');
    return undefined;
  }
  const username = str(p, u, base, 'username', { required: true });
  const user: PgUser = { username: username ?? '' };
  for (const [k, v] of Object.entries(u)) {
    if (k === 'username' || v === undefined || v === null) continue;
    const kp = join(base, k);
    if (!(AUTH_PARAMETERS as readonly string[]).includes(k)) {
      p.warn(kp, 'not a connection parameter Patroni passes to libpq; ignored');
      continue;
    }
    const value = str(p, u, base, k, { allowEmpty: true });
    if (value !== undefined) user[k] = value;
  }
  return username === undefined ? undefined : user;
}

function readLocalParameters(p: Problems, s: Obj): Record<string, string | number | boolean> {
  const params = readParameters(p, s, 'postgresql', 'parameters') ?? {};
  for (const name of Object.keys(params)) {
    const l = name.toLowerCase();
    const kp = `postgresql.parameters.${name}`;
    if ((DERIVED_PG_PARAMETERS as readonly string[]).includes(l)) {
      p.warn(kp, 'ignored: Keel derives it from postgresql.listen and scope (as Patroni does)');
      delete params[name];
    } else if ((DYNAMIC_ONLY_PG_PARAMETERS as readonly string[]).includes(l)) {
      p.warn(kp, 'only taken from the dynamic configuration (bootstrap.dcs.postgresql.parameters); ignored here (as in Patroni)');
      delete params[name];
    }
  }
  return params;
}

function readCallbacks(p: Problems, s: Obj): CallbacksConfig {
  const c = section(p, s, 'postgresql', 'callbacks');
  const out: CallbacksConfig = {};
  if (!c) return out;
  checkKeys(p, c, 'postgresql.callbacks', CALLBACK_KEYS, lookupKey(PATRONI_KEYS, ['postgresql', 'callbacks']));
  for (const key of CALLBACK_KEYS) {
    const v = str(p, c, 'postgresql.callbacks', key);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

const BOOL_TAGS = ['nofailover', 'noloadbalance', 'clonefrom', 'nosync', 'nostream'] as const;
const INT_TAGS = ['failover_priority', 'sync_priority'] as const;

function readTags(p: Problems, r: Obj): TTags {
  const s = section(p, r, '', 'tags');
  const out: TTags = {};
  if (!s) return out;
  for (const [k, v] of Object.entries(s)) {
    const kp = `tags.${k}`;
    if ((BOOL_TAGS as readonly string[]).includes(k)) {
      // Patroni reads these with parse_bool: "true"/"false", "on"/"off", "yes"/"no", 1/0 all work
      if (v === undefined || v === null) continue;
      const b = parsePatroniBool(v);
      if (b !== undefined) out[k] = b;
      else p.error(kp, `expected true or false${got(kp, v)}`);
    } else if ((INT_TAGS as readonly string[]).includes(k)) {
      const n = int(p, s, 'tags', k);
      if (n !== undefined) out[k] = n;
    } else if (k === 'replicatefrom') {
      const t = str(p, s, 'tags', k);
      if (t !== undefined) out.replicatefrom = t;
    } else if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
      out[k] = v;
    } else {
      p.error(kp, `expected a string, number or boolean (custom tag)${got(kp, v)}`);
    }
  }
  if (out.nofailover === true && typeof out.failover_priority === 'number' && out.failover_priority > 0) {
    p.warn('tags', `nofailover: true conflicts with failover_priority: ${out.failover_priority}; nofailover wins`);
  }
  if (out.nosync === true && typeof out.sync_priority === 'number' && out.sync_priority > 0) {
    p.warn('tags', `nosync: true conflicts with sync_priority: ${out.sync_priority}; nosync wins`);
  }
  return out;
}

const LOG_LEVELS: Record<string, LogLevel> = {
  DEBUG: 'DEBUG',
  INFO: 'INFO',
  WARNING: 'WARNING',
  WARN: 'WARNING',
  ERROR: 'ERROR',
  CRITICAL: 'CRITICAL',
  FATAL: 'CRITICAL',
};

function readLog(p: Problems, r: Obj): LogConfig {
  const s = section(p, r, '', 'log') ?? {};
  checkKeys(p, s, 'log', ['level', 'type', 'dir', 'file_size', 'file_num', 'format', 'dateformat'], PATRONI_KEYS['log']);
  const out: LogConfig = { level: 'INFO', type: 'json', file_size: 25_000_000, file_num: 4 };
  const level = str(p, s, 'log', 'level');
  if (level !== undefined) {
    const l = LOG_LEVELS[level.trim().toUpperCase()];
    if (l) out.level = l;
    else p.error('log.level', `expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL${got('log.level', level)}`);
  }
  const type = str(p, s, 'log', 'type');
  if (type !== undefined) {
    const t = type.trim().toLowerCase();
    if (t === 'plain' || t === 'json') out.type = t;
    else p.error('log.type', `expected plain or json${got('log.type', type)}`);
  }
  const dir = str(p, s, 'log', 'dir');
  if (dir !== undefined) out.dir = dir;
  out.file_size = int(p, s, 'log', 'file_size', { min: 1 }) ?? out.file_size;
  out.file_num = int(p, s, 'log', 'file_num', { min: 1 }) ?? out.file_num;
  const format = s['format'];
  if (typeof format === 'string' || Array.isArray(format)) out.format = format;
  else if (format !== undefined && format !== null) p.error('log.format', `expected a string or a list${got('log.format', format)}`);
  const dateformat = str(p, s, 'log', 'dateformat');
  if (dateformat !== undefined) out.dateformat = dateformat;
  return out;
}

function readWatchdog(p: Problems, r: Obj): WatchdogConfig {
  const s = section(p, r, '', 'watchdog') ?? {};
  checkKeys(p, s, 'watchdog', ['mode', 'device', 'safety_margin'], PATRONI_KEYS['watchdog'], {
    // Patroni's drivers: 'default' (the Linux device, what Keel does) and 'testing'; anything else fails closed
    special: { driver: (kp, v) => (v === 'default' ? undefined : p.error(kp, `Keel drives the Linux watchdog device only: expected default${got(kp, v)}`)) },
  });
  const out: WatchdogConfig = { mode: 'automatic', device: '/dev/watchdog', safety_margin: 5 };
  const mode = s['mode'];
  if (mode === false) out.mode = 'off'; // `mode: off` is a YAML 1.1 boolean
  else if (typeof mode === 'string') {
    const m = mode.trim().toLowerCase();
    if (m === 'off' || m === 'disable' || m === 'disabled') out.mode = 'off';
    else if (m === 'auto' || m === 'automatic') out.mode = 'automatic';
    else if (m === 'require' || m === 'required') out.mode = 'required';
    else p.error('watchdog.mode', `expected off, automatic or required${got('watchdog.mode', mode)}`);
  } else if (mode !== undefined && mode !== null) {
    p.error('watchdog.mode', `expected off, automatic or required${got('watchdog.mode', mode)}`);
  }
  out.device = str(p, s, 'watchdog', 'device') ?? out.device;
  out.safety_margin = int(p, s, 'watchdog', 'safety_margin', { min: -1 }) ?? out.safety_margin;
  return out;
}

function readControlPlane(p: Problems, r: Obj): ControlPlaneConfig | undefined {
  const s = section(p, r, '', 'controlplane');
  if (!s) return undefined;
  checkKeys(p, s, 'controlplane', ['url', 'token'], undefined);
  const url = str(p, s, 'controlplane', 'url', { required: true });
  if (url !== undefined) {
    let ok = false;
    try {
      const u = new URL(url);
      ok = u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      ok = false;
    }
    if (!ok) p.error('controlplane.url', `expected an http or https URL${got('controlplane.url', url)}`);
  }
  const token = str(p, s, 'controlplane', 'token');
  return { url: url ?? '', ...(token !== undefined ? { token } : {}) };
}
