import { PgBackRest, TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Archiving keeps working across a switchover and a failover: every member has archive_command =
 * pgbackrest archive-push (from its local YAML), so whichever member leads archives into the same
 * stanza; `pgbackrest check` (a WAL switch archived end to end) passes against the new primary. A
 * reinitialized replica comes back from the repository, not from pg_basebackup.
 */
describe('pgBackRest archiving across a switchover and a failover', () => {
  let repo: PgBackRest;
  let c: TestCluster;
  let auth: Record<string, string>;

  const logCount = (m: Member, text: string) => m.logs().filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes(text)).length;
  const archiver = async (m: Member) =>
    (await m.sql<{ archived: string; failed: string; last: string | null }>('SELECT archived_count::text AS archived, failed_count::text AS failed, last_archived_wal AS last FROM pg_stat_archiver'))[0]!;
  const post = async (m: Member, p: string, body: unknown) => {
    const res = await fetch(`${m.apiUrl}${p}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(90_000) });
    return { status: res.status, text: await res.text() };
  };
  /** A WAL switch on `m` reaches the repository (pg_stat_archiver on m, and pgbackrest check). */
  const archivesOn = async (m: Member) => {
    const [{ wal } = { wal: '' }] = await m.sql<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal');
    await waitFor(async () => ((await archiver(m)).last ?? '') >= wal, { timeoutMs: 60_000, message: `${m.name} archived ${wal}` });
    expect((await archiver(m)).failed).toBe('0');
    await repo.run(m, ['check']);
  };

  beforeAll(async () => {
    repo = PgBackRest.create('keel-dr');
    c = await TestCluster.start({
      members: 3,
      startAgents: false,
      tweak: (config) => repo.configureMember(config),
    });
    auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}` };
    const node1 = c.member('node1');
    node1.start();
    await c.waitForPrimary(120_000);
    await node1.sql('CREATE TABLE dr (v text)');
    await repo.run(node1, ['stanza-create']);
    await repo.run(node1, ['backup', '--type=full']);
    c.member('node2').start();
    c.member('node3').start();
    await c.waitForReplicas(['node2', 'node3'], 180_000);
  });
  afterAll(async () => {
    await c?.stop();
    repo?.remove();
  });

  it('both replicas were restored from the repository', () => {
    for (const n of ['node2', 'node3']) {
      expect(logCount(c.member(n), 'replica has been created using pgbackrest')).toBe(1);
      expect(logCount(c.member(n), 'taking a base backup')).toBe(0);
    }
  });

  it('the new primary archives after a switchover', async () => {
    const node1 = c.member('node1');
    await archivesOn(node1);
    const r = await post(node1, '/switchover', { leader: 'node1', candidate: 'node2' });
    expect(r.status).toBe(200);
    const node2 = await c.waitForPrimary(60_000);
    expect(node2.name).toBe('node2');
    await node2.sql("INSERT INTO dr VALUES ('after the switchover')");
    await archivesOn(node2);
  });

  it('the new primary archives after a failover (kill -9 of the primary node)', async () => {
    const old = await c.waitForPrimary(30_000);
    await c.waitForReplicas(c.members.filter((m) => m !== old).map((m) => m.name), 120_000);
    await old.kill9Node();
    const next = await c.waitForPrimary(120_000, old.name);
    await next.sql("INSERT INTO dr VALUES ('after the failover')");
    await archivesOn(next);
    old.start();
  });

  it('a reinitialized replica comes back from the repository', async () => {
    const primary = await c.waitForPrimary(30_000);
    const replica = c.members.find((m) => m !== primary)!;
    await c.waitForReplicas([replica.name], 180_000);
    const before = logCount(replica, 'replica has been created using pgbackrest');
    const r = await post(replica, '/reinitialize', {});
    expect(r.status).toBe(200);
    await waitFor(async () => logCount(replica, 'replica has been created using pgbackrest') > before, { timeoutMs: 180_000, message: 'reinitialized from pgBackRest' });
    await c.waitForReplicas([replica.name], 180_000);
    expect((await replica.sql<{ v: string }>('SELECT v FROM dr ORDER BY v')).map((x) => x.v)).toEqual(['after the failover', 'after the switchover']);
  });
});
