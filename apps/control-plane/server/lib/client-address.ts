/**
 * Who is on the other end of a request: the client address and scheme, from the socket, or from
 * X-Forwarded-For / X-Forwarded-Proto when (and only as far as) they were written by a proxy in
 * KEEL_CP_TRUSTED_PROXIES.
 *
 * X-Forwarded-For is read from the right: each proxy appends the address it saw, so the rightmost
 * entries are the ones our own proxies wrote. Starting from the socket's peer, every hop that is a
 * trusted proxy passes us on to the address it saw; the first hop that is not trusted is the
 * client. Entries to its left were written by the client itself and are never believed.
 */
import net from 'node:net';

export interface TTrustedProxies {
  /** true when the address (as the socket reports it, IPv4-mapped IPv6 included) is a trusted proxy. */
  has(address: string): boolean;
  /** The list as configured (for logs). */
  readonly entries: readonly string[];
}

/** "::ffff:10.0.0.1" -> "10.0.0.1"; other addresses unchanged. */
export function normalizeAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/** null when the entry is an IP address or a CIDR block (v4 or v6), else why not. */
export function proxyEntryProblem(entry: string): string | null {
  const [ip, bits, extra] = entry.split('/');
  if (extra !== undefined || !ip) return `"${entry}" is not an IP address or CIDR block`;
  const family = net.isIP(ip);
  if (family === 0) return `"${entry}" is not an IP address or CIDR block`;
  if (bits === undefined) return null;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}": the prefix length must be 0-${max}`;
  return null;
}

/** Parse a comma-separated list of IPs and CIDR blocks (already validated by proxyEntryProblem). */
export function trustedProxies(entries: readonly string[]): TTrustedProxies {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [ip, bits] = entry.split('/') as [string, string | undefined];
    const type = net.isIP(ip) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return {
    entries,
    has(address: string): boolean {
      if (entries.length === 0) return false;
      const a = normalizeAddress(address);
      const family = net.isIP(a);
      if (family === 0) return false;
      return list.check(a, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

function headerValues(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** One X-Forwarded-For entry as an address: strips "[v6]:port", "v4:port" and quotes; null when not an IP. */
function forwardedAddress(entry: string): string | null {
  let e = entry.replace(/^"|"$/g, '');
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(e);
  if (bracket) e = bracket[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(e)) e = e.slice(0, e.lastIndexOf(':'));
  return net.isIP(e) ? normalizeAddress(e) : null;
}

export interface TClientRequest {
  /** The socket's peer (req.socket.remoteAddress). */
  remoteAddress: string | undefined;
  /** Whether the socket itself is TLS. */
  encrypted: boolean;
  forwardedFor: string | string[] | undefined;
  forwardedProto: string | string[] | undefined;
}

/** The client's address: the rightmost hop that is not a trusted proxy. */
export function clientAddress(req: TClientRequest, proxies: TTrustedProxies): string {
  const peer = req.remoteAddress ? normalizeAddress(req.remoteAddress) : 'unknown';
  if (!proxies.has(peer)) return peer;
  let client = peer;
  const hops = headerValues(req.forwardedFor);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = forwardedAddress(hops[i]!);
    // a trusted proxy wrote something that is not an address: stop at that proxy
    if (hop === null) return client;
    client = hop;
    if (!proxies.has(hop)) return hop;
  }
  return client;
}

/** http or https: the socket's, or the rightmost X-Forwarded-Proto when the peer is a trusted proxy. */
export function clientProtocol(req: TClientRequest, proxies: TTrustedProxies): 'http' | 'https' {
  if (req.remoteAddress && proxies.has(req.remoteAddress)) {
    const last = headerValues(req.forwardedProto).at(-1)?.toLowerCase();
    if (last === 'https' || last === 'http') return last;
  }
  return req.encrypted ? 'https' : 'http';
}
