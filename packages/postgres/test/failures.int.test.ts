/**
 * Real PostgreSQL: failure paths (clear errors with the log/stderr tail, nothing half-done left
 * behind), TCP-only probing, stop escalation when the server hangs.
 */
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Postgres } from '../src/index.ts';
import { Lab, SECRETS, freePort, waitFor } from './helpers.ts';

const lab = new Lab();
let c: Postgres; // TCP only (no socket directory)

function noSecrets(message: string): void {
  for (const s of SECRETS) expect(message).not.toContain(s);
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  c = await lab.instance('node_c', { socketDir: undefined });
});

afterAll(async () => {
  await lab.cleanup();
});

describe('postgres failure paths', () => {
  it('refuses a non-empty data directory without PG_VERSION', async () => {
    const x = await lab.instance('junk');
    await mkdir(x.dataDir, { recursive: true });
    await writeFile(join(x.dataDir, 'some-file'), 'x');
    await expect(x.dataDirState()).rejects.toThrow(/not empty but has no PG_VERSION.*some-file/);
    await expect(x.initdb([])).rejects.toThrow(/no PG_VERSION/);
    await x.removeDataDir();
    expect(await x.dataDirState()).toBe('empty');
    expect((await stat(x.dataDir)).mode & 0o777).toBe(0o700);
    // hidden files and lost+found do not count
    await mkdir(join(x.dataDir, 'lost+found'));
    await writeFile(join(x.dataDir, '.keep'), '');
    expect(await x.dataDirState()).toBe('empty');
  });

  it('rejects initdb options Keel sets itself, and reports initdb failures with its stderr', async () => {
    await expect(c.initdb(['pgdata'])).rejects.toThrow(/--pgdata is set by Keel/);
    await expect(c.initdb([{ username: 'x' }])).rejects.toThrow(/--username/);
    const e = await errorOf(c.initdb([{ encoding: 'NO_SUCH_ENCODING' }]));
    expect(e.message).toMatch(/^initdb failed \(exit 1\): /);
    expect(e.message).toMatch(/NO_SUCH_ENCODING/);
    noSecrets(e.message);
    expect(await c.dataDirState()).toBe('empty'); // nothing half-done left behind
  });

  it('bootstraps without a socket directory and probes over TCP with the password', async () => {
    await c.initdb([{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }]);
    const cd = await c.controlData();
    expect(cd?.dataChecksumVersion).toBe(0);
    await c.writeConfig({ standby: null });
    expect(await readFile(join(c.dataDir, 'postgresql.conf'), 'utf8')).not.toContain('unix_socket_directories');
    await c.start({ timeoutSec: 60, wait: false }); // returns at once
    const p = await waitFor('c to accept connections', async () => {
      const pr = await c.probe();
      return pr.running ? pr : null;
    });
    expect(p.role).toBe('primary');
    await c.createRoles(); // sets the superuser's password (trust over the socket does not apply here)
    await c.close();
    const again = await c.probe(); // a new connection, password authentication over TCP
    expect(again.error).toBeUndefined();
    expect(again.role).toBe('primary');
    // pg_stat_archiver in the same round trip (archive_mode is off here)
    expect(again.archiver).toEqual({
      archiveMode: 'off',
      archivedCount: 0,
      lastArchivedWal: null,
      lastArchivedAt: null,
      failedCount: 0,
      lastFailedWal: null,
      lastFailedAt: null,
    });
  });

  it('fails to start with a bad setting and shows the server log tail', async () => {
    await c.stop('fast', 30);
    await c.writeConfig({ standby: null, parameters: { ...c.getParameters(), shared_buffers: 'lots' } });
    const e = await errorOf(c.start({ timeoutSec: 20, wait: true }));
    expect(e.message).toMatch(/PostgreSQL failed to start/);
    expect(e.message).toMatch(/--- log ---[\s\S]*shared_buffers/);
    noSecrets(e.message);
    expect(await c.isRunning()).toBe(false);
    const { shared_buffers: _drop, ...rest } = c.getParameters();
    await c.writeConfig({ standby: null, parameters: { ...rest, shared_buffers: '32MB' } });
    await c.start({ timeoutSec: 60, wait: true });
    expect((await c.probe()).running).toBe(true);
  });

  it('cleans up after a failed pg_basebackup and reports its stderr', async () => {
    const d = await lab.instance('node_d');
    const closed = await freePort();
    const e = await errorOf(d.basebackup({ host: '127.0.0.1', port: closed }));
    expect(e.message).toMatch(new RegExp(`pg_basebackup from 127\\.0\\.0\\.1:${closed} failed \\(exit 1\\): .*(connect|Connection refused)`, 's'));
    noSecrets(e.message);
    expect(await d.dataDirState()).toBe('empty');
    // wrong password: the replication user is rejected by the server
    const wrong = await lab.instance('node_e', { replication: { username: 'replicator', password: 'not-the-password' } });
    const e2 = await errorOf(wrong.basebackup({ host: '127.0.0.1', port: c.port }));
    expect(e2.message).toMatch(/password authentication failed|no pg_hba.conf entry/);
    expect(e2.message).not.toContain('not-the-password');
    expect(await readdir(wrong.dataDir)).toEqual([]);
  });

  it('reports a failed pg_rewind and keeps the target configuration', async () => {
    await c.stop('fast', 30);
    const before = await readFile(join(c.dataDir, 'postgresql.conf'), 'utf8');
    const e = await errorOf(c.rewind({ host: '127.0.0.1', port: await freePort() }));
    expect(e.message).toMatch(/^pg_rewind from 127\.0\.0\.1:\d+ failed \(exit 1\): /);
    expect(e.message).toMatch(/connection/i);
    noSecrets(e.message);
    expect(await readFile(join(c.dataDir, 'postgresql.conf'), 'utf8')).toBe(before);
    await expect(c.promote({ timeoutSec: 5 })).rejects.toThrow(/not running/);
  });

  it('escalates a hanging fast stop to immediate and starts again', async () => {
    await c.start({ timeoutSec: 60, wait: true });
    const [cp] = await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
    expect(cp?.pid).toBeGreaterThan(0);
    process.kill(cp!.pid, 'SIGSTOP'); // the shutdown checkpoint can never finish
    const t0 = Date.now();
    await c.stop('fast', 2);
    const took = Date.now() - t0;
    expect(await c.isRunning()).toBe(false);
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(lab.messages.filter((m) => m.startsWith('node_c')).slice(-1)[0]).toMatch(/stopping in immediate mode/);
    await waitFor('the frozen checkpointer to be gone', async () => {
      try {
        process.kill(cp!.pid, 0);
        const st = await readFile(`/proc/${cp!.pid}/stat`, 'utf8').catch(() => '');
        return st.includes(') Z');
      } catch {
        return true;
      }
    });
    await c.start({ timeoutSec: 60, wait: true }); // crash recovery
    expect((await c.probe()).role).toBe('primary');
  });

  it('kills a frozen postmaster and its children when even an immediate stop hangs', async () => {
    const pid = (await c.postmasterPid())!;
    const children = (await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()')).map((r) => r.pid);
    expect(children.length).toBeGreaterThan(0);
    await c.close();
    process.kill(pid, 'SIGSTOP'); // ignores SIGINT (fast) and SIGQUIT (immediate) until killed
    await c.stop('fast', 1);
    expect(await c.isRunning()).toBe(false);
    expect(lab.messages.filter((m) => m.startsWith('node_c')).slice(-1)[0]).toMatch(/killing PostgreSQL/);
    await waitFor('the children to be gone', async () => {
      for (const child of children) {
        const st = await readFile(`/proc/${child}/stat`, 'utf8').catch(() => '');
        if (st && !st.includes(') Z')) return false;
      }
      return true;
    });
    await c.start({ timeoutSec: 60, wait: true }); // crash recovery, despite the stale postmaster.pid
    expect((await c.probe()).role).toBe('primary');
  });

  it('writes pgpass as 0600, owned by the PostgreSQL user, each line naming its host, port, database and user (no wildcard)', async () => {
    // which lines a replica or a rewind writes, and their escaping: conf.test.ts
    const text = await readFile(join(c.dataDir, '..', 'pgpass'), 'utf8');
    for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
      const fields = line.split(/(?<!\\):/);
      expect(fields.length, line).toBe(5);
      expect(fields.slice(0, 4).filter((f) => f === '*' || f === ''), line).toEqual([]);
    }
    const st = await stat(join(c.dataDir, '..', 'pgpass'));
    expect(st.mode & 0o777).toBe(0o600);
    if (lab.runAs) expect(st.uid).toBe(lab.runAs.uid);
    // the log file is owned by the PostgreSQL user too
    if (lab.runAs) expect((await stat(c.logFile)).uid).toBe(lab.runAs.uid);
  });
});
