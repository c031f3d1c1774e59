/**
 * Real PostgreSQL: bootstrap a primary, clone a standby, promote it, rewind the old primary and
 * make it follow, pending restart, stop modes. The tests run in order and share the instances.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Postgres } from '../src/index.ts';
import { Lab, REPLICATION, REWIND, SECRETS, SUPERUSER, waitFor } from './helpers.ts';

const lab = new Lab();
let a: Postgres; // primary first, later rewound into a standby of b
let b: Postgres; // standby first, later promoted

async function tcpLogin(target: Postgres, user: { username: string; password: string }, database = 'postgres'): Promise<string> {
  const c = new pg.Client({ host: '127.0.0.1', port: target.port, user: user.username, password: user.password, database });
  await c.connect();
  try {
    const r = await c.query<{ u: string }>('SELECT current_user AS u');
    return r.rows[0]!.u;
  } finally {
    await c.end();
  }
}

async function rowOn(target: Postgres, id: number): Promise<boolean> {
  const rows = await target.query<{ id: number }>('SELECT id FROM keel_t WHERE id = $1', [id]);
  return rows.length === 1;
}

const timings: Record<string, number> = {};
async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - t0;
  }
}

beforeAll(async () => {
  a = await lab.instance('node_a');
  b = await lab.instance('node_b');
});

afterAll(async () => {
  await lab.cleanup();
  console.log('timings (ms):', JSON.stringify(timings));
});

describe('postgres lifecycle', () => {
  it('bootstraps a primary: initdb, writeConfig, start, createRoles, probe', async () => {
    expect(await a.dataDirState()).toBe('empty');
    expect(await a.controlData()).toBeNull();
    await timed('initdb', () => a.initdb([{ encoding: 'UTF8' }, 'data-checksums', { locale: 'C.UTF-8' }]));
    expect(await a.dataDirState()).toBe('initialized');
    expect((await stat(a.dataDir)).mode & 0o777).toBe(0o700);
    await a.writeConfig({ standby: null });
    // initdb's settings are kept and included
    const conf = await readFile(join(a.dataDir, 'postgresql.conf'), 'utf8');
    expect(conf).toMatch(/^# Managed by Keel/);
    expect(conf).toContain("include 'postgresql.base.conf'");
    expect(await readFile(join(a.dataDir, 'postgresql.base.conf'), 'utf8')).toContain('lc_messages');
    expect((await stat(join(a.dataDir, 'postgresql.conf'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(a.dataDir, '..', 'pgpass'))).mode & 0o777).toBe(0o600);

    const cdStopped = await a.controlData();
    expect(cdStopped?.state).toBe('shut down');
    expect(cdStopped?.dataChecksumVersion).toBe(1);
    expect(await a.isRunning()).toBe(false);
    const down = await a.probe();
    expect(down.running).toBe(false);
    expect(down.error).toBeTruthy();

    await timed('start primary', () => a.start({ timeoutSec: 60, wait: true }));
    expect(await a.isRunning()).toBe(true);
    expect(await a.postmasterPid()).toBeGreaterThan(0);
    await a.createRoles();
    await a.createRoles(); // idempotent

    const p = await a.probe();
    expect(p.error).toBeUndefined();
    expect(p.running).toBe(true);
    expect(p.role).toBe('primary');
    expect(p.timeline).toBe(1);
    expect(p.lsn).toBeGreaterThan(0);
    expect(p.serverVersion).toBeGreaterThanOrEqual(150000);
    expect(p.postmasterStartTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    expect(p.pendingRestart).toEqual([]);
    expect(p.streaming).toBe(false);
    const cd = await a.controlData();
    expect(cd?.state).toBe('in production');
    expect(p.sysid).toBe(cd?.sysid);
    expect(cd?.sysid).toMatch(/^\d+$/);

    // the passwords work over TCP (md5 method, SCRAM verifiers computed by Keel)
    expect(await tcpLogin(a, SUPERUSER)).toBe(SUPERUSER.username);
    expect(await tcpLogin(a, REWIND)).toBe(REWIND.username);
    const roles = await a.query<{ rolname: string; rolreplication: boolean; pw: string }>(
      "SELECT rolname, rolreplication, rolpassword AS pw FROM pg_authid WHERE rolname IN ('replicator', 'rewinder') ORDER BY 1",
    );
    expect(roles.map((r) => [r.rolname, r.rolreplication])).toEqual([
      ['replicator', true],
      ['rewinder', false],
    ]);
    expect(roles.every((r) => r.pw.startsWith('SCRAM-SHA-256$4096:'))).toBe(true);
    const grants = await a.query<{ ok: boolean }>(
      "SELECT has_function_privilege('rewinder', 'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)', 'EXECUTE') AS ok",
    );
    expect(grants[0]!.ok).toBe(true);

    await a.query('CREATE TABLE keel_t (id int PRIMARY KEY, note text)');
    await a.query("INSERT INTO keel_t VALUES (1, 'before clone')");
  });

  it('clones a standby with pg_basebackup that streams from the primary', async () => {
    await a.syncSlots({ create: ['node_b'], drop: [] });
    expect((await a.probe()).slots).toEqual(['node_b']);
    const progress: number[] = [];
    await timed('basebackup', () => b.basebackup({ host: '127.0.0.1', port: a.port }, { onProgress: (pr) => progress.push(pr.percent) }));
    expect(progress.length).toBeGreaterThan(0);
    expect(await b.dataDirState()).toBe('initialized');
    expect((await stat(b.dataDir)).mode & 0o777).toBe(0o700);
    await b.writeConfig({ standby: { primaryConninfo: { host: '127.0.0.1', port: a.port }, slotName: 'node_b' } });
    const conf = await readFile(join(b.dataDir, 'postgresql.conf'), 'utf8');
    expect(conf).toContain(`port = '${b.port}'`);
    expect(conf).toMatch(/primary_conninfo = 'user=replicator passfile=\S+ host=127\.0\.0\.1 port=\d+ sslmode=prefer application_name=node_b/);
    expect(conf).toContain("primary_slot_name = 'node_b'");
    expect(conf).toContain("recovery_target_timeline = 'latest'");
    await stat(join(b.dataDir, 'standby.signal'));

    await timed('start standby', () => b.start({ timeoutSec: 60, wait: true }));
    const p = await waitFor('b to stream from a', async () => {
      const pr = await b.probe();
      return pr.role === 'replica' && pr.streaming ? pr : null;
    });
    expect(p.upstream).toEqual({ host: '127.0.0.1', port: a.port });
    expect(p.timeline).toBe(1);
    expect(p.sysid).toBe((await a.probe()).sysid);
    expect(p.receiveLsn).toBeGreaterThan(0);
    expect(p.replayLsn).toBeGreaterThan(0);

    const onA = await waitFor('a to list b in pg_stat_replication', async () => {
      const pr = await a.probe();
      return pr.replication.find((r) => r.application_name === 'node_b' && r.state === 'streaming');
    });
    expect(onA.usename).toBe(REPLICATION.username);
    expect(onA.client_addr).toBe('127.0.0.1');
    expect(onA.sync_state).toBe('async');
    expect((await a.probe()).slotDetails).toEqual([expect.objectContaining({ name: 'node_b', active: true })]);

    // writes on the primary arrive on the standby, and its lsn advances
    const before = p.lsn!;
    await a.query("INSERT INTO keel_t SELECT g, 'bulk' FROM generate_series(2, 1000) g");
    await waitFor('row 1000 on b', () => rowOn(b, 1000));
    const after = await b.probe();
    expect(after.lsn).toBeGreaterThan(before);
    expect(after.replayedTimestamp).toMatch(/\+00:00$/);
    expect(after.replayPaused).toBe(false);
  });

  it("reports 'shut down in recovery' for a stopped standby, and it resumes streaming", async () => {
    await timed('stop standby fast', () => b.stop('fast', 30));
    expect(await b.isRunning()).toBe(false);
    expect((await b.controlData())?.state).toBe('shut down in recovery');
    await b.start({ timeoutSec: 60, wait: true });
    await waitFor('b streaming again', async () => (await b.probe()).streaming);
  });

  it('promotes the standby to timeline 2 and reads the timeline history', async () => {
    // a stops cleanly first: b receives everything up to a's shutdown checkpoint
    await a.stop('fast', 30);
    await waitFor('b to replay what a sent', async () => (await b.probe()).lsn! >= (await a.controlData())!.checkpointLsn);
    const lsnBefore = (await b.probe()).lsn!;
    await timed('promote', () => b.promote({ timeoutSec: 60 }));
    const p = await b.probe();
    expect(p.role).toBe('primary');
    expect(p.timeline).toBe(2);
    expect((await b.controlData())?.timeline).toBe(2); // the checkpoint after promote
    const hist = await b.readTimelineHistory(2);
    expect(hist).toHaveLength(1);
    expect(hist[0]!.parentTli).toBe(1);
    expect(hist[0]!.switchpoint).toBeGreaterThanOrEqual(lsnBefore);
    expect(hist[0]!.switchpoint).toBeLessThanOrEqual(p.lsn!);
    expect(hist[0]!.reason).toBe('no recovery target specified');
    // a's WAL (read by pg_waldump) ends exactly where b's timeline 2 begins; b says so over replication
    const end = await timed('local WAL end', () => a.localWalEnd());
    expect(end).toMatchObject({ state: 'shut down', timeline: 1, lastRecord: (await a.controlData())!.checkpointLsn, history: [] });
    expect(end.end).toBe(hist[0]!.switchpoint);
    const theirs = await timed('leader timeline', () => a.leaderTimeline({ host: '127.0.0.1', port: b.port }));
    expect(theirs).toMatchObject({ sysid: end.sysid, timeline: 2, history: hist });
    // with the published timeline as a hint (one connection), and with a wrong one (falls back)
    expect(await timed('leader timeline, hinted', () => a.leaderTimeline({ host: '127.0.0.1', port: b.port }, { timelineHint: 2 }))).toEqual(theirs);
    expect(await a.leaderTimeline({ host: '127.0.0.1', port: b.port }, { timelineHint: 3 })).toEqual(theirs);
    await a.writeConfig({ standby: null });
    await a.start({ timeoutSec: 60, wait: true }); // a primary again on timeline 1, for the next test
    await expect(a.localWalEnd()).rejects.toThrow(/PostgreSQL is running/);
    expect(await b.readTimelineHistory(1)).toEqual([]);
    await expect(b.readTimelineHistory(7)).rejects.toThrow(/timeline 7/);
    await b.promote({ timeoutSec: 10 }); // already primary: no-op
    await b.query("INSERT INTO keel_t VALUES (2001, 'on b, timeline 2')");
  });

  it('rewinds the diverged old primary (after an unclean stop) and makes it follow the new primary', async () => {
    // a keeps writing on timeline 1: it diverges from b
    await a.query("INSERT INTO keel_t VALUES (3001, 'diverged on a')");
    await timed('stop primary immediate', () => a.stop('immediate', 30));
    expect((await a.controlData())?.state).toBe('in production'); // not shut down cleanly
    // pg_waldump finds a's WAL going past b's switch point: diverged
    const end = await a.localWalEnd();
    expect(end.state).toBe('in production');
    expect(end.end).toBeGreaterThan((await b.readTimelineHistory(2))[0]!.switchpoint);

    await b.syncSlots({ create: ['node_a'], drop: [] });
    const r = await timed('rewind', () => a.rewind({ host: '127.0.0.1', port: b.port }));
    expect(r.rewound).toBe(true);
    expect(r.output).toMatch(/Done!/);
    // our configuration files survived pg_rewind's copy of the source's
    expect(await readFile(join(a.dataDir, 'postgresql.conf'), 'utf8')).toContain(`port = '${a.port}'`);

    await a.writeConfig({ standby: { primaryConninfo: { host: '127.0.0.1', port: b.port }, slotName: 'node_a' } });
    await timed('start rewound standby', () => a.start({ timeoutSec: 60, wait: true }));
    const p = await waitFor('a to stream from b', async () => {
      const pr = await a.probe();
      return pr.role === 'replica' && pr.streaming ? pr : null;
    });
    expect(p.timeline).toBe(2);
    expect(p.upstream?.port).toBe(b.port);
    expect(await rowOn(a, 2001)).toBe(true);
    expect(await rowOn(a, 3001)).toBe(false); // the diverged write is gone
    await b.query("INSERT INTO keel_t VALUES (2002, 'after rewind')");
    await waitFor('row 2002 on a', () => rowOn(a, 2002));
    expect((await b.probe()).replication.map((x) => x.application_name)).toEqual(['node_a']);
  });

  it('says "no rewind required" when nothing diverged', async () => {
    await a.stop('fast', 30);
    expect((await a.controlData())?.state).toBe('shut down in recovery');
    const r = await a.rewind({ host: '127.0.0.1', port: b.port });
    expect(r.rewound).toBe(false);
    await a.writeConfig({ standby: { primaryConninfo: { host: '127.0.0.1', port: b.port }, slotName: 'node_a' } });
    await a.start({ timeoutSec: 60, wait: true });
    await waitFor('a streaming again', async () => (await a.probe()).streaming);
  });

  it('keeps active slots and drops inactive ones', async () => {
    await waitFor('slot node_a active', async () => (await b.probe()).slotDetails.find((s) => s.name === 'node_a' && s.active));
    // pg_basebackup does not copy slots: b has only the one made for a
    expect((await b.probe()).slots).toEqual(['node_a']);
    const created = await b.syncSlots({ create: ['spare', 'node_a'], drop: [] });
    expect(created.created).toEqual(['spare']);
    expect((await b.probe()).slots).toEqual(['node_a', 'spare']);
    const res = await b.syncSlots({ create: [], drop: ['node_a', 'spare', 'missing'] });
    expect(res.dropped).toEqual(['spare']);
    expect(res.kept).toEqual(['node_a']);
    expect((await b.probe()).slots).toEqual(['node_a']);
    await expect(b.syncSlots({ create: ['Bad-Name'], drop: [] })).rejects.toThrow(/slot name/);
  });

  it('detects a pending restart (shared_buffers) with old and new values, cleared by a restart', async () => {
    await b.writeConfig({ standby: null, parameters: { ...b.getParameters(), shared_buffers: '48MB', work_mem: '5MB' } });
    await b.reload();
    const p = await waitFor('pending restart on b', async () => {
      const pr = await b.probe();
      return pr.pendingRestart.length ? pr : null;
    });
    expect(p.pendingRestart).toEqual([{ name: 'shared_buffers', old_value: '32MB', new_value: '48MB' }]);
    expect((await b.query<{ v: string }>("SELECT current_setting('work_mem') AS v"))[0]!.v).toBe('5MB'); // reloadable: applied
    await timed('restart primary', () => b.restart({ mode: 'fast', timeoutSec: 60 }));
    const after = await b.probe();
    expect(after.pendingRestart).toEqual([]);
    expect((await b.query<{ v: string }>("SELECT current_setting('shared_buffers') AS v"))[0]!.v).toBe('48MB');
    await waitFor('a streaming after b restarted', async () => (await a.probe()).streaming, 60_000);
  });

  it('stops in smart, fast and immediate modes; stop when stopped is a no-op', async () => {
    await timed('stop standby smart', () => a.stop('smart', 30));
    expect(await a.isRunning()).toBe(false);
    expect((await a.controlData())?.state).toBe('shut down in recovery');
    await a.stop('fast', 5); // no-op
    const probe = await a.probe();
    expect(probe.running).toBe(false);
    expect(probe.postmasterRunning).toBe(false);

    await timed('stop primary fast', () => b.stop('fast', 30));
    expect((await b.controlData())?.state).toBe('shut down');
    await b.start({ timeoutSec: 60, wait: true });
    await timed('stop primary immediate', () => b.stop('immediate', 30));
    expect((await b.controlData())?.state).toBe('in production');
    await timed('start after crash', () => b.start({ timeoutSec: 60, wait: true })); // crash recovery
    expect((await b.probe()).role).toBe('primary');
    expect((await b.controlData())?.timeline).toBe(2); // same timeline after crash recovery
    await expect(b.start({ timeoutSec: 5, wait: true })).rejects.toThrow(/already running/);
    await expect(b.removeDataDir()).rejects.toThrow(/running/);
  });

  it('never writes a secret to the server logs or to its own messages', async () => {
    for (const pgi of [a, b]) {
      const log = await readFile(pgi.logFile, 'utf8');
      for (const s of SECRETS) expect(log).not.toContain(s);
    }
    const msgs = lab.messages.join('\n');
    for (const s of SECRETS) expect(msgs).not.toContain(s);
  });
});
