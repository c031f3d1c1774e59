import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EtcdDcs } from '@keel/dcs';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The REST API next to the HA loop: a flood of health checks must not cost the primary its lock;
// restapi.allowlist refuses unsafe calls from other addresses (Patroni's order: allowlist, client
// certificate, basic auth); a member key whose api_url is not http(s) is ignored with a logged reason.

const execFileP = promisify(execFile);
const FLOOD_PATHS = ['/health', '/patroni', '/metrics', '/primary', '/', '/replica', '/read-only', '/liveness'];

describe('REST API isolation: flood, allowlist, api_url checks', () => {
  let c: TestCluster;
  let auth: Record<string, string>;
  const post = async (m: Member, p: string, body: unknown) => {
    const res = await c.fetch(`${m.apiUrl}${p}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 2,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      // Unsafe calls: node1 only from TEST-NET-1 (not us), node2 also from the members' addresses (us: 127.0.0.1).
      tweak: (config, i) => {
        Object.assign(config.restapi as object, { allowlist: ['192.0.2.0/24'], allowlist_include_members: i === 1 });
      },
    });
    auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}` };
    const leader = await c.waitForPrimary(120_000);
    await c.waitForReplicas(c.members.filter((m) => m !== leader).map((m) => m.name), 120_000);
  }, 300_000);

  afterAll(async () => {
    await c?.stop();
  });

  it('refuses unsafe calls from outside restapi.allowlist with 403 before checking credentials', async () => {
    const [node1, node2] = [c.member('node1'), c.member('node2')];
    expect(await post(node1, '/reload', {})).toEqual({ status: 403, text: JSON.stringify({ error: 'Access is denied' }) });
    // allowlist_include_members: 127.0.0.1 is the host of the members' api_url
    expect([200, 202]).toContain((await post(node2, '/reload', {})).status);
    // ...and basic auth still applies after the allowlist
    const noAuth = await c.fetch(`${node2.apiUrl}/reload`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    expect(noAuth.status).toBe(401);
    // safe calls stay open, as in Patroni
    expect((await node1.api('/patroni')).status).toBe(200);
  });

  it('keeps the lock through a flood of 500 concurrent GETs on the primary: no failover, no 503 on /primary', async () => {
    const leader = (await c.primary())!;
    const dcs = new EtcdDcs({ hosts: [c.etcd.hostPort], scope: c.scope, callTimeoutMs: 3000 });
    // The leader key as etcd has it, every 200 ms: holder and lease (a lock lost and taken again would
    // show as "(none)" or as a new lease). Reads that fail (a loaded machine) are counted apart.
    const before = (await dcs.readCluster()).leader;
    const leaders = new Set<string>();
    let failedReads = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const snap = await dcs.readCluster().catch(() => null);
        if (snap) leaders.add(snap.leader ? `${snap.leader.name}/${snap.leader.lease}` : '(none)');
        else failedReads++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const primaryCodes = new Map<number, number>();
    const otherCodes = new Map<number | string, number>();
    let requests = 0;
    const started = Date.now();
    try {
      // Longer than ttl: a starved loop would lose the lease within this time.
      while (Date.now() - started < (c.ttl + 2) * 1000) {
        await Promise.all(
          Array.from({ length: 500 }, async (_, i) => {
            const p = FLOOD_PATHS[i % FLOOD_PATHS.length]!;
            const code = await c
              .fetch(`${leader.apiUrl}${p}`, { signal: AbortSignal.timeout(30_000) })
              .then(async (r) => (await r.arrayBuffer(), r.status))
              .catch((e: Error) => e.name);
            requests++;
            if (p === '/primary') primaryCodes.set(code as number, (primaryCodes.get(code as number) ?? 0) + 1);
            else otherCodes.set(code, (otherCodes.get(code) ?? 0) + 1);
          }),
        );
      }
    } finally {
      watching = false;
      await watcher;
      await dcs.close();
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `flood: ${requests} GETs in ${seconds.toFixed(1)} s (${Math.round(requests / seconds)}/s); /primary ${JSON.stringify([...primaryCodes])}; others ${JSON.stringify([...otherCodes])}; leader key ${JSON.stringify([...leaders])}, ${failedReads} failed reads`,
    );
    expect([...primaryCodes.keys()]).toEqual([200]);
    expect([...leaders]).toEqual([`${leader.name}/${before?.lease}`]);
    expect((await leader.api('/primary')).status).toBe(200);
    expect((await leader.api<unknown[]>('/history')).body).toEqual([]);
    const released = leader.logs().filter((l) => /demot|releas|lost the lock/i.test(String(l.msg)));
    expect(released.map((l) => l.msg)).toEqual([]);
  }, 120_000);

  it('ignores a member whose api_url is not http(s), says why in the log, and still switches over', async () => {
    const leader = (await c.primary())!;
    const candidate = c.members.find((m) => m !== leader)!;
    const evil = { conn_url: 'postgres://127.0.0.1:1/postgres', api_url: 'file:///etc/passwd', state: 'running', role: 'replica', version: '3.0.2', xlog_location: 999999999999 };
    await execFileP('etcdctl', ['--endpoints', c.etcd.endpoint, 'put', `/service/${c.scope}/members/evil`, JSON.stringify(evil)]);
    try {
      // node2 accepts unsafe calls from us (allowlist_include_members)
      const r = await post(c.member('node2'), '/switchover', { leader: leader.name, candidate: candidate.name });
      expect(r, r.text).toMatchObject({ status: 200 });
      await c.waitForPrimary(60_000, leader.name);
      const reason = 'ignoring the api_url of member evil: api_url must be http or https, not "file"';
      await waitFor(() => c.members.some((m) => m.logs().some((l) => l.msg === reason)), { timeoutMs: 10_000, message: 'the logged reason' });
    } finally {
      await execFileP('etcdctl', ['--endpoints', c.etcd.endpoint, 'del', `/service/${c.scope}/members/evil`]);
    }
  }, 120_000);
});
