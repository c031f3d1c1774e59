import type { AddressInfo } from 'node:net';
import { PgBackRest, TestCluster, waitFor, type Member } from '@keel/testkit';
import { parseAgentMessage, type TSnapshot } from '@keel/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';

/**
 * Backups on real pgBackRest (a local repository): the primary archives with archive-push, a new
 * replica is restored from the repository (not pg_basebackup), and the leader's agent reports the
 * repository's last backup (`backup:` section, `pgbackrest info` in the background) in the snapshots
 * it sends to the control plane, here a minimal in-test endpoint that accepts and acknowledges
 * everything. The same setup followed by a point-in-time bootstrap of a new cluster is
 * apps/agent/dr/pitr.dr.test.ts (npm run test:dr).
 */

/** A control plane's agent endpoint reduced to what this test reads: every member's snapshots. */
async function snapshotSink(): Promise<{ url: string; snapshots: Map<string, TSnapshot[]>; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/agents/ws' });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const snapshots = new Map<string, TSnapshot[]>();
  wss.on('connection', (ws) => {
    let member = '';
    ws.on('message', (data) => {
      const parsed = parseAgentMessage(data.toString());
      if (!parsed.ok) throw new Error(`the agent sent a message the protocol refuses: ${parsed.error}`);
      const m = parsed.message;
      if (m.type === 'hello') {
        member = m.member;
        ws.send(JSON.stringify({ type: 'welcome', v: 1, ackedSeq: 0 }));
        return;
      }
      if (m.type === 'snapshot') snapshots.set(member, [...(snapshots.get(member) ?? []), m].slice(-50));
      if ('seq' in m) ws.send(JSON.stringify({ type: 'ack', seq: m.seq }));
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    snapshots,
    close: () => {
      for (const ws of wss.clients) ws.terminate();
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}

describe('pgBackRest: archiving, replicas from the backup, the last backup reported', () => {
  let repo: PgBackRest;
  let c: TestCluster;
  let sink: Awaited<ReturnType<typeof snapshotSink>>;

  const logged = (m: Member, text: string) => m.logs().some((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes(text));
  const lastBackup = (member: string) => sink.snapshots.get(member)?.at(-1)?.backup;

  beforeAll(async () => {
    repo = PgBackRest.create('keel-backup');
    sink = await snapshotSink();
    c = await TestCluster.start({
      members: 2,
      startAgents: false,
      tweak: (config) => {
        repo.configureMember(config);
        config['controlplane'] = { url: sink.url, token: 'kt_backup_test' };
        config['backup'] = repo.backupSection(30);
      },
    });
  });
  afterAll(async () => {
    await c?.stop();
    await sink?.close();
    repo?.remove();
  });

  it('creates a new replica from the pgBackRest backup, not with pg_basebackup, and it catches up; the leader reports the backup', async () => {
    const node1 = c.member('node1');
    const node2 = c.member('node2');
    node1.start();
    await c.waitForPrimary(90_000);
    // before the stanza exists, pgbackrest info's finding is reported as an error status, not a crash
    await waitFor(() => lastBackup('node1')?.state === 'error', { timeoutMs: 60_000, message: 'node1 reports that the stanza is missing' });
    expect(lastBackup('node1')).toMatchObject({ tool: 'pgbackrest', target: 'keel-backup', message: 'missing stanza path', last: null });

    await node1.sql('CREATE TABLE dr (v text, at timestamptz DEFAULT clock_timestamp())');
    await node1.sql("INSERT INTO dr (v) VALUES ('before the backup')");
    await repo.run(node1, ['stanza-create']);
    await repo.run(node1, ['backup', '--type=full']);
    const [full] = await repo.info();
    expect(full?.type).toBe('full');
    await node1.sql("INSERT INTO dr (v) VALUES ('after the backup')");

    node2.start();
    await c.waitForReplicas(['node2'], 120_000);
    expect(logged(node2, 'replica has been created using pgbackrest')).toBe(true);
    expect(logged(node2, 'taking a base backup')).toBe(false);
    expect((await node2.sql<{ v: string }>('SELECT v FROM dr ORDER BY at')).map((r) => r.v)).toEqual(['before the backup', 'after the backup']);
    const streaming = await node1.sql<{ n: string }>("SELECT count(*)::text AS n FROM pg_stat_replication WHERE application_name = 'node2'");
    expect(streaming[0]?.n).toBe('1');

    // the leader's next check (every 30 s here) sees the backup; the replica does not check
    await waitFor(() => lastBackup('node1')?.last?.label === full?.label, { timeoutMs: 60_000, message: 'node1 reports the full backup' });
    const reported = lastBackup('node1')!;
    expect(reported).toMatchObject({ state: 'ok', message: null, count: 1, running: false, lastFull: { label: full?.label, type: 'full' } });
    expect(reported.last?.sizeBytes).toBeGreaterThan(1_000_000);
    expect(Date.now() - Date.parse(reported.last!.finishedAt)).toBeLessThan(300_000);
    expect(reported.last?.walStart).toMatch(/^[0-9A-F]{24}$/);
    expect(sink.snapshots.get('node2')?.length).toBeGreaterThan(0);
    expect(sink.snapshots.get('node2')?.every((s) => s.backup === null)).toBe(true);

    // archiving works on the primary: the WAL of the backup and after it is in the repository
    await node1.sql('SELECT pg_switch_wal()');
    await waitFor(async () => Number((await node1.sql<{ n: string }>('SELECT archived_count::text AS n FROM pg_stat_archiver'))[0]?.n) >= 2, {
      timeoutMs: 30_000,
      message: 'the primary archives WAL with pgbackrest archive-push',
    });
    expect((await node1.sql<{ n: string }>('SELECT failed_count::text AS n FROM pg_stat_archiver'))[0]?.n).toBe('0');
  });
});
