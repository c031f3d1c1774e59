import fs from 'node:fs';
import { Barman, TestCluster, waitFor } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBackups } from '../src/backup-status/poller.ts';

/**
 * Barman 3.4's streaming archiver across a failover: `barman receive-wal` (pg_receivewal) streams the
 * WAL through the replication slot `barman`, which Keel keeps as a permanent physical slot (`slots:`
 * in the dynamic configuration): the leader creates it, the replica creates it too and advances it to
 * the leader's published position, so after a kill -9 of the primary the new primary has the slot and
 * receive-wal resumes on it, following the timeline switch, with no WAL missing from Barman's archive.
 * Barman's connections name both members with target_session_attrs=read-write (they follow the
 * primary). The agent's Barman backup check runs against the same barman home.
 */
describe('Barman streaming archiver on a Keel permanent slot, across a failover', () => {
  let c: TestCluster;
  let barman: Barman;
  const SLOT = 'barman';

  const slotOn = async (name: string) =>
    (await c.member(name).sql<{ slot_type: string; active: boolean; restart_lsn: string | null }>('SELECT slot_type, active, restart_lsn::text FROM pg_replication_slots WHERE slot_name = $1', [SLOT]))[0];
  const walsWith = (marker: string) => barman.archivedWals().filter((f) => fs.readFileSync(f).includes(marker));

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 2,
      startAgents: false,
      tweak: (config) => {
        const dcs = (config['bootstrap'] as Record<string, Record<string, unknown>>)['dcs']!;
        dcs['slots'] = { [SLOT]: { type: 'physical' } };
      },
    });
    const [n1, n2] = [c.member('node1'), c.member('node2')];
    const hosts = `host=127.0.0.1,127.0.0.1 port=${n1.pgPort},${n2.pgPort} target_session_attrs=read-write connect_timeout=5`;
    const su = c.credentials.superuser;
    const repl = c.credentials.replication;
    barman = Barman.create('keel').configure({
      conninfo: `${hosts} user=${su.username} password=${su.password} dbname=postgres`,
      streamingConninfo: `${hosts} user=${repl.username} password=${repl.password}`,
      streamingSlot: SLOT,
    });
    n1.start();
    await c.waitForPrimary(120_000);
    n2.start();
    await c.waitForReplicas(['node2'], 180_000);
  });
  afterAll(async () => {
    await barman?.remove();
    await c?.stop();
  });

  it('receive-wal streams through the slot Keel created on the leader, and a backup is taken', async () => {
    await waitFor(async () => (await slotOn('node1'))?.slot_type === 'physical', { timeoutMs: 60_000, message: 'Keel creates the permanent slot on the leader' });
    const first = barman.receiveWal();
    await waitFor(async () => (await slotOn('node1'))?.active === true, { timeoutMs: 60_000, message: 'pg_receivewal is streaming on the slot' });
    await c.member('node1').sql('CREATE TABLE bm (v text)');
    await c.member('node1').sql("INSERT INTO bm VALUES ('row-before-failover-7f3a')");
    await barman.run(['switch-wal', '--force', '--archive', '--archive-timeout', '60', 'keel']);
    expect(walsWith('row-before-failover-7f3a').length).toBeGreaterThan(0);
    await barman.run(['backup', '--wait', 'keel'], 300_000);
    const check = JSON.parse((await barman.exec(['-f', 'json', 'check', 'keel'])).stdout) as { keel: Record<string, { status: string; hint: string }> };
    expect(check.keel['replication_slot']?.status).toBe('OK');
    expect(check.keel['receive_wal_running']?.status).toBe('OK');
    expect(first.child.exitCode).toBeNull();

    // the agent's backup check (backup: barman) on the same home: the backup just taken
    const status = await checkBackups({ tool: 'barman', target: 'keel', argv: ['/usr/bin/barman', '-c', barman.configPath], interval: 60, timeout: 60 }, (argv, timeoutMs) =>
      barman.exec(argv.slice(3), timeoutMs),
    );
    expect(status).toMatchObject({ tool: 'barman', state: 'ok', count: 1, lastFull: { type: 'full' } });
    expect(status.last?.walStart).toMatch(/^00000001/);
  });

  it('after a kill -9 of the primary, the new primary has the slot and receive-wal resumes on it without a gap', async () => {
    // the replica has the permanent slot, advanced to the leader's published position
    await waitFor(async () => (await slotOn('node2'))?.restart_lsn != null, { timeoutMs: 60_000, message: 'node2 has the barman slot with a position' });
    await c.member('node1').sql("INSERT INTO bm VALUES ('row-streamed-just-before-the-crash-91c2')");
    await waitFor(async () => (await c.member('node2').sql<{ n: string }>('SELECT count(*)::text AS n FROM bm'))[0]?.n === '2', { timeoutMs: 30_000, message: 'node2 replayed the row' });

    await c.member('node1').kill9Node();
    const newPrimary = await c.waitForPrimary(120_000, 'node1');
    expect(newPrimary.name).toBe('node2');
    await newPrimary.sql("INSERT INTO bm VALUES ('row-after-failover-c0de')");
    const slot = await slotOn('node2');
    expect(slot).toMatchObject({ slot_type: 'physical' });

    // receive-wal lost its server; what barman cron does next: start it again (the conninfo finds node2)
    const second = barman.receiveWal();
    await waitFor(async () => (await slotOn('node2'))?.active === true, { timeoutMs: 60_000, message: 'pg_receivewal streams from node2 on its barman slot' });
    await barman.run(['switch-wal', '--force', '--archive', '--archive-timeout', '90', 'keel']);
    const names = barman.archivedWals().map((f) => f.split('/').pop()!);
    expect(names.some((n) => n.startsWith('00000002'))).toBe(true);
    expect(names).toContain('00000002.history');
    // no gap: the row written just before the crash and the first row on the new timeline are in Barman's archive
    expect(walsWith('row-streamed-just-before-the-crash-91c2').length).toBeGreaterThan(0);
    expect(walsWith('row-after-failover-c0de').length).toBeGreaterThan(0);
    const check = JSON.parse((await barman.exec(['-f', 'json', 'check', 'keel'])).stdout) as { keel: Record<string, { status: string; hint: string }> };
    expect(check.keel['replication_slot']?.status).toBe('OK');
    expect(second.child.exitCode).toBeNull();
  });
});
