import fs from 'node:fs';
import path from 'node:path';
import { TestCluster, waitFor, type Member } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// One real cluster (etcd + 3 agents, pg_rewind on, peer proxies) for both cases, in order:
// (a) a former primary whose WAL the new leader has entirely rejoins without pg_rewind;
// (b) a former primary that wrote on while cut off from its replicas is rewound.
describe('rejoining a crashed former primary: pg_rewind only when it diverged', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start({ members: 3, scope: 'rejoin', useRewind: true, peerProxies: true });
  });
  afterAll(async () => {
    await c?.stop();
  });

  /** The agent's log lines from `since` on. */
  function logSince(m: Member, since: number): Array<Record<string, unknown>> {
    return m.logs().filter((l) => Date.parse(String(l.time)) >= since);
  }

  /** Until every replica has received all the WAL the (idle) primary has written. */
  async function caughtUp(primary: Member, replicas: Member[]): Promise<void> {
    await waitFor(
      async () => {
        const [row] = await primary.sql<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
        for (const r of replicas) {
          const [got] = await r.sql<{ ok: boolean }>('SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn AS ok', [row!.lsn]);
          if (!got?.ok) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, message: `replicas ${replicas.map((r) => r.name).join(', ')} have all of ${primary.name}'s WAL` },
    );
  }

  async function notes(m: Member): Promise<string[]> {
    return (await m.sql<{ note: string }>('SELECT note FROM t ORDER BY id')).map((r) => r.note);
  }

  async function streamingFrom(m: Member, leader: Member, since: number): Promise<void> {
    await waitFor(async () => (await m.api('/replica?replication_state=streaming').catch(() => null))?.status === 200, {
      timeoutMs: 90_000,
      message: `${m.name} streaming from ${leader.name} (log:\n${logSince(m, since).map((l) => l.msg).slice(-15).join('\n')})`,
    });
  }

  it('(a) a crashed former primary the new leader has every record of follows it without pg_rewind, data intact', async () => {
    const first = await c.waitForPrimary(90_000);
    const replicas = c.members.filter((m) => m !== first);
    await c.waitForReplicas(replicas.map((m) => m.name), 120_000);
    await first.sql('CREATE TABLE t (id int PRIMARY KEY, note text)');
    await first.sql("INSERT INTO t VALUES (1, 'before the crash')");
    await caughtUp(first, replicas);
    expect(fs.existsSync(path.join(first.dataDir, 'backup_label.old'))).toBe(false); // initdb'd, never rewound or cloned

    // kill -9 of the agent: its keel-fence shuts PostgreSQL down immediately (no shutdown checkpoint:
    // the data directory is left "in production", as by a crash) and hands the lock over at once
    await first.kill9Agent();
    const second = await c.waitForPrimary(60_000, first.name);
    await second.sql("INSERT INTO t VALUES (2, 'on the new leader')");

    const startAt = Date.now();
    first.start();
    await streamingFrom(first, second, startAt);
    const log = logSince(first, startAt);
    const check = log.find((l) => /^pg_rewind (not )?needed: /.test(String(l.msg)));
    expect(check, log.map((l) => l.msg).join('\n')).toMatchObject({ rewind: false, localState: 'in production', localTimeline: 1, leaderTimeline: 2 });
    expect(check!.localEnd).toBe(check!.switchpoint);
    expect(String(check!.msg)).toMatch(/^pg_rewind not needed: my WAL ends at \S+ on timeline 1, exactly at the point where the leader's history leaves timeline 1 for timeline 2/);
    expect(log.some((l) => l.msg === 'no rewind required')).toBe(true);
    expect(log.some((l) => l.msg === 'rewound from the leader')).toBe(false);
    // pg_rewind leaves a backup_label (renamed .old at start-up): there is none
    expect(fs.existsSync(path.join(first.dataDir, 'backup_label.old'))).toBe(false);

    await second.sql("INSERT INTO t VALUES (3, 'after the rejoin')");
    await waitFor(async () => (await notes(first).catch((): string[] => [])).length === 3, { timeoutMs: 30_000, message: `${first.name} receives rows from ${second.name}` });
    expect(await notes(first)).toEqual(['before the crash', 'on the new leader', 'after the rejoin']);
    expect((await first.api<Record<string, unknown>>('/patroni')).body).toMatchObject({ role: 'replica', timeline: 2 });
  });

  it('(b) a former primary that wrote on while cut off from its replicas is rewound: the leader\'s rows, none of its own', async () => {
    const second = await c.waitForPrimary(30_000);
    const others = c.members.filter((m) => m !== second);
    await c.waitForReplicas(others.map((m) => m.name), 60_000);

    second.partitionFromPeers(); // replication to the others stops; etcd and this test still reach it
    await second.sql("INSERT INTO t VALUES (100, 'diverged: only on the isolated primary')");
    for (const m of others) expect(await notes(m)).not.toContain('diverged: only on the isolated primary');
    await second.kill9Agent();
    const third = await c.waitForPrimary(60_000, second.name);
    await third.sql("INSERT INTO t VALUES (4, 'on the third leader')");

    second.healPeers();
    const startAt = Date.now();
    second.start();
    await streamingFrom(second, third, startAt);
    const log = logSince(second, startAt);
    const check = log.find((l) => /^pg_rewind (not )?needed: /.test(String(l.msg)));
    expect(check, log.map((l) => l.msg).join('\n')).toMatchObject({ rewind: true, localState: 'in production', localTimeline: 2, leaderTimeline: 3 });
    expect(String(check!.msg)).toMatch(/^pg_rewind needed: my WAL ends at (\S+) on timeline 2, past the point where the leader's history leaves timeline 2 for timeline 3 \(\S+\): diverged$/);
    expect(log.some((l) => l.msg === 'rewound from the leader')).toBe(true);

    await waitFor(async () => (await notes(second).catch((): string[] => [])).includes('on the third leader'), { timeoutMs: 30_000, message: `${second.name} receives rows from ${third.name}` });
    expect(await notes(second)).toEqual(['before the crash', 'on the new leader', 'after the rejoin', 'on the third leader']);
  });
});
