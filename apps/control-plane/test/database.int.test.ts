/**
 * The control plane's own database: migrations apply offline (and again as a no-op), the audit log
 * is append-only at the database level and its chain verifies, and losing the database is reported
 * (health, API, agents) without crashing, and recovered from.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { migrateControlPlaneDb, startControlPlane, startControlPlaneDb, waitFor, type ControlPlane, type ControlPlaneDb } from '@keel/testkit';
import { hello, snapshot } from './support/builders.ts';
import { FakeAgent } from './support/fake-agent.ts';
import { signIn, trpcAs } from './support/session.ts';

let db: ControlPlaneDb;
let cp: ControlPlane;
let sql: pg.Client;

beforeAll(async () => {
  db = await startControlPlaneDb();
  cp = await startControlPlane({ databaseUrl: db.databaseUrl, build: false });
  sql = new pg.Client({ connectionString: db.databaseUrl });
  sql.on('error', () => undefined); // the database is stopped on purpose in some tests
  await sql.connect();
});

afterAll(async () => {
  await sql?.end().catch(() => undefined);
  await cp?.stop();
  await db?.stop();
});

describe('migrations', () => {
  it('are applied by migrate deploy with no network, and applying them again changes nothing', async () => {
    // the migration history belongs to the owner role; the application's role cannot even read it
    await expect(sql.query('SELECT count(*) FROM _prisma_migrations')).rejects.toThrow(/permission denied/);
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    onTestFinished(() => owner.end());
    const applied = await owner.query<{ migration_name: string; finished_at: Date | null }>('SELECT migration_name, finished_at FROM _prisma_migrations');
    expect(applied.rows.length).toBeGreaterThan(0);
    expect(applied.rows.every((r) => r.finished_at !== null)).toBe(true);
    await migrateControlPlaneDb(db.databaseUrl);
    const again = await owner.query('SELECT count(*)::int AS n FROM _prisma_migrations');
    expect(again.rows[0].n).toBe(applied.rows.length);
    const tables = await sql.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    expect(tables.rows.map((r) => r.tablename)).toEqual(
      expect.arrayContaining(['users', 'sessions', 'accounts', 'agent_tokens', 'clusters', 'members', 'state_samples', 'state_sample_minutes', 'events', 'audit_log']),
    );
  });
});

describe('audit log', () => {
  it('records the CLI actions, chained, and the database refuses UPDATE, DELETE and TRUNCATE', async () => {
    await cp.createAgentToken('gamma', 'pg0');
    const rows = await sql.query<{ action: string; actor: string }>('SELECT action, actor FROM audit_log ORDER BY id');
    expect(rows.rows).toEqual(expect.arrayContaining([{ action: 'user.create', actor: 'cli' }, { action: 'agent_token.create', actor: 'cli' }]));

    // the application's role has no UPDATE/DELETE/TRUNCATE right on it at all ...
    await expect(sql.query("UPDATE audit_log SET action = 'nothing happened'")).rejects.toThrow(/permission denied for table audit_log/);
    await expect(sql.query('DELETE FROM audit_log')).rejects.toThrow(/permission denied for table audit_log/);
    await expect(sql.query('TRUNCATE audit_log')).rejects.toThrow(/permission denied for table audit_log/);
    await expect(sql.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete')).rejects.toThrow(/must be owner of table audit_log/);
    // ... and even the owner, which has them, meets the append-only triggers
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      await expect(owner.query("UPDATE audit_log SET action = 'nothing happened'")).rejects.toThrow(/audit_log is append-only: UPDATE is not allowed/);
      await expect(owner.query('DELETE FROM audit_log')).rejects.toThrow(/audit_log is append-only: DELETE is not allowed/);
      await expect(owner.query('TRUNCATE audit_log')).rejects.toThrow(/audit_log is append-only: TRUNCATE is not allowed/);
    } finally {
      await owner.end();
    }
    const after = await sql.query('SELECT count(*)::int AS n FROM audit_log');
    expect(after.rows[0].n).toBe(rows.rows.length);

    const s = await signIn(cp.url, cp.admin.email, cp.admin.password);
    expect(await trpcAs(cp.url, s.cookie).audit.verify.query()).toMatchObject({ ok: true, entries: rows.rows.length + 1 }); // + the sign-in
  });
});

describe('losing the database', () => {
  it('says so in health and the API, refuses agents with a clear error, and recovers', async () => {
    const token = await cp.createAgentToken('delta', 'pg0');
    const s = await signIn(cp.url, cp.admin.email, cp.admin.password);
    const api = trpcAs(cp.url, s.cookie);
    await sql.end();

    await db.pause();
    try {
      await waitFor(async () => (await fetch(`${cp.url}/api/health`)).status === 503, { timeoutMs: 15_000, message: '/api/health to say 503' });
      const body = (await (await fetch(`${cp.url}/api/health`)).json()) as { status: string; database: { ok: boolean; error: string } };
      expect(body.status).toBe('database_unreachable');
      expect((await api.health.status.query()).database.ok).toBe(false);
      await expect(api.clusters.list.query()).rejects.toThrow(/cannot reach its database/);

      const a = await FakeAgent.connect(cp.url);
      a.send(hello({ token, cluster: 'delta', member: 'pg0' }));
      const err = await a.error(15_000);
      expect(err.code).toBe('internal');
      expect(err.message).toMatch(/cannot reach its database/);
      await a.waitClosed();
    } finally {
      await db.resume();
    }

    await waitFor(async () => (await fetch(`${cp.url}/api/health`)).status === 200, { timeoutMs: 15_000, message: '/api/health to recover' });
    const b = await FakeAgent.connect(cp.url);
    b.send(hello({ token, cluster: 'delta', member: 'pg0' }));
    expect((await b.welcome(10_000)).ackedSeq).toBe(0);
    b.send(snapshot(1, { role: 'primary', leader: 'pg0' }));
    await b.ack(1);
    b.close();
    const list = await api.clusters.list.query();
    expect(list.find((c) => c.scope === 'delta')?.health.leader).toBe('pg0');
  });
});
