/**
 * A throw-away certificate authority for tests, made with Debian's openssl: a CA, and leaf certificates
 * (EC P-256, valid two days) for 127.0.0.1/localhost that serve as both TLS server and client
 * certificates. Files are owned by `owner` (the postgres OS user when tests run as root), keys 0600.
 */

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface CertFiles {
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** subjectAltName entries; default IP:127.0.0.1, IP:::1, DNS:localhost. */
  sans?: string[];
  /** Encrypt the key with this passphrase (AES-256). */
  passphrase?: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileP('openssl', args, { cwd, timeout: 30_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
  }
}

export class TestCa {
  private constructor(
    readonly dir: string,
    private readonly owner: { uid: number; gid: number } | null,
  ) {}

  /** The CA certificate (PEM): what clients and servers verify against. */
  get caCert(): string {
    return path.join(this.dir, 'ca.crt');
  }

  static async create(dir: string, owner: { uid: number; gid: number } | null = null): Promise<TestCa> {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const ca = new TestCa(dir, owner);
    await openssl(
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=Keel test CA',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    ca.own('ca.crt', 0o644);
    fs.chmodSync(path.join(dir, 'ca.key'), 0o600); // stays root's: nothing but issue() needs it
    return ca;
  }

  /** A certificate and key signed by this CA, with CN = name; usable as TLS server and client. */
  async issue(name: string, opts: IssueOptions = {}): Promise<CertFiles> {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`not a file-safe certificate name: ${name}`);
    const sans = opts.sans ?? ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'];
    const ext = `${name}.ext`;
    fs.writeFileSync(
      path.join(this.dir, ext),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        `subjectAltName=${sans.join(',')}`,
        '',
      ].join('\n'),
    );
    await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], this.dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', ext], this.dir);
    if (opts.passphrase !== undefined) {
      await openssl(['pkey', '-in', `${name}.key`, '-out', `${name}.enc.key`, '-aes256', '-passout', `pass:${opts.passphrase}`], this.dir);
      fs.renameSync(path.join(this.dir, `${name}.enc.key`), path.join(this.dir, `${name}.key`));
    }
    this.own(`${name}.crt`, 0o644);
    this.own(`${name}.key`, 0o600);
    return { cert: path.join(this.dir, `${name}.crt`), key: path.join(this.dir, `${name}.key`) };
  }

  private own(file: string, mode: number): void {
    const p = path.join(this.dir, file);
    fs.chmodSync(p, mode);
    if (this.owner) fs.chownSync(p, this.owner.uid, this.owner.gid);
  }
}
