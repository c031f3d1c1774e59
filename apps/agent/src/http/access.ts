/**
 * Who may call the unsafe (mutating) endpoints, checked in Patroni's order (api.py check_access):
 *   1. restapi.allowlist / allowlist_include_members: the caller's address is in a listed network or is
 *      the address of a member's api_url host, else 403 "Access is denied";
 *   2. verify_client optional or required: a verified client certificate, else 403 "client certificate
 *      required";
 *   3. basic auth (restapi.authentication), else 401. Keel refuses every unsafe call (403) when no
 *      authentication is configured.
 * Safe calls (GET, HEAD, OPTIONS) are open, as in Patroni; verify_client: required protects them at the
 * TLS handshake.
 */

import { timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import net, { BlockList } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { checkApiUrl } from '@keel/protocol';
import type { RestApiConfig } from '../config.ts';

export type AccessVerdict = { ok: true } | { ok: false; code: 401 | 403; message: string; header?: [string, string] };

/** "::ffff:10.0.0.1" -> "10.0.0.1": an IPv4 client on a dual-stack socket. */
export function normalizeAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

function family(address: string): 'ipv4' | 'ipv6' | null {
  const f = net.isIP(address);
  return f === 4 ? 'ipv4' : f === 6 ? 'ipv6' : null;
}

async function resolve(host: string): Promise<string[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (net.isIP(bare)) return [bare];
  try {
    return (await lookup(bare, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

/** The allowlist entries as a BlockList (host names resolved once, at start, as Patroni does on load). */
export async function buildAllowlist(entries: readonly string[], warn: (message: string) => void): Promise<BlockList> {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, bits] = entry.split('/');
    const f = family(addr ?? '');
    if (f && bits !== undefined) list.addSubnet(addr!, Number(bits), f);
    else if (f) list.addAddress(addr!, f);
    else {
      const addrs = await resolve(entry);
      if (addrs.length === 0) warn(`restapi.allowlist: cannot resolve ${entry}; it allows nobody`);
      for (const a of addrs) list.addAddress(a, family(a)!);
    }
  }
  return list;
}

export interface AccessContext {
  config: RestApiConfig;
  allowlist: BlockList;
  tls: boolean;
  /** The members' api_url values (allowlist_include_members), from the last DCS snapshot. */
  memberApiUrls(): readonly string[];
}

async function addressAllowed(ctx: AccessContext, address: string): Promise<boolean> {
  const f = family(address);
  if (!f) return false;
  if (ctx.allowlist.check(address, f)) return true;
  if (!ctx.config.allowlist_include_members) return false;
  for (const apiUrl of ctx.memberApiUrls()) {
    const checked = checkApiUrl(apiUrl);
    if (!checked.ok) continue;
    if ((await resolve(checked.url.hostname)).map(normalizeAddress).includes(address)) return true;
  }
  return false;
}

export async function checkUnsafeAccess(
  ctx: AccessContext,
  req: { socket: { remoteAddress?: string | undefined }; authorization: string | undefined },
): Promise<AccessVerdict> {
  const c = ctx.config;
  if (c.allowlist.length > 0 || c.allowlist_include_members) {
    const address = normalizeAddress(req.socket.remoteAddress ?? '');
    if (!(await addressAllowed(ctx, address))) return { ok: false, code: 403, message: 'Access is denied' };
  }
  if (ctx.tls && c.verify_client !== 'none' && (req.socket as TLSSocket).authorized !== true) {
    return { ok: false, code: 403, message: 'client certificate required' };
  }
  const auth = c.authentication;
  if (!auth?.username) return { ok: false, code: 403, message: 'mutating REST calls are refused: configure restapi.authentication' };
  if (!checkBasicAuth(req.authorization, auth.username, auth.password ?? '')) {
    return { ok: false, code: 401, message: 'authentication required', header: ['WWW-Authenticate', 'Basic realm="keel"'] };
  }
  return { ok: true };
}

function checkBasicAuth(header: string | undefined, user: string, password: string): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const given = Buffer.from(header.slice(6), 'base64');
  const expected = Buffer.from(`${user}:${password}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
