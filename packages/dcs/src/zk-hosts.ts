const DEFAULT_PORT = 2181;

function normalizeOne(entry: string): string {
  const s = entry.trim();
  const bad = (why: string) => new Error(`zookeeper host ${JSON.stringify(entry)}: ${why}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) throw bad('write host:port, without a scheme');
  if (s.includes('/')) throw bad('a chroot path is not supported (use namespace)');
  let host: string;
  let port = DEFAULT_PORT;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) throw bad('unterminated IPv6 address');
    host = s.slice(0, end + 1);
    const rest = s.slice(end + 1);
    if (rest) {
      if (!rest.startsWith(':')) throw bad('bad port');
      port = Number(rest.slice(1));
    }
  } else {
    const parts = s.split(':');
    if (parts.length > 2) throw bad('write IPv6 addresses as [addr]:port');
    host = parts[0]!;
    if (parts.length === 2) port = Number(parts[1]);
  }
  if (!host) throw bad('no host');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad('bad port');
  return `${host}:${port}`;
}

/**
 * Patroni's zookeeper.hosts: a list or a comma separated string of host[:port] (port 2181 when
 * missing). Returns "host:port" entries, duplicates removed; throws on a malformed entry or none.
 */
export function parseZooKeeperHosts(input: string | readonly string[]): string[] {
  const entries = (typeof input === 'string' ? input.split(',') : input.flatMap((h) => h.split(','))).map((e) => e.trim()).filter((e) => e !== '');
  const out = entries.map(normalizeOne);
  if (out.length === 0) throw new Error('no zookeeper hosts given');
  return [...new Set(out)];
}
