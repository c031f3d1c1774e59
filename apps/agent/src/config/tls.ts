/**
 * The security settings of the REST API (TLS, client certificates, allowlist), of the `ctl:` section (how
 * this agent and keelctl call other members) and of etcd's TLS. Fail closed: a security setting Keel cannot
 * honour as written (a CA without TLS, a client-certificate mode without a CA, an unknown mode) is an
 * error, never a warning followed by weaker behaviour.
 */

import net from 'node:net';
import { got, join, type Problems } from './problems.ts';
import { bool, checkKeys, section, str, strList, type Obj } from './read.ts';
import type { CtlConfig, Etcd3Config, RestApiConfig } from './types.ts';

/** The restapi keys read here (validate.ts reads listen, connect_address, authentication). */
export const RESTAPI_TLS_KEYS = [
  'certfile',
  'keyfile',
  'keyfile_password',
  'cafile',
  'ciphers',
  'verify_client',
  'allowlist',
  'allowlist_include_members',
  'http_extra_headers',
  'https_extra_headers',
] as const;

type RestApiSecurity = Pick<
  RestApiConfig,
  | 'certfile'
  | 'keyfile'
  | 'keyfile_password'
  | 'cafile'
  | 'ciphers'
  | 'verify_client'
  | 'allowlist'
  | 'allowlist_include_members'
  | 'http_extra_headers'
  | 'https_extra_headers'
>;

const VERIFY_CLIENT = ['none', 'optional', 'required'] as const;

export function readRestApiSecurity(p: Problems, s: Obj): RestApiSecurity {
  const out: RestApiSecurity = {
    verify_client: 'none',
    allowlist: [],
    allowlist_include_members: false,
    http_extra_headers: {},
    https_extra_headers: {},
  };
  for (const key of ['certfile', 'keyfile', 'keyfile_password', 'cafile', 'ciphers'] as const) {
    const v = str(p, s, 'restapi', key, { allowEmpty: key === 'keyfile_password' });
    if (v !== undefined) out[key] = v;
  }
  const vc = str(p, s, 'restapi', 'verify_client');
  if (vc !== undefined) {
    const l = vc.trim().toLowerCase();
    if ((VERIFY_CLIENT as readonly string[]).includes(l)) out.verify_client = l as RestApiSecurity['verify_client'];
    else p.error('restapi.verify_client', `expected none, optional or required${got('restapi.verify_client', vc)}`);
  }
  if (out.certfile === undefined) {
    for (const key of ['keyfile', 'keyfile_password', 'cafile', 'ciphers', 'https_extra_headers'] as const) {
      if (s[key] !== undefined && s[key] !== null) p.error(`restapi.${key}`, 'has no effect without restapi.certfile (the REST API would serve plain http): set certfile or remove it');
    }
    if (out.verify_client !== 'none') p.error('restapi.verify_client', `${out.verify_client} needs TLS: set restapi.certfile, keyfile and cafile`);
  } else if (out.verify_client !== 'none' && out.cafile === undefined) {
    p.error('restapi.verify_client', `${out.verify_client} needs restapi.cafile (the CA that signs the client certificates)`);
  }
  out.allowlist = readAllowlist(p, s);
  out.allowlist_include_members = bool(p, s, 'restapi', 'allowlist_include_members') ?? false;
  out.http_extra_headers = readHeaders(p, s, 'http_extra_headers');
  out.https_extra_headers = readHeaders(p, s, 'https_extra_headers');
  return out;
}

/** An allowlist entry: an IP address, a network (CIDR) or a host name (resolved when the agent starts). */
function readAllowlist(p: Problems, s: Obj): string[] {
  const list = strList(p, s, 'restapi', 'allowlist', { allowCommaString: true }) ?? [];
  const out: string[] = [];
  list.forEach((raw, i) => {
    const entry = raw.trim();
    const kp = `restapi.allowlist[${i}]`;
    const [addr, bits, ...rest] = entry.split('/');
    const family = net.isIP(addr ?? '');
    if (bits !== undefined) {
      const max = family === 4 ? 32 : family === 6 ? 128 : -1;
      if (max < 0 || rest.length > 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > max) {
        p.error(kp, `expected an IP address, a network like 10.0.0.0/8 or a host name${got(kp, raw)}`);
        return;
      }
    } else if (family === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(entry)) {
      p.error(kp, `expected an IP address, a network like 10.0.0.0/8 or a host name${got(kp, raw)}`);
      return;
    }
    out.push(entry);
  });
  return out;
}

function readHeaders(p: Problems, s: Obj, key: string): Record<string, string> {
  const h = section(p, s, 'restapi', key);
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [name, value] of Object.entries(h)) {
    const kp = join(`restapi.${key}`, name);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) p.error(kp, 'not a valid HTTP header name');
    else if (typeof value !== 'string' && typeof value !== 'number') p.error(kp, `expected a string${got(kp, value)}`);
    else if (/[\r\n\x00]/.test(String(value))) p.error(kp, 'must not contain line breaks');
    else out[name] = String(value);
  }
  return out;
}

const CTL_KEYS = ['authentication', 'insecure', 'cacert', 'certfile', 'keyfile', 'keyfile_password'] as const;

export function readCtl(p: Problems, r: Obj): CtlConfig {
  const out: CtlConfig = { insecure: false };
  const s = section(p, r, '', 'ctl');
  if (!s) return out;
  checkKeys(p, s, 'ctl', CTL_KEYS, undefined);
  const auth = section(p, s, 'ctl', 'authentication');
  if (auth) {
    checkKeys(p, auth, 'ctl.authentication', ['username', 'password'], undefined);
    const username = str(p, auth, 'ctl.authentication', 'username', { required: true });
    const password = str(p, auth, 'ctl.authentication', 'password', { required: true, allowEmpty: true });
    if (username !== undefined && password !== undefined) out.authentication = { username, password };
  }
  out.insecure = bool(p, s, 'ctl', 'insecure') ?? false;
  for (const key of ['cacert', 'certfile', 'keyfile', 'keyfile_password'] as const) {
    const v = str(p, s, 'ctl', key, { allowEmpty: key === 'keyfile_password' });
    if (v !== undefined) out[key] = v;
  }
  if ((out.keyfile !== undefined || out.keyfile_password !== undefined) && out.certfile === undefined) {
    p.error(out.keyfile !== undefined ? 'ctl.keyfile' : 'ctl.keyfile_password', 'has no effect without ctl.certfile: set certfile or remove it');
  }
  if (out.insecure && out.cacert !== undefined) p.error('ctl.insecure', 'contradicts ctl.cacert (insecure skips the verification cacert is for): remove one');
  return out;
}

/** etcd3.cacert, cert, key: only with https (an https url or protocol: https). */
export function readEtcdTls(p: Problems, s: Obj, out: Etcd3Config): void {
  for (const key of ['cacert', 'cert', 'key'] as const) {
    const v = str(p, s, 'etcd3', key);
    if (v === undefined) continue;
    if (out.protocol !== 'https') {
      p.error(`etcd3.${key}`, 'is set but etcd is reached over plain http: set etcd3.protocol: https (or https:// urls), or remove it');
      continue;
    }
    out[key] = v;
  }
  if (out.key !== undefined && out.cert === undefined) p.error('etcd3.key', 'has no effect without etcd3.cert: set cert or remove it');
}

