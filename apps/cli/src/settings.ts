/**
 * Where is the cluster? keelctl answers like patronictl, from (highest first):
 *   1. flags: --scope, --namespace, -d/--dcs-url
 *   2. the environment: PATRONI_SCOPE, PATRONI_NAMESPACE, PATRONI_ETCD3_HOSTS (or _HOST, _URL, _PROTOCOL,
 *      _USERNAME, _PASSWORD), PATRONI_ZOOKEEPER_HOSTS, DCS_URL, PATRONI_RESTAPI_USERNAME / _PASSWORD
 *   3. a YAML file: -c/--config-file, else $KEEL_CONFIG, else $PATRONICTL_CONFIG_FILE, else
 *      ~/.config/keel/keelctl.yaml or ~/.config/patroni/patronictl.yaml when one exists. The agent's own
 *      configuration works as it is (scope, namespace, etcd3 or zookeeper, restapi.authentication); a `ctl:` section's
 *      authentication wins over restapi's, as in Patroni.
 * Pure: the caller passes the environment and a file reader.
 */

import os from 'node:os';
import path from 'node:path';
import { parseEtcdHosts, parseZooKeeperHosts } from '@keel/dcs';
import { parseYaml } from './render/yaml.ts';
import { usageError } from './errors.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface CtlSettings {
  /** null: not configured (only `version` can do without it). */
  scope: string | null;
  namespace: string;
  /** etcd URLs ("http://h:2379"); null when nothing says where etcd is. */
  etcdHosts: string[] | null;
  /** ZooKeeper servers ("h:2181"); null unless the cluster lives in ZooKeeper (then etcdHosts is null). */
  zookeeperHosts: string[] | null;
  etcdAuth: Credentials | null;
  /** Basic auth for the agents' mutating REST endpoints. */
  restAuth: Credentials | null;
  /** TLS to etcd (file paths; used with https hosts). */
  etcdTls: EtcdTlsFiles | null;
  /** TLS to the agents' REST APIs (Patroni: ctl.cacert or restapi.cafile, ctl.certfile or restapi.certfile, ...). */
  restTls: RestTlsFiles;
  /** The file read, if any (for messages). */
  configFile: string | null;
  /** Deadline of each etcd call. */
  dcsTimeoutMs: number;
}

export interface EtcdTlsFiles {
  cacert?: string;
  cert?: string;
  key?: string;
}

export interface RestTlsFiles {
  cacert?: string;
  certfile?: string;
  keyfile?: string;
  keyfile_password?: string;
  /** ctl.insecure: do not verify the agents' certificates. */
  insecure: boolean;
}

export interface GlobalFlags {
  configFile?: string;
  dcsUrl?: string;
  scope?: string;
  namespace?: string;
  dcsTimeout?: string;
}

export interface FileAccess {
  read(path: string): string;
  exists(path: string): boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function creds(v: unknown): Credentials | null {
  if (!isObj(v)) return null;
  const username = str(v.username);
  if (!username) return null;
  return { username, password: str(v.password) ?? '' };
}

/** "h1:2379,h2:2379", "[h1:2379, h2:2379]" or "'h1:2379','h2:2379'" (Patroni reads the variable as a YAML list). */
export function parseHostList(value: string): string[] {
  return value
    .trim()
    .replace(/^\[(.*)\]$/s, '$1')
    .split(',')
    .map((s) => s.trim().replace(/^(['"])(.*)\1$/, '$2'))
    .filter((s) => s !== '');
}

/**
 * -d/--dcs-url: "etcd3://h:2379", "http://h:2379", "h:2379" or "h" (port 2379); several separated by
 * commas. Keel speaks etcd's v3 API only.
 */
/** -d/--dcs-url: etcd3://, etcd://, http(s):// or bare host:port entries are etcd; zookeeper://h:p entries are ZooKeeper. */
export function parseDcsUrl(url: string): { etcd: string[] } | { zookeeper: string[] } {
  const entries = url.split(',').map((s) => s.trim()).filter(Boolean);
  if (entries.length === 0) throw usageError('--dcs-url is empty');
  if (/^zookeeper:\/\//i.test(entries[0]!)) {
    // patronictl: zookeeper://h1:2181,h2:2181 (the scheme once, then more hosts)
    return { zookeeper: zkHostsOrUsage(entries.map((e) => e.replace(/^zookeeper:\/\//i, '')), `--dcs-url ${url}`) };
  }
  return { etcd: entries.map((e) => {
    const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(e);
    const scheme = m?.[1]?.toLowerCase();
    const rest = m ? e.slice(m[0].length) : e;
    if (scheme && !['etcd', 'etcd3', 'http', 'https'].includes(scheme)) {
      throw usageError(`--dcs-url ${e}: unsupported DCS ${JSON.stringify(scheme)} (Keel runs on etcd v3 or ZooKeeper: etcd3://host:port, zookeeper://host:port)`);
    }
    const proto = scheme === 'https' ? 'https' : 'http';
    return hostsOrUsage([`${proto}://${rest}`], `--dcs-url ${e}`)[0]!;
  }) };
}

function zkHostsOrUsage(input: string | string[], where: string): string[] {
  try {
    return parseZooKeeperHosts(input);
  } catch (e) {
    throw usageError(`${where}: ${(e as Error).message}`);
  }
}

function hostsOrUsage(input: Parameters<typeof parseEtcdHosts>[0], where: string, protocol?: string): string[] {
  try {
    return parseEtcdHosts(input, protocol);
  } catch (e) {
    throw usageError(`${where}: ${(e as Error).message}`);
  }
}

export function defaultConfigFiles(home = os.homedir()): string[] {
  return [path.join(home, '.config', 'keel', 'keelctl.yaml'), path.join(home, '.config', 'patroni', 'patronictl.yaml')];
}

interface FileSettings {
  scope?: string;
  namespace?: string;
  etcdHosts?: string[];
  zookeeperHosts?: string[];
  etcdAuth?: Credentials | null;
  restAuth?: Credentials | null;
  etcdTls?: EtcdTlsFiles | null;
  restTls?: RestTlsFiles;
}

function pick<K extends string>(o: Obj, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const k of keys) {
    const v = str(o[k]);
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}

/** Patroni's PatroniRequest: ctl.<key> first, then restapi.<key> (cacert: ctl.cacert, then restapi.cafile). */
function restTlsOf(ctl: Obj, restapi: Obj): RestTlsFiles {
  const c = pick(ctl, ['cacert', 'certfile', 'keyfile', 'keyfile_password']);
  const r = pick(restapi, ['cafile', 'certfile', 'keyfile', 'keyfile_password']);
  const fromCtl = c.certfile !== undefined;
  const out: RestTlsFiles = { insecure: ctl.insecure === true || String(ctl.insecure).toLowerCase() === 'true' };
  const cacert = c.cacert ?? r.cafile;
  if (cacert) out.cacert = cacert;
  const cert = fromCtl ? c : r;
  if (cert.certfile) out.certfile = cert.certfile;
  if (cert.keyfile) out.keyfile = cert.keyfile;
  if (cert.keyfile_password !== undefined) out.keyfile_password = cert.keyfile_password;
  return out;
}

/** The parts of an agent / patronictl YAML that keelctl needs; nothing else is checked. */
export function parseConfigText(text: string, file: string): FileSettings {
  let root: unknown;
  try {
    root = parseYaml(text);
  } catch (e) {
    throw usageError(`${file}: not valid YAML (${(e as Error).message})`);
  }
  if (root === null || root === undefined) return {};
  if (!isObj(root)) throw usageError(`${file}: expected a mapping at the top level`);
  const out: FileSettings = {};
  const scope = str(root.scope);
  if (scope) out.scope = scope;
  const ns = str(root.namespace);
  if (ns !== undefined) out.namespace = ns;
  const sections = ['etcd', 'etcd3', 'zookeeper'].filter((k) => root[k] !== undefined && root[k] !== null);
  if (sections.length > 1) throw usageError(`${file}: exactly one DCS section is allowed, found ${sections.join(', ')}`);
  const etcd3 = root.etcd3;
  if (isObj(root.zookeeper)) {
    const hosts = root.zookeeper.hosts;
    if (hosts !== undefined && hosts !== null) {
      out.zookeeperHosts = zkHostsOrUsage(Array.isArray(hosts) ? hosts.map(String) : String(hosts), `${file}: zookeeper.hosts`);
    }
  } else if (isObj(etcd3)) {
    const cfg = {
      ...(etcd3.hosts !== undefined ? { hosts: Array.isArray(etcd3.hosts) ? etcd3.hosts.map(String) : String(etcd3.hosts) } : {}),
      ...(etcd3.host !== undefined ? { host: String(etcd3.host) } : {}),
      ...(etcd3.url !== undefined ? { url: String(etcd3.url) } : {}),
      ...(etcd3.protocol !== undefined ? { protocol: String(etcd3.protocol) } : {}),
    };
    if (cfg.hosts !== undefined || cfg.host !== undefined || cfg.url !== undefined) out.etcdHosts = hostsOrUsage(cfg, `${file}: etcd3`);
    out.etcdAuth = creds(etcd3);
    const tls = pick(etcd3, ['cacert', 'cert', 'key']);
    if (Object.keys(tls).length > 0) out.etcdTls = tls;
  } else if (isObj(root.etcd)) {
    throw usageError(`${file}: Keel talks to etcd through its v3 API: name the section etcd3, not etcd`);
  }
  const ctlAuth = isObj(root.ctl) ? creds(root.ctl.authentication) : null;
  const restAuth = isObj(root.restapi) ? creds(root.restapi.authentication) : null;
  out.restAuth = ctlAuth ?? restAuth;
  out.restTls = restTlsOf(isObj(root.ctl) ? root.ctl : {}, isObj(root.restapi) ? root.restapi : {});
  return out;
}

export function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv, files: FileAccess): CtlSettings {
  const given = flags.configFile ?? (env.KEEL_CONFIG || undefined) ?? (env.PATRONICTL_CONFIG_FILE || undefined);
  let configFile: string | null = null;
  let file: FileSettings = {};
  if (given !== undefined) {
    let text: string;
    try {
      text = files.read(given);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw usageError(`cannot read the configuration file ${given}${code ? ` (${code})` : ''}: check -c/--config-file`);
    }
    configFile = given;
    file = parseConfigText(text, given);
  } else {
    const found = defaultConfigFiles(env.HOME || os.homedir()).find((p) => files.exists(p));
    if (found) {
      configFile = found;
      file = parseConfigText(files.read(found), found);
    }
  }

  const scope = flags.scope ?? (env.PATRONI_SCOPE || undefined) ?? file.scope ?? null;
  const namespace = flags.namespace ?? (env.PATRONI_NAMESPACE || undefined) ?? file.namespace ?? '/service/';

  let etcdHosts: string[] | null = file.etcdHosts ?? null;
  const envProto = env.PATRONI_ETCD3_PROTOCOL || undefined;
  if (env.PATRONI_ETCD3_HOSTS) etcdHosts = hostsOrUsage(parseHostList(env.PATRONI_ETCD3_HOSTS), 'PATRONI_ETCD3_HOSTS', envProto);
  else if (env.PATRONI_ETCD3_HOST) etcdHosts = hostsOrUsage(env.PATRONI_ETCD3_HOST, 'PATRONI_ETCD3_HOST', envProto);
  else if (env.PATRONI_ETCD3_URL) etcdHosts = hostsOrUsage({ url: env.PATRONI_ETCD3_URL }, 'PATRONI_ETCD3_URL', envProto);
  let zookeeperHosts: string[] | null = file.zookeeperHosts ?? null;
  if (etcdHosts !== file.etcdHosts && etcdHosts !== null) zookeeperHosts = null; // the environment names etcd
  if (env.PATRONI_ZOOKEEPER_HOSTS) {
    zookeeperHosts = zkHostsOrUsage(env.PATRONI_ZOOKEEPER_HOSTS, 'PATRONI_ZOOKEEPER_HOSTS');
    etcdHosts = null;
  }
  const dcsUrl = flags.dcsUrl ?? (env.DCS_URL || undefined);
  if (dcsUrl) {
    const d = parseDcsUrl(dcsUrl);
    etcdHosts = 'etcd' in d ? d.etcd : null;
    zookeeperHosts = 'zookeeper' in d ? d.zookeeper : null;
  }

  let etcdAuth = file.etcdAuth ?? null;
  if (env.PATRONI_ETCD3_USERNAME) etcdAuth = { username: env.PATRONI_ETCD3_USERNAME, password: env.PATRONI_ETCD3_PASSWORD ?? '' };
  let restAuth = file.restAuth ?? null;
  if (env.PATRONI_RESTAPI_USERNAME) restAuth = { username: env.PATRONI_RESTAPI_USERNAME, password: env.PATRONI_RESTAPI_PASSWORD ?? '' };

  let etcdTls = file.etcdTls ?? null;
  const envEtcdTls = pick(env as Obj, ['PATRONI_ETCD3_CACERT', 'PATRONI_ETCD3_CERT', 'PATRONI_ETCD3_KEY']);
  if (Object.keys(envEtcdTls).length > 0) {
    etcdTls = {
      ...etcdTls,
      ...(envEtcdTls.PATRONI_ETCD3_CACERT ? { cacert: envEtcdTls.PATRONI_ETCD3_CACERT } : {}),
      ...(envEtcdTls.PATRONI_ETCD3_CERT ? { cert: envEtcdTls.PATRONI_ETCD3_CERT } : {}),
      ...(envEtcdTls.PATRONI_ETCD3_KEY ? { key: envEtcdTls.PATRONI_ETCD3_KEY } : {}),
    };
  }
  const restTls: RestTlsFiles = { ...(file.restTls ?? { insecure: false }) };
  if (env.PATRONI_CTL_CACERT) restTls.cacert = env.PATRONI_CTL_CACERT;
  if (env.PATRONI_CTL_CERTFILE) restTls.certfile = env.PATRONI_CTL_CERTFILE;
  if (env.PATRONI_CTL_KEYFILE) restTls.keyfile = env.PATRONI_CTL_KEYFILE;
  if (env.PATRONI_CTL_INSECURE) restTls.insecure = /^(true|yes|on)$/i.test(env.PATRONI_CTL_INSECURE.trim());

  let dcsTimeoutMs = 5000;
  if (flags.dcsTimeout !== undefined) {
    const s = Number(flags.dcsTimeout);
    if (!(s > 0) || !Number.isFinite(s)) throw usageError(`--dcs-timeout ${flags.dcsTimeout}: expected a number of seconds > 0`);
    dcsTimeoutMs = Math.round(s * 1000);
  }
  return { scope, namespace, etcdHosts, zookeeperHosts, etcdAuth, restAuth, etcdTls, restTls, configFile, dcsTimeoutMs };
}
