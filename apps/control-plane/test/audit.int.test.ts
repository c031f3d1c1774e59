/**
 * The audit log's tamper evidence on a real database with the two roles (README, "Database
 * roles"): a normal history verifies; a row changed directly by the owner role (which has to
 * disable the append-only trigger to do it; the application's role cannot at all) is named; deleting
 * the newest entries is detected by the signed digest; a forged digest is detected; the export is
 * JSON lines with the chain fields.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateControlPlaneDb, startControlPlaneDb, type ControlPlaneDb } from '@keel/testkit';
import { createDb, type TDb } from '../server/db.ts';
import { CLI_ACTOR, type TActor } from '../server/lib/actor.ts';
import { digestKey } from '../server/lib/audit-hash.ts';
import { appendAudit, byActor } from '../server/services/append-audit.ts';
import { exportAudit, listAudit } from '../server/services/list-audit.ts';
import { signAuditDigest } from '../server/services/sign-audit-digest.ts';
import { verifyAudit } from '../server/services/verify-audit.ts';

let db: ControlPlaneDb;
let prisma: TDb;
let owner: pg.Client;
const key = digestKey('k'.repeat(40), 'unused');
const admin: TActor = { userId: 'u-admin', email: 'admin@keel.test', role: 'admin', channel: 'session', address: '10.0.0.1' };

async function entries(n: number, cluster: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    await appendAudit(prisma, byActor({ actorId: 'u1', actor: 'ops@keel.test', channel: 'api_token', address: '10.0.0.2' }, { action: 'operation.request', target: `operation:${cluster}-${i}`, cluster, outcome: 'ok', details: { i, reason: 'patching' } }));
  }
}

/** The owner role can change rows only by switching the trigger off: what an intruder with that role would do. */
async function asOwnerWithoutTrigger(sql: string, params: unknown[] = []): Promise<void> {
  await owner.query('BEGIN');
  await owner.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
  await owner.query(sql, params);
  await owner.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
  await owner.query('COMMIT');
}

beforeAll(async () => {
  db = await startControlPlaneDb();
  await migrateControlPlaneDb(db.databaseUrl);
  prisma = createDb(db.databaseUrl);
  owner = new pg.Client({ connectionString: db.ownerUrl });
  await owner.connect();
}, 120_000);

afterAll(async () => {
  await owner?.end();
  await prisma?.$disconnect();
  await db?.stop();
});

describe('audit verify', () => {
  it('passes on a normal history with signed digests', async () => {
    await entries(5, 'alpha');
    expect(await signAuditDigest(prisma, key)).toMatchObject({ entries: '5' });
    expect(await signAuditDigest(prisma, key)).toBeNull(); // nothing new: no digest
    await entries(3, 'beta');
    expect(await signAuditDigest(prisma, key)).toMatchObject({ entries: '8' });
    expect(await verifyAudit(prisma, key)).toEqual({ ok: true, entries: 8, digests: 2 });
  });

  it('the application role cannot change or delete entries, nor switch the trigger off', async () => {
    const app = new pg.Client({ connectionString: db.databaseUrl });
    await app.connect();
    try {
      await expect(app.query("UPDATE audit_log SET actor = 'nobody'")).rejects.toThrow(/permission denied/);
      await expect(app.query('DELETE FROM audit_digests')).rejects.toThrow(/permission denied/);
      await expect(app.query('ALTER TABLE audit_log DISABLE TRIGGER ALL')).rejects.toThrow(/must be owner/);
    } finally {
      await app.end();
    }
  });

  it('names the entry changed directly in the database', async () => {
    const victim = await owner.query<{ id: string }>("SELECT id::text FROM audit_log WHERE target = 'operation:alpha-2'");
    const id = victim.rows[0]!.id;
    await asOwnerWithoutTrigger(`UPDATE audit_log SET details = jsonb_set(details, '{reason}', '"nothing to see"') WHERE id = $1`, [id]);
    const v = await verifyAudit(prisma, key);
    expect(v).toMatchObject({ ok: false, firstBrokenId: id });
    if (!v.ok) expect(v.reason).toBe(`entry ${id}: its content does not match its hash (it was changed)`);
    // put it back for the next test (the hash chain holds again)
    await asOwnerWithoutTrigger(`UPDATE audit_log SET details = jsonb_set(details, '{reason}', '"patching"') WHERE id = $1`, [id]);
    expect((await verifyAudit(prisma, key)).ok).toBe(true);
  });

  it('detects deleted newest entries (the chain alone cannot) through the signed digest', async () => {
    const newest = await owner.query<{ id: string }>('SELECT id::text FROM audit_log ORDER BY id DESC LIMIT 2');
    await asOwnerWithoutTrigger('DELETE FROM audit_log WHERE id = ANY($1::bigint[])', [newest.rows.map((r) => r.id)]);
    const v = await verifyAudit(prisma, key);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(new RegExp(`signed entry ${newest.rows[0]!.id}, which is missing: the newest entries .* were deleted; the log now ends at \\d+ with 6 entries`));
  });

  it('detects a digest not signed with the key', async () => {
    const other = digestKey('o'.repeat(40), 'unused');
    const v = await verifyAudit(prisma, other);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/digest \d+: the signature does not match/);
  });

  it('lists with filters and exports JSON lines with the chain fields (admins only)', async () => {
    await appendAudit(prisma, byActor(CLI_ACTOR, { action: 'agent_token.create', target: 'cluster:gamma', cluster: 'gamma', outcome: 'ok' }));
    const beta = await listAudit(prisma, admin, { cluster: 'beta' });
    expect(beta.map((e) => e.target)).toEqual(['operation:beta-0']); // beta-1 and beta-2 were deleted above
    expect(beta[0]).toMatchObject({ actor: 'ops@keel.test', channel: 'api_token', address: '10.0.0.2', outcome: 'ok', action: 'operation.request' });
    expect((await listAudit(prisma, admin, { actions: ['agent_token.create'] })).map((e) => e.actor)).toEqual(['cli']);
    const lines: string[] = [];
    for await (const l of exportAudit(prisma, admin, { cluster: 'alpha' })) lines.push(l);
    expect(lines).toHaveLength(5);
    expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
    expect(JSON.parse(lines[0]!)).toMatchObject({ cluster: 'alpha', action: 'operation.request', prevHash: expect.stringMatching(/^[0-9a-f]{64}$/), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await expect(listAudit(prisma, { ...admin, role: 'approver' }, {})).rejects.toThrow(/needs the admin role/);
  });
});
