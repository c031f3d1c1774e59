/**
 * Config safety on a real cluster (etcd + PostgreSQL 15 + agents):
 * - a Patroni config with wal_keep_segments bootstraps (written as wal_keep_size) and tags given as
 *   the strings "false"/"true" run;
 * - every bad PATCH and PUT /config is a 4xx with a clear message, and neither the DCS /config
 *   (its etcd mod revision) nor PostgreSQL's settings change; the issue's application_name repro;
 * - a bad /config and a corrupt failover key written straight into etcd (etcdctl) are skipped with a
 *   logged reason: the cluster keeps following, switches over, fails over, and the API does not
 *   answer 409/503 forever.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('config safety on a real cluster', () => {
  let c: TestCluster;
  let auth: Record<string, string>;
  const key = (k: string) => `/service/keel-test/${k}`;

  function etcdctl(...args: string[]): string {
    const r = spawnSync('etcdctl', [`--endpoints=http://${c.etcd.hostPort}`, ...args], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
    if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  /** The raw /config value and its mod revision, straight from etcd. */
  function rawKey(k: string): { value: string; modRevision: number } | null {
    const out = JSON.parse(etcdctl('get', key(k), '-w', 'json')) as { kvs?: Array<{ value: string; mod_revision: number }> };
    const kv = out.kvs?.[0];
    return kv ? { value: Buffer.from(kv.value, 'base64').toString('utf8'), modRevision: kv.mod_revision } : null;
  }
  /**
   * One request with node:http: the agent may answer (413) and close before a huge body is sent,
   * which fetch reports as EPIPE; here the answer still counts, a write error alone does not.
   */
  function send(m: Member, method: string, p: string, body: string | undefined): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...auth };
      if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      const req = http.request(`${m.apiUrl}${p}`, { method, headers, timeout: 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      let failed: Error | null = null;
      req.on('error', (e) => {
        failed = e;
        setTimeout(() => reject(failed!), 2000); // unless the answer arrives meanwhile
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.end(body);
    });
  }
  const pgSettings = async (m: Member) =>
    (await m.sql<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings ORDER BY name')).map((r) => `${r.name}=${r.setting}`);
  const logged = (m: Member, text: string) => m.logs().some((l) => typeof l['msg'] === 'string' && l['msg'].includes(text));

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 2,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      // tags as strings, as some patroni.yml files have them (Patroni runs with them)
      tags: [{ nofailover: 'false', nosync: 'false' }, { nofailover: 'false', clonefrom: 'true' }],
      tweak: (cfg) => {
        // a real-world patroni.yml: wal_keep_segments, which PostgreSQL 13+ no longer knows
        const params = ((cfg.bootstrap as Record<string, Record<string, Record<string, Record<string, unknown>>>>).dcs!.postgresql!.parameters ??= {});
        delete params['wal_keep_size'];
        params['wal_keep_segments'] = 8;
      },
    });
    auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}` };
    const leader = await c.waitForPrimary(120_000);
    await c.waitForReplicas(c.members.filter((m) => m !== leader).map((m) => m.name), 120_000);
  }, 300_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('bootstraps with wal_keep_segments written as wal_keep_size, and runs with tags given as strings', async () => {
    for (const m of c.members) {
      expect((await m.sql<{ wal_keep_size: string }>('SHOW wal_keep_size'))[0]!.wal_keep_size).toBe('128MB');
    }
    expect(JSON.parse(rawKey('config')!.value).postgresql.parameters.wal_keep_segments).toBe(8);
    // read as booleans, published as Patroni does (false boolean tags are left out)
    const member = JSON.parse(rawKey('members/node2')!.value) as { tags: Record<string, unknown> };
    expect(member.tags).toEqual({ clonefrom: true });
  });

  // Each bad input, its status and the clear message it must carry.
  const BAD: Array<[string, string | ((current: Record<string, unknown>) => unknown), number, string]> = [
    ['the issue repro: application_name with a line break', () => ({ postgresql: { parameters: { application_name: 'a\nb' } } }), 400, 'postgresql.parameters.application_name: must not contain line breaks or NUL characters'],
    ['malformed JSON', '{"ttl": ', 400, 'JSON'],
    ['a huge body', JSON.stringify({ postgresql: { parameters: { application_name: 'x'.repeat(2 * 1024 * 1024) } } }), 413, ''],
    ['a list', '[1,2]', 400, 'JSON object'],
    ['ttl as a word', () => ({ ttl: 'thirty' }), 400, 'ttl: expected an integer, got \\"thirty\\"'],
    ['a negative ttl', () => ({ ttl: -1 }), 400, 'ttl: must be >= 0, got -1'],
    ['a retry_timeout beyond a timer', () => ({ retry_timeout: 9_999_999 }), 400, 'retry_timeout: must be <= 2147483'],
    ['an unknown key', () => ({ tll: 30 }), 400, 'tll: unknown key (did you mean \\"ttl\\"?)'],
    ['an unknown PostgreSQL parameter', () => ({ postgresql: { parameters: { max_connectionz: 10 } } }), 400, 'postgresql.parameters.max_connectionz: unknown PostgreSQL parameter'],
    ['a bad parameter value', () => ({ postgresql: { parameters: { work_mem: 'lots' } } }), 400, 'postgresql.parameters.work_mem: expected a number (unit kB), got \\"lots\\"'],
    ['a parameter name that injects a line', () => ({ postgresql: { parameters: { "fsync = off\nx": 1 } } }), 400, 'not a valid configuration parameter name'],
    ['archive_command (runs a command)', () => ({ postgresql: { parameters: { archive_command: 'touch /tmp/keel-pwned' } } }), 400, 'postgresql.parameters.archive_command: runs a command; Keel takes it only from the local YAML'],
    ['shared_preload_libraries (loads code)', () => ({ postgresql: { parameters: { shared_preload_libraries: 'evil' } } }), 400, 'shared_preload_libraries: loads code'],
    ['log_directory (a path)', () => ({ postgresql: { parameters: { log_directory: '/etc' } } }), 400, 'log_directory: names a file or directory'],
    ['postgresql.callbacks', () => ({ postgresql: { callbacks: { on_start: '/bin/sh' } } }), 400, 'postgresql.callbacks: runs commands or names files'],
    ['standby_cluster with an unknown key', () => ({ standby_cluster: { host: '10.0.0.1', prot: 5432 } }), 400, 'standby_cluster.prot: unknown key'],
    ['a synchronous_mode that is not a mode', () => ({ synchronous_mode: 'sometimes' }), 400, 'synchronous_mode: expected on, off or quorum, got \\"sometimes\\"'],
    ['maximum_lag_on_syncnode that is not a number', () => ({ maximum_lag_on_syncnode: 'far' }), 400, 'maximum_lag_on_syncnode: expected an integer, got \\"far\\"'],
    ['failsafe_mode that is not a boolean', () => ({ failsafe_mode: 'sometimes' }), 400, 'failsafe_mode: expected true or false, got \\"sometimes\\"'],
    ['a logical slot without a plugin', () => ({ slots: { s1: { type: 'logical', database: 'postgres' } } }), 400, 'slots.s1.plugin: required'],
    ['a pg_hba line break', () => ({ postgresql: { pg_hba: ['local all all trust\nhost all all 0.0.0.0/0 trust'] } }), 400, 'postgresql.pg_hba[0]: must not contain line breaks'],
  ];

  it.each(['PATCH', 'PUT'])('%s /config answers each bad input with a 4xx and a clear message, and changes neither the DCS nor PostgreSQL', async (method) => {
    const leader = await c.waitForPrimary(30_000);
    const before = rawKey('config')!;
    const settingsBefore = await pgSettings(leader);
    const current = JSON.parse(before.value) as Record<string, unknown>;
    const results: string[] = [];
    for (const [name, input, status, message] of BAD) {
      let body: string;
      if (typeof input === 'string') body = input;
      else {
        const patch = input(current) as Record<string, unknown>;
        // PUT sends the whole document: the current one with the bad part merged in
        const doc = method === 'PUT' ? { ...current, ...patch, postgresql: { ...(current.postgresql as object), ...(patch.postgresql as object | undefined) } } : patch;
        body = JSON.stringify(doc);
      }
      const r = await send(leader, method, '/config', body);
      const ok = r.status === status && r.text.includes(message);
      results.push(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    expect(results.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(rawKey('config')).toEqual(before);
    expect(await pgSettings(leader)).toEqual(settingsBefore);
    expect(fs.existsSync('/tmp/keel-pwned')).toBe(false);
  });

  it('accepts a timing that breaks loop_wait + 2*retry_timeout <= ttl (adjusted, like Patroni), and pause still works after it', async () => {
    const leader = await c.waitForPrimary(30_000);
    const r = await send(leader, 'PATCH', '/config', JSON.stringify({ retry_timeout: '5' }));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).retry_timeout).toBe(5); // stored as a number, not the text sent
    for (const m of c.members) {
      await waitFor(async () => logged(m, 'timing: violated the rule "loop_wait + 2*retry_timeout <= ttl", where ttl=10: adjusting loop_wait from 2 to 1 and retry_timeout from 5 to 4'), {
        timeoutMs: 30_000,
        message: `${m.name} logs the timing adjustment`,
      });
    }
    expect((await send(leader, 'PATCH', '/config', JSON.stringify({ pause: true }))).status).toBe(200);
    expect((await send(leader, 'PATCH', '/config', JSON.stringify({ pause: null, retry_timeout: 3 }))).status).toBe(200);
  });

  it('skips bad values of a /config written straight into etcd, keeps following, and PATCH still works', async () => {
    const leader = await c.waitForPrimary(30_000);
    const replica = c.members.find((m) => m !== leader)!;
    const current = JSON.parse(rawKey('config')!.value) as { postgresql: { parameters: Record<string, unknown> } };
    const bad = {
      ...current,
      ttl: -5,
      standby_cluster: { host: '10.9.9.9', port: 99999 },
      postgresql: {
        ...current.postgresql,
        parameters: { ...current.postgresql.parameters, application_name: 'a\nb', archive_mode: 'on', archive_command: 'touch /tmp/keel-pwned', work_mem: 'lots', maintenance_work_mem: '99MB' },
      },
    };
    etcdctl('put', key('config'), JSON.stringify(bad));
    for (const m of c.members) {
      await waitFor(async () => logged(m, 'skipped a /config value: postgresql.parameters.application_name: must not contain line breaks or NUL characters'), {
        timeoutMs: 30_000,
        message: `${m.name} logs the skipped application_name`,
      });
      // the good value in the same write is applied, the bad ones are not
      await waitFor(async () => (await m.sql<{ v: string }>("SELECT current_setting('maintenance_work_mem') AS v"))[0]!.v === '99MB', { timeoutMs: 30_000, message: `${m.name} applies maintenance_work_mem` });
      expect((await m.sql<{ v: string }>("SELECT current_setting('archive_command') AS v"))[0]!.v).not.toContain('pwned');
      expect((await m.sql<{ v: string }>("SELECT current_setting('work_mem') AS v"))[0]!.v).not.toBe('lots');
      expect(logged(m, 'skipped a /config value: standby_cluster.port: expected a port number from 1 to 65535')).toBe(true);
    }
    // the replica still streams from the leader, the leader still holds the lock
    await c.waitForReplicas([replica.name], 60_000);
    expect((await leader.api('/primary')).status).toBe(200);
    // a PATCH that does not touch the bad values is not refused for them (they are written back as they were)
    const r = await send(leader, 'PATCH', '/config', JSON.stringify({ maximum_lag_on_failover: 2097152 }));
    expect([r.status, r.text.slice(0, 300)]).toEqual([200, expect.stringContaining('"maximum_lag_on_failover":2097152')]);
    expect(JSON.parse(rawKey('config')!.value).ttl).toBe(-5);
    // and a PUT of a clean document repairs it
    const repaired = { ...current, maximum_lag_on_failover: 2097152 };
    expect((await send(leader, 'PUT', '/config', JSON.stringify(repaired))).status).toBe(200);
    expect(fs.existsSync('/tmp/keel-pwned')).toBe(false);
  });

  it('treats a corrupt failover key and a non-JSON /config as absent: switchover, PATCH and failover still work', async () => {
    const leader = await c.waitForPrimary(30_000);
    const replica = c.members.find((m) => m !== leader)!;
    await c.waitForReplicas([replica.name], 60_000);

    etcdctl('put', key('failover'), '[]');
    await waitFor(async () => logged(leader, 'ignored a DCS value: failover: unexpected value'), { timeoutMs: 30_000, message: 'the corrupt failover key is logged' });
    const sw = await send(leader, 'POST', '/switchover', JSON.stringify({ leader: leader.name, candidate: replica.name }));
    expect([sw.status, sw.text]).toEqual([200, `Successfully switched over to "${replica.name}"`]);
    const newLeader = await c.waitForPrimary(60_000);
    expect(newLeader.name).toBe(replica.name);
    await c.waitForReplicas([leader.name], 120_000);

    const good = rawKey('config')!.value;
    etcdctl('put', key('config'), 'ttl: 10 # YAML, not JSON');
    await waitFor(async () => logged(newLeader, 'ignored a DCS value: config: invalid JSON'), { timeoutMs: 30_000, message: 'the corrupt /config is logged' });
    expect((await newLeader.api('/primary')).status).toBe(200);
    // PATCH replaces the unreadable value instead of answering 503 forever
    const fix = await send(newLeader, 'PATCH', '/config', good);
    expect(fix.status).toBe(200);
    expect(JSON.parse(rawKey('config')!.value)).toEqual(JSON.parse(good));

    // and the cluster still fails over: kill -9 the leader's node, the other member takes over
    await newLeader.kill9Node();
    const survivor = await c.waitForPrimary(90_000, newLeader.name);
    expect(survivor.name).toBe(leader.name);
  });
});
