/**
 * Patroni's etcd3 section names its servers in several shapes:
 *   etcd3: { host: "10.0.0.1:2379" }
 *   etcd3: { hosts: "10.0.0.1:2379,10.0.0.2:2379" }   (a comma separated string)
 *   etcd3: { hosts: ["10.0.0.1:2379", "10.0.0.2:2379"] }
 *   etcd3: { url: "http://10.0.0.1:2379" }
 * with `protocol: http|https` applying to entries without a scheme.
 */
export interface EtcdHostsConfig {
  host?: string;
  hosts?: string | readonly string[];
  url?: string;
  protocol?: string;
}

const DEFAULT_PORT = 2379;

function normalizeOne(entry: string, protocol: string): string {
  let s = entry.trim();
  let scheme = protocol;
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  if (m) {
    scheme = m[1]!.toLowerCase();
    s = s.slice(m[0].length);
  }
  if (scheme !== 'http' && scheme !== 'https') throw new Error(`etcd host ${JSON.stringify(entry)}: unsupported scheme ${scheme}`);
  s = s.replace(/\/.*$/, '');
  if (!s) throw new Error(`etcd host ${JSON.stringify(entry)}: no host`);
  let host: string;
  let port: number = DEFAULT_PORT;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) throw new Error(`etcd host ${JSON.stringify(entry)}: unterminated IPv6 address`);
    host = s.slice(0, end + 1);
    const rest = s.slice(end + 1);
    if (rest) {
      if (!rest.startsWith(':')) throw new Error(`etcd host ${JSON.stringify(entry)}: bad port`);
      port = Number(rest.slice(1));
    }
  } else {
    const parts = s.split(':');
    if (parts.length > 2) throw new Error(`etcd host ${JSON.stringify(entry)}: write IPv6 addresses as [addr]:port`);
    host = parts[0]!;
    if (parts.length === 2) port = Number(parts[1]);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`etcd host ${JSON.stringify(entry)}: bad port`);
  return `${scheme}://${host}:${port}`;
}

/**
 * Normalizes any of Patroni's shapes into a list of URLs "http(s)://host:port" (port 2379 when
 * missing), the form the etcd3 client takes. Throws on malformed entries or an empty list.
 */
export function parseEtcdHosts(input: string | readonly string[] | EtcdHostsConfig, protocol = 'http'): string[] {
  let entries: string[];
  let proto = protocol;
  if (typeof input === 'string') entries = input.split(',');
  else if (Array.isArray(input)) entries = input.flatMap((h: string) => h.split(','));
  else {
    const cfg = input as EtcdHostsConfig;
    if (cfg.protocol) proto = cfg.protocol;
    if (cfg.hosts !== undefined) entries = typeof cfg.hosts === 'string' ? cfg.hosts.split(',') : cfg.hosts.flatMap((h) => h.split(','));
    else if (cfg.host !== undefined) entries = [cfg.host];
    else if (cfg.url !== undefined) entries = [cfg.url];
    else entries = [];
  }
  const out = entries.map((e) => e.trim()).filter((e) => e !== '').map((e) => normalizeOne(e, proto.toLowerCase()));
  if (out.length === 0) throw new Error('no etcd hosts given');
  return [...new Set(out)];
}

/** "http://h:2379" → "h:2379", for messages. */
export function displayHost(url: string): string {
  return url.replace(/^https?:\/\//, '');
}
