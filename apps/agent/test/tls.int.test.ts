import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { TestCluster, type Member } from '@keel/testkit';

// TLS everywhere, with certificates the test makes (testkit's TestCa, Debian's openssl): etcd with
// --client-cert-auth, the REST APIs over https with verify_client: required, and replication that
// pg_hba only allows as `hostssl ... clientcert=verify-ca`. The cluster bootstraps, clones and
// streams; clients without a certificate are refused; keelctl works from the agent's own YAML.

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const KEELCTL = path.join(ROOT, 'apps/cli/src/main.ts');

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await execFileP('curl', ['-sS', '--max-time', '10', ...args], { timeout: 15_000 });
    return { code: 0, out: stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('a Keel cluster with TLS for etcd, the REST API and replication', () => {
  let c: TestCluster;
  let primary: Member;
  let replica: Member;

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 2,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      tls: true,
      tweak: (config) => Object.assign(config.restapi as object, { https_extra_headers: { 'Strict-Transport-Security': 'max-age=31536000' } }),
    });
    primary = await c.waitForPrimary(120_000);
    replica = c.members.find((m) => m !== primary)!;
    await c.waitForReplicas([replica.name], 120_000);
  }, 300_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('clones and streams over hostssl with a client certificate (clientcert=verify-ca)', async () => {
    const rows = await primary.sql<{ application_name: string; ssl: boolean; client_dn: string | null; state: string }>(
      `SELECT r.application_name, s.ssl, s.client_dn, r.state
         FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.application_name = $1`,
      [replica.name],
    );
    expect(rows).toEqual([{ application_name: replica.name, ssl: true, client_dn: `/CN=${c.credentials.replication.username}`, state: 'streaming' }]);
    // A non-TLS replication connection is refused by pg_hba: only hostssl lines allow replication.
    const hba = fs.readFileSync(path.join(primary.dataDir, 'pg_hba.conf'), 'utf8');
    expect(hba).toContain('hostssl replication replicator 127.0.0.1/32 scram-sha-256 clientcert=verify-ca');
    expect(hba).not.toMatch(/^host\s+replication/m);
  });

  it('keeps one .pgpass line per server, never a wildcard', () => {
    const pgpass = fs.readFileSync(path.join(replica.dir, 'pgpass'), 'utf8').trim().split('\n');
    expect(pgpass).toHaveLength(1);
    expect(pgpass[0]).toMatch(new RegExp(`^127\\.0\\.0\\.1:${primary.pgPort}:replication:replicator:`));
    expect(pgpass.join('\n')).not.toMatch(/(^|:)\*(:|$)/m);
  });

  it('publishes https api_urls and answers only clients with a certificate signed by the CA', async () => {
    const t = c.tls!;
    const patroni = await primary.api<{ role: string }>('/patroni');
    expect(patroni.status).toBe(200);
    const key = await execFileP('etcdctl', ['--endpoints', c.etcd.endpoint, ...c.etcd.etcdctlTlsArgs(), 'get', `/service/${c.scope}/members/${primary.name}`, '--print-value-only']);
    expect(JSON.parse(key.stdout).api_url).toBe(`https://127.0.0.1:${primary.restPort}/patroni`);

    const url = `${primary.apiUrl}/patroni`;
    const withCert = await curl(['--cacert', t.ca.caCert, '--cert', t.client.cert, '--key', t.client.key, url]);
    expect(withCert.code, withCert.out).toBe(0);
    expect(JSON.parse(withCert.out).role).toBe(patroni.body.role);
    const head = await curl(['-I', '--cacert', t.ca.caCert, '--cert', t.client.cert, '--key', t.client.key, `${primary.apiUrl}/health`]);
    expect(head.out).toMatch(/^strict-transport-security: max-age=31536000\r?$/im);
    // No client certificate: the TLS handshake is refused (verify_client: required).
    const noCert = await curl(['--cacert', t.ca.caCert, url]);
    expect(noCert.code).not.toBe(0);
    // No CA: curl cannot verify the agent's certificate.
    expect((await curl([url])).code).toBe(60);
    // Plain http to the TLS port gets no answer.
    expect((await curl([`http://127.0.0.1:${primary.restPort}/patroni`])).out).not.toContain('"role"');
  });

  it('refuses etcd clients without a certificate (etcd runs with --client-cert-auth)', async () => {
    const r = await execFileP('etcdctl', ['--endpoints', c.etcd.endpoint, '--cacert', c.tls!.ca.caCert, '--dial-timeout', '2s', '--command-timeout', '3s', 'get', '/service/', '--prefix', '--keys-only']).then(
      () => 'ok',
      (e: Error) => e.message,
    );
    expect(r).not.toBe('ok');
  });

  it('keelctl reads etcd and calls the agents over TLS from the agent\'s own YAML (list, reload)', async () => {
    const run = async (args: string[]) =>
      execFileP(process.execPath, ['--import', 'tsx', KEELCTL, '-c', primary.configPath, ...args], {
        cwd: ROOT,
        env: { ...process.env, KEEL_CONFIG: '', PATRONICTL_CONFIG_FILE: '', PATRONI_SCOPE: '', PATRONI_ETCD3_HOSTS: '' },
        timeout: 120_000,
      });
    const list = JSON.parse((await run(['list', '-f', 'json'])).stdout) as Array<Record<string, string>>;
    expect(list.map((r) => r.Member).sort()).toEqual(['node1', 'node2']);
    expect(list.find((r) => r.Member === primary.name)?.Role).toBe('Leader');
    const reload = await run(['reload', c.scope, '--force']);
    // POST /reload went through: TLS with the client certificate, then basic auth.
    expect(reload.stdout).toMatch(/(Reload request received for|No changes to apply on) member node1/);
    expect(reload.stdout).toMatch(/(Reload request received for|No changes to apply on) member node2/);
  });

  it('refuses to start when a TLS file cannot be read (exit 2, naming the setting)', () => {
    const cfg = YAML.parse(fs.readFileSync(primary.configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    cfg.restapi!.certfile = path.join(c.dir, 'no-such-cert.pem');
    cfg.restapi!.listen = '127.0.0.1:1';
    const bad = path.join(c.dir, 'bad-tls.yml');
    fs.writeFileSync(bad, YAML.stringify(cfg), { mode: 0o600 });
    if (c.osUser) fs.chownSync(bad, c.osUser.uid, c.osUser.gid);
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/agent/src/main.ts'), bad], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
      ...(c.osUser ? { uid: c.osUser.uid, gid: c.osUser.gid } : {}),
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`restapi.certfile: cannot read ${path.join(c.dir, 'no-such-cert.pem')} (ENOENT)`);
  });
});
