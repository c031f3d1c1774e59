/**
 * Certificates and keys named by the configuration, read once at start-up. Anything unreadable or
 * unusable (a missing file, a key that does not match, a wrong keyfile_password) is a start-up error
 * that names the setting: the agent never falls back to plain text or to skipping verification.
 */

import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { AgentConfig } from './config.ts';

export class TlsSetupError extends Error {
  override readonly name = 'TlsSetupError';
}

function read(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TlsSetupError(`${key}: cannot read ${file}${code ? ` (${code})` : ''}`);
  }
}

/** Builds a secure context once, so a bad key or password fails now rather than on the first connection. */
function check(what: string, opts: SecureContextOptions): void {
  try {
    createSecureContext(opts);
  } catch (e) {
    throw new TlsSetupError(`${what}: ${(e as Error).message}`);
  }
}

/** The REST API's https options, or null for plain http (no restapi.certfile). */
export interface RestApiTls {
  key: Buffer;
  cert: Buffer;
  passphrase?: string;
  ca?: Buffer;
  ciphers?: string;
  /** Ask for a client certificate (verify_client optional or required). */
  requestCert: boolean;
  /** Refuse the handshake without a valid client certificate (verify_client required). */
  rejectUnauthorized: boolean;
}

export function restApiTls(config: AgentConfig): RestApiTls | null {
  const r = config.restapi;
  if (r.certfile === undefined) return null;
  const cert = read('restapi.certfile', r.certfile);
  const key = r.keyfile !== undefined ? read('restapi.keyfile', r.keyfile) : cert;
  const out: RestApiTls = {
    key,
    cert,
    requestCert: r.verify_client !== 'none',
    rejectUnauthorized: r.verify_client === 'required',
  };
  if (r.keyfile_password !== undefined) out.passphrase = r.keyfile_password;
  if (r.cafile !== undefined) out.ca = read('restapi.cafile', r.cafile);
  if (r.ciphers !== undefined) out.ciphers = r.ciphers;
  check('restapi.certfile/keyfile', out);
  return out;
}

/** What this agent presents and trusts when it calls another member's REST API (Patroni: ctl, then restapi). */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
  /** false only with ctl.insecure. */
  rejectUnauthorized: boolean;
}

export function clientTls(config: AgentConfig): ClientTls {
  const { ctl, restapi } = config;
  const out: ClientTls = { rejectUnauthorized: !ctl.insecure };
  const caFile = ctl.cacert ?? restapi.cafile;
  if (caFile !== undefined) out.ca = read(ctl.cacert !== undefined ? 'ctl.cacert' : 'restapi.cafile', caFile);
  const fromCtl = ctl.certfile !== undefined;
  const certFile = ctl.certfile ?? restapi.certfile;
  if (certFile !== undefined) {
    out.cert = read(fromCtl ? 'ctl.certfile' : 'restapi.certfile', certFile);
    const keyFile = fromCtl ? ctl.keyfile : restapi.keyfile;
    out.key = keyFile !== undefined ? read(fromCtl ? 'ctl.keyfile' : 'restapi.keyfile', keyFile) : out.cert;
    const pass = fromCtl ? ctl.keyfile_password : restapi.keyfile_password;
    if (pass !== undefined) out.passphrase = pass;
    check(fromCtl ? 'ctl.certfile/keyfile' : 'restapi.certfile/keyfile', out);
  }
  return out;
}

/** etcd's TLS material for the etcd3 client (gRPC); undefined for plain http. */
export function etcdTls(config: AgentConfig): { rootCertificate?: Buffer; certChain?: Buffer; privateKey?: Buffer } | undefined {
  const e = config.etcd3;
  if (e?.protocol !== 'https') return undefined;
  const out: { rootCertificate?: Buffer; certChain?: Buffer; privateKey?: Buffer } = {};
  if (e.cacert !== undefined) out.rootCertificate = read('etcd3.cacert', e.cacert);
  if (e.cert !== undefined) {
    out.certChain = read('etcd3.cert', e.cert);
    out.privateKey = e.key !== undefined ? read('etcd3.key', e.key) : out.certChain;
    check('etcd3.cert/key', { cert: out.certChain, key: out.privateKey });
  }
  return out;
}
