/**
 * Patroni's environment overrides (config.py _build_environment_configuration) for the sections Keel
 * implements. The environment wins over the file; an empty variable is ignored, as in Patroni.
 */

import { AUTH_PARAMETERS } from './patroni-keys.ts';
import { isObj, type Obj } from './read.ts';

type Kind = 'string' | 'list' | 'int' | 'bool';

const ENV_OVERRIDES: ReadonlyArray<readonly [env: string, path: readonly string[], kind?: Kind]> = [
  ['PATRONI_NAME', ['name']],
  ['PATRONI_SCOPE', ['scope']],
  ['PATRONI_NAMESPACE', ['namespace']],
  ['PATRONI_RESTAPI_LISTEN', ['restapi', 'listen']],
  ['PATRONI_RESTAPI_CONNECT_ADDRESS', ['restapi', 'connect_address']],
  ['PATRONI_RESTAPI_USERNAME', ['restapi', 'authentication', 'username']],
  ['PATRONI_RESTAPI_PASSWORD', ['restapi', 'authentication', 'password']],
  ['PATRONI_RESTAPI_CERTFILE', ['restapi', 'certfile']],
  ['PATRONI_RESTAPI_KEYFILE', ['restapi', 'keyfile']],
  ['PATRONI_RESTAPI_KEYFILE_PASSWORD', ['restapi', 'keyfile_password']],
  ['PATRONI_RESTAPI_CAFILE', ['restapi', 'cafile']],
  ['PATRONI_RESTAPI_CIPHERS', ['restapi', 'ciphers']],
  ['PATRONI_RESTAPI_VERIFY_CLIENT', ['restapi', 'verify_client']],
  ['PATRONI_RESTAPI_ALLOWLIST', ['restapi', 'allowlist'], 'list'],
  ['PATRONI_RESTAPI_ALLOWLIST_INCLUDE_MEMBERS', ['restapi', 'allowlist_include_members'], 'bool'],
  ['PATRONI_CTL_USERNAME', ['ctl', 'authentication', 'username']],
  ['PATRONI_CTL_PASSWORD', ['ctl', 'authentication', 'password']],
  ['PATRONI_CTL_INSECURE', ['ctl', 'insecure'], 'bool'],
  ['PATRONI_CTL_CACERT', ['ctl', 'cacert']],
  ['PATRONI_CTL_CERTFILE', ['ctl', 'certfile']],
  ['PATRONI_CTL_KEYFILE', ['ctl', 'keyfile']],
  ['PATRONI_CTL_KEYFILE_PASSWORD', ['ctl', 'keyfile_password']],
  ['PATRONI_ETCD3_HOSTS', ['etcd3', 'hosts'], 'list'],
  ['PATRONI_ETCD3_HOST', ['etcd3', 'host']],
  ['PATRONI_ETCD3_URL', ['etcd3', 'url']],
  ['PATRONI_ETCD3_PROTOCOL', ['etcd3', 'protocol']],
  ['PATRONI_ETCD3_USERNAME', ['etcd3', 'username']],
  ['PATRONI_ETCD3_PASSWORD', ['etcd3', 'password']],
  ['PATRONI_ETCD3_CACERT', ['etcd3', 'cacert']],
  ['PATRONI_ETCD3_CERT', ['etcd3', 'cert']],
  ['PATRONI_ETCD3_KEY', ['etcd3', 'key']],
  ['PATRONI_ZOOKEEPER_HOSTS', ['zookeeper', 'hosts'], 'list'],
  ['PATRONI_POSTGRESQL_LISTEN', ['postgresql', 'listen']],
  ['PATRONI_POSTGRESQL_CONNECT_ADDRESS', ['postgresql', 'connect_address']],
  ['PATRONI_POSTGRESQL_DATA_DIR', ['postgresql', 'data_dir']],
  ['PATRONI_POSTGRESQL_BIN_DIR', ['postgresql', 'bin_dir']],
  ['PATRONI_POSTGRESQL_PGPASS', ['postgresql', 'pgpass']],
  ...(['superuser', 'replication', 'rewind'] as const).flatMap((user) =>
    AUTH_PARAMETERS.map(
      (param) => [`PATRONI_${user.toUpperCase()}_${param.toUpperCase()}`, ['postgresql', 'authentication', user, param]] as const,
    ),
  ),
  ['PATRONI_LOG_LEVEL', ['log', 'level']],
  ['PATRONI_LOG_TYPE', ['log', 'type']],
  ['PATRONI_LOG_DIR', ['log', 'dir']],
  ['PATRONI_LOG_FORMAT', ['log', 'format']],
  ['PATRONI_LOG_DATEFORMAT', ['log', 'dateformat']],
  ['PATRONI_LOG_FILE_SIZE', ['log', 'file_size'], 'int'],
  ['PATRONI_LOG_FILE_NUM', ['log', 'file_num'], 'int'],
];

/** Old names Patroni still maps (config.py _fix_log_env); the new name wins when both are set. */
const LEGACY_ALIASES: ReadonlyArray<readonly [oldName: string, newName: string]> = [
  ['PATRONI_LOGLEVEL', 'PATRONI_LOG_LEVEL'],
  ['PATRONI_LOGFORMAT', 'PATRONI_LOG_FORMAT'],
  ['PATRONI_LOG_DATEFMT', 'PATRONI_LOG_DATEFORMAT'],
];

/** The etcd3 keys that say where etcd is; one set from the environment replaces all of them from the file. */
const ETCD_ENDPOINT_KEYS = ['hosts', 'host', 'url', 'proxy', 'srv', 'srv_suffix'];

/** "h1:2379,h2:2379", "[h1:2379, h2:2379]" or "'h1:2379','h2:2379'" → list (Patroni parses it as a YAML list). */
function parseList(value: string): string[] {
  const inner = value.trim().replace(/^\[(.*)\]$/s, '$1');
  return inner
    .split(',')
    .map((s) => s.trim().replace(/^(['"])(.*)\1$/, '$2'))
    .filter((s) => s !== '');
}

/**
 * Applies the overrides to the parsed YAML in place. Returns which key path came from which variable, so
 * problems with those values can say "(set by PATRONI_…)".
 */
export function applyEnvOverrides(root: Obj, env: NodeJS.ProcessEnv): Map<string, string> {
  const origins = new Map<string, string>();
  const lookup = (name: string): string | undefined => {
    const v = env[name];
    if (v) return v;
    const legacy = LEGACY_ALIASES.find(([, n]) => n === name)?.[0];
    return legacy ? env[legacy] || undefined : undefined;
  };
  for (const [name, path, kind] of ENV_OVERRIDES) {
    const raw = lookup(name);
    if (!raw) continue;
    let value: unknown = raw;
    if (kind === 'list') value = parseList(raw);
    else if (kind === 'int' && /^\s*-?\d+\s*$/.test(raw)) value = Number(raw);
    else if (kind === 'bool' && /^\s*(true|yes|on)\s*$/i.test(raw)) value = true;
    else if (kind === 'bool' && /^\s*(false|no|off)\s*$/i.test(raw)) value = false;
    const parent = ensurePath(root, path.slice(0, -1));
    if (!parent) continue; // the file has a non-mapping there; its own error will be reported
    const key = path[path.length - 1]!;
    if (path[0] === 'etcd3' && ETCD_ENDPOINT_KEYS.includes(key)) {
      for (const k of ETCD_ENDPOINT_KEYS) delete parent[k];
    }
    parent[key] = value;
    origins.set(path.join('.'), name);
  }
  return origins;
}

function ensurePath(root: Obj, path: readonly string[]): Obj | undefined {
  let cur = root;
  for (const seg of path) {
    const next = cur[seg];
    if (next === undefined || next === null) {
      const created: Obj = {};
      cur[seg] = created;
      cur = created;
    } else if (isObj(next)) {
      cur = next;
    } else {
      return undefined;
    }
  }
  return cur;
}
