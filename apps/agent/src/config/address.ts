/**
 * host:port parsing with Patroni's rules (patroni/utils.py split_host_port): the port follows the LAST colon;
 * the host part may be a comma list ("0.0.0.0,::" for postgresql.listen); IPv6 hosts may carry brackets.
 */

import { isIPv6 } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Hosts that mean "every interface": fine to listen on, useless to connect to. */
export const WILDCARD_HOSTS: readonly string[] = ['*', '0.0.0.0', '::', ''];

export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** "host:port" with brackets for IPv6 hosts. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Splits "h1,h2:port" into hosts and port. `defaultPort` makes the port optional (etcd hosts default to 2379).
 * Reasons never repeat the value; the caller adds it when it is not a secret.
 */
export function parseHostsPort(
  input: string,
  opts: { multipleHosts?: boolean; allowWildcard?: boolean; defaultPort?: number } = {},
): Parsed<{ hosts: string[]; port: number }> {
  const value = input.trim();
  if (value === '') return { ok: false, reason: 'expected host:port, got an empty string' };
  let hostPart: string;
  let port: number | undefined;
  const bracketOnly = /^\[([^\]]+)\]$/.exec(value);
  const idx = value.lastIndexOf(':');
  if (bracketOnly || idx < 0) {
    if (opts.defaultPort === undefined) return { ok: false, reason: 'expected host:port' };
    hostPart = value;
    port = opts.defaultPort;
  } else {
    hostPart = value.slice(0, idx);
    const portText = value.slice(idx + 1);
    port = parsePort(portText);
    if (port === undefined) {
      return {
        ok: false,
        reason: portText === '' ? 'expected host:port, the port is missing' : 'expected host:port with a port between 1 and 65535',
      };
    }
  }
  const rawHosts = opts.multipleHosts ? hostPart.split(',') : [hostPart];
  const hosts = rawHosts.map((h) => {
    const t = h.trim();
    return t.startsWith('[') && t.endsWith(']') ? t.slice(1, -1) : t;
  });
  if (!opts.multipleHosts && hostPart.includes(',')) return { ok: false, reason: 'expected a single host:port' };
  if (hosts.some((h) => h === '')) return { ok: false, reason: 'expected host:port, a host is missing' };
  if (hosts.some((h) => /[\s/@\[\]]/.test(h) || (h.includes(':') && !isIPv6(h)))) {
    return { ok: false, reason: 'expected host:port, the host is not a host name or address' };
  }
  if (hosts.includes('*') && hosts.length > 1) return { ok: false, reason: 'expected "*" alone, not in a list of hosts' };
  if (!opts.allowWildcard && hosts.some((h) => WILDCARD_HOSTS.includes(h))) {
    return { ok: false, reason: 'expected an address other members can connect to, not a wildcard address' };
  }
  return { ok: true, value: { hosts, port } };
}

/**
 * The host Patroni uses for local connections to a PostgreSQL listening on `hosts`
 * (postgresql/config.py _get_tcp_local_address): localhost when listening on '*', localhost, 0.0.0.0 or
 * 127.0.0.1, otherwise the first listen address.
 */
export function localHostFor(hosts: readonly string[]): string {
  for (const h of hosts) {
    const l = h.toLowerCase();
    if (l === '*' || l === 'localhost' || l === '0.0.0.0' || l === '127.0.0.1') return 'localhost';
  }
  return hosts[0] ?? 'localhost';
}
