/**
 * The last backup as the agent reads it: real output of Debian's pgBackRest 2.45 and Barman 3.4
 * (test/fixtures/backup/, captured from a local repository and a local barman home), the `backup:`
 * section, and the background poller's schedule.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ZBackupStatus } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { parseBarmanList, withBarmanDetails } from '../src/backup-status/barman.ts';
import { parsePgBackRestInfo } from '../src/backup-status/pgbackrest.ts';
import { BackupStatusPoller, checkBackups, RUNNING_RECHECK_SECONDS, type ToolRunner } from '../src/backup-status/poller.ts';
import type { ToolOutput } from '../src/backup-status/common.ts';
import { ConfigError, parseConfig, type BackupCheckConfig } from '../src/config.ts';
import { minimal } from './minimal-config.ts';

const fixture = (name: string) => fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'backup', name), 'utf8');
const ok = (stdout: string): ToolOutput => ({ code: 0, signal: null, stdout, stderr: '', timedOut: false });
const AT = '2026-12-04T06:00:00.000Z';

describe('pgbackrest info --output=json (2.45)', () => {
  it('reads the newest backup (an incr), the newest full, the count, the WAL range and the lock', () => {
    const s = parsePgBackRestInfo('main', ok(fixture('pgbackrest-2.45-info-full-diff-incr.json')), AT);
    expect(ZBackupStatus.parse(s)).toEqual(s);
    expect(s).toMatchObject({ tool: 'pgbackrest', target: 'main', checkedAt: AT, state: 'ok', message: null, count: 3, running: false });
    expect(s.last).toEqual({
      label: '20261204-054009F_20261204-054015I',
      type: 'incr',
      startedAt: '2026-12-04T05:40:15.000Z',
      finishedAt: '2026-12-04T05:40:16.000Z',
      sizeBytes: 23746247,
      repoBytes: 1343754,
      walStart: '000000010000000000000006',
      walStop: '000000010000000000000006',
    });
    expect(s.lastFull).toMatchObject({ label: '20261204-054009F', type: 'full', finishedAt: '2026-12-04T05:40:12.000Z', sizeBytes: 22992583 });
    expect(s.walArchive).toEqual({ min: '000000010000000000000001', max: '000000010000000000000006' });
  });

  it('says no_backups for a stanza without backups (status code 2)', () => {
    const s = parsePgBackRestInfo('main', ok(fixture('pgbackrest-2.45-info-no-backups.json')), AT);
    expect(s).toMatchObject({ state: 'no_backups', message: 'no valid backups', last: null, lastFull: null, count: 0, walArchive: { min: null, max: null } });
  });

  it('reports a missing stanza and a repository it cannot read as errors with pgBackRest\'s words (it exits 0)', () => {
    expect(parsePgBackRestInfo('main', ok(fixture('pgbackrest-2.45-info-missing-stanza.json')), AT)).toMatchObject({ state: 'error', message: 'missing stanza path' });
    const denied = parsePgBackRestInfo('main', ok(fixture('pgbackrest-2.45-info-permission-denied.json')), AT);
    expect(denied.state).toBe('error');
    expect(denied.message).toBe("other; repo1: [PathOpenError] unable to list file info for path '/root/x/backup': [13] Permission denied");
  });

  it('reports a failed run, a timeout, garbage and another stanza as errors, never throwing', () => {
    const failed = parsePgBackRestInfo('main', { code: 55, stdout: '', stderr: "ERROR: [055]: unable to open missing file '/etc/nope.conf' for read\n" }, AT);
    expect(failed).toMatchObject({ state: 'error', message: "pgbackrest info exited with code 55: ERROR: [055]: unable to open missing file '/etc/nope.conf' for read", last: null });
    expect(parsePgBackRestInfo('main', { code: null, signal: 'SIGKILL', stdout: '', stderr: '', timedOut: true }, AT).message).toBe('pgbackrest info timed out');
    expect(parsePgBackRestInfo('main', ok('WARN: something\n'), AT).message).toMatch(/^pgbackrest info printed something that is not JSON/);
    expect(parsePgBackRestInfo('main', ok('{"a": 1}'), AT).message).toMatch(/unexpected shape/);
    expect(parsePgBackRestInfo('other', ok(fixture('pgbackrest-2.45-info-full-diff-incr.json')), AT)).toMatchObject({ state: 'error', message: 'pgbackrest info does not list the stanza other' });
  });
});

describe('barman -f json list-backups / show-backup (3.4)', () => {
  it('reads the newest DONE backup, then its WAL range, start and data size from show-backup', () => {
    const listed = parseBarmanList('keel', ok(fixture('barman-3.4-list-backups.json')), AT);
    expect(listed).toMatchObject({ tool: 'barman', target: 'keel', state: 'ok', count: 1, running: false, walArchive: null });
    expect(listed.last).toMatchObject({ label: '20261204T054039', type: 'full', finishedAt: '2026-12-04T05:40:41.000Z', repoBytes: 40661319, walStart: null });
    const s = withBarmanDetails(listed, ok(fixture('barman-3.4-show-backup.json')));
    expect(ZBackupStatus.parse(s)).toEqual(s);
    expect(s.last).toEqual({
      label: '20261204T054039',
      type: 'full',
      startedAt: '2026-12-04T05:40:39.000Z',
      finishedAt: '2026-12-04T05:40:41.000Z',
      sizeBytes: 23884103,
      repoBytes: 40661319,
      walStart: '000000010000000000000009',
      walStop: '000000010000000000000009',
    });
    expect(s.lastFull).toEqual(s.last);
  });

  it('says no_backups for an empty server and reports Barman\'s _ERROR (exit 1)', () => {
    expect(parseBarmanList('keel', ok(fixture('barman-3.4-list-backups-empty.json')), AT)).toMatchObject({ state: 'no_backups', last: null, count: 0 });
    const unknown = parseBarmanList('nope', { code: 1, stdout: fixture('barman-3.4-list-backups-unknown-server.json'), stderr: '' }, AT);
    expect(unknown).toMatchObject({ state: 'error', message: "barman list-backups: Unknown server 'nope'" });
  });

  it('a FAILED backup newer than the last DONE one is an error that still shows the last usable backup; STARTED is running', () => {
    const list = JSON.parse(fixture('barman-3.4-list-backups.json')) as { keel: Array<Record<string, unknown>> };
    const done = list.keel[0]!;
    const more = { keel: [{ ...done, backup_id: '20261205T010000', status: 'STARTED' }, { ...done, backup_id: '20261204T230000', status: 'FAILED' }, done] };
    const s = parseBarmanList('keel', ok(JSON.stringify(more)), AT);
    expect(s).toMatchObject({ state: 'error', message: 'backup 20261204T230000 FAILED', count: 1, running: true });
    expect(s.last?.label).toBe('20261204T054039');
  });

  it('keeps the listing when show-backup fails, and says why', () => {
    const listed = parseBarmanList('keel', ok(fixture('barman-3.4-list-backups.json')), AT);
    const s = withBarmanDetails(listed, { code: 1, stdout: '{"_ERROR": ["Unknown backup \'20261204T054039\' for server \'keel\'"]}', stderr: '' });
    expect(s).toMatchObject({ state: 'ok', message: "Unknown backup '20261204T054039' for server 'keel'" });
    expect(s.last?.walStart).toBeNull();
  });
});

const PG = { tool: 'pgbackrest', target: 'main', argv: ['pgbackrest', '--config=/etc/pb.conf'], interval: 300, timeout: 60 } satisfies BackupCheckConfig;

describe('checkBackups', () => {
  it('runs the configured command with the listing arguments and the timeout', async () => {
    const calls: Array<{ argv: readonly string[]; timeoutMs: number }> = [];
    const run: ToolRunner = async (argv, timeoutMs) => {
      calls.push({ argv, timeoutMs });
      return ok(fixture('pgbackrest-2.45-info-full-diff-incr.json'));
    };
    const s = await checkBackups(PG, run, () => Date.parse(AT));
    expect(calls).toEqual([{ argv: ['pgbackrest', '--config=/etc/pb.conf', '--stanza=main', 'info', '--output=json'], timeoutMs: 60_000 }]);
    expect(s.state).toBe('ok');
  });

  it('Barman: list-backups, then show-backup of the newest backup', async () => {
    const calls: string[] = [];
    const run: ToolRunner = async (argv) => {
      calls.push(argv.join(' '));
      return ok(fixture(argv.includes('list-backups') ? 'barman-3.4-list-backups.json' : 'barman-3.4-show-backup.json'));
    };
    const s = await checkBackups({ tool: 'barman', target: 'keel', argv: ['barman', '-c', '/etc/barman.conf'], interval: 300, timeout: 60 }, run);
    expect(calls).toEqual(['barman -c /etc/barman.conf -f json list-backups keel', 'barman -c /etc/barman.conf -f json show-backup keel 20261204T054039']);
    expect(s.last?.walStop).toBe('000000010000000000000009');
  });

  it('a tool that cannot be started is an error status', async () => {
    const s = await checkBackups(PG, () => Promise.reject(new Error('cannot run pgbackrest: spawn pgbackrest ENOENT')));
    expect(s).toMatchObject({ state: 'error', message: 'cannot run pgbackrest: spawn pgbackrest ENOENT', last: null });
  });
});

describe('BackupStatusPoller', () => {
  const quiet = { info: () => undefined, warn: () => undefined };
  function setup(stdout: () => string) {
    let now = Date.parse(AT);
    let runs = 0;
    let release: (() => void) | null = null;
    let hold = false;
    const run: ToolRunner = () => {
      runs++;
      if (!hold) return Promise.resolve(ok(stdout()));
      return new Promise((resolve) => (release = () => resolve(ok(stdout()))));
    };
    const poller = new BackupStatusPoller(PG, run, quiet, () => now);
    return {
      poller,
      runs: () => runs,
      advance: (s: number) => (now += s * 1000),
      hold: (h: boolean) => (hold = h),
      release: () => release?.(),
    };
  }

  it('checks only while active (the running primary), at once when it becomes active, then every interval', async () => {
    const t = setup(() => fixture('pgbackrest-2.45-info-full-diff-incr.json'));
    t.poller.tick(false);
    expect(t.runs()).toBe(0);
    expect(t.poller.current()).toBeNull();
    t.poller.tick(true);
    await t.poller.settled();
    expect(t.runs()).toBe(1);
    expect(t.poller.current()?.last?.type).toBe('incr');
    t.advance(299);
    t.poller.tick(true);
    expect(t.runs()).toBe(1);
    t.advance(1);
    t.poller.tick(true);
    await t.poller.settled();
    expect(t.runs()).toBe(2);
    // demoted: nothing reported; promoted again: checked at once
    t.poller.tick(false);
    expect(t.poller.current()).toBeNull();
    t.advance(5);
    t.poller.tick(true);
    await t.poller.settled();
    expect(t.runs()).toBe(3);
  });

  it('never waits for the tool and never starts a second check while one runs', async () => {
    const t = setup(() => fixture('pgbackrest-2.45-info-full-diff-incr.json'));
    t.hold(true);
    t.poller.tick(true);
    t.advance(1000);
    t.poller.tick(true);
    t.poller.tick(true);
    expect(t.runs()).toBe(1);
    expect(t.poller.current()).toBeNull();
    t.release();
    await t.poller.settled();
    expect(t.poller.current()?.state).toBe('ok');
  });

  it('checks every 30 s while a backup runs, so its end shows soon', async () => {
    const running = fixture('pgbackrest-2.45-info-full-diff-incr.json').replace('"held":false', '"held":true');
    expect(running).toContain('"held":true');
    const t = setup(() => running);
    t.poller.tick(true);
    await t.poller.settled();
    expect(t.poller.current()?.running).toBe(true);
    t.advance(RUNNING_RECHECK_SECONDS);
    t.poller.tick(true);
    await t.poller.settled();
    expect(t.runs()).toBe(2);
  });
});


function problems(text: string): string[] {
  try {
    parseConfig(text, 'test.yml', {});
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('the backup: section', () => {
  it('reads the tool, its target, the command (shlex) and the schedule, with defaults', () => {
    const c = parseConfig(minimal("backup:\n  pgbackrest:\n    stanza: main\n    command: /usr/bin/pgbackrest --config='/etc/pg backrest.conf'\n  interval: 600\n"), 't.yml', {}).config;
    expect(c.backup).toEqual({ tool: 'pgbackrest', target: 'main', argv: ['/usr/bin/pgbackrest', '--config=/etc/pg backrest.conf'], interval: 600, timeout: 60 });
    const b = parseConfig(minimal('backup:\n  barman:\n    server: pg-main\n'), 't.yml', {}).config;
    expect(b.backup).toEqual({ tool: 'barman', target: 'pg-main', argv: ['barman'], interval: 300, timeout: 60 });
    expect(parseConfig(minimal(''), 't.yml', {}).config.backup).toBeUndefined();
  });

  it('refuses what it cannot run as meant', () => {
    expect(problems(minimal('backup:\n  interval: 60\n'))).toEqual(['backup: expected pgbackrest or barman (the tool that lists the backups)']);
    expect(problems(minimal('backup:\n  pgbackrest: {stanza: a}\n  barman: {server: b}\n'))).toEqual(['backup: set one of pgbackrest and barman, not both']);
    expect(problems(minimal('backup:\n  pgbackrest: {command: pgbackrest}\n'))).toEqual(['backup.pgbackrest.stanza: required']);
    expect(problems(minimal('backup:\n  pgbackrest: {stanza: --repo1-path=/tmp}\n'))[0]).toMatch(/^backup\.pgbackrest\.stanza: expected a name/);
    expect(problems(minimal('backup:\n  barman: {server: pg, stanza: x}\n'))).toEqual(['backup.barman.stanza: unknown key']);
    expect(problems(minimal('backup:\n  pgbackrest: {stanza: main}\n  interval: 10\n'))[0]).toMatch(/^backup\.interval: must be >= 30/);
    expect(problems(minimal('backup:\n  pgbackrest: {stanza: main}\n  interval: 60\n  timeout: 120\n'))[0]).toMatch(/^backup\.timeout: must not be longer than backup\.interval/);
    expect(problems(minimal('backup:\n  pgbackrest: {stanza: main, command: "pgbackrest \'unclosed"}\n'))[0]).toMatch(/^backup\.pgbackrest\.command: cannot be split/);
  });
});
