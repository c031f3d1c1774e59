/**
 * deploy/docker/keel-cp-migrate.sh (docker-compose.yml's one-shot cp-migrate) for real, against a
 * PostgreSQL set up the way compose's cp-db is: initdb with the owner as its superuser
 * (POSTGRES_USER=keel_owner) and a `keel` database it owns. The script creates the application role,
 * migrates and grants as the owner; then the application role can read and append to the audit log
 * but not rewrite it, and passes the server's start-up role check, which the owner fails.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, postgresOsUser } from '@keel/testkit';
import { createDb } from '../../apps/control-plane/server/db.ts';
import { checkDatabaseRole } from '../../apps/control-plane/server/services/check-database-role.ts';
import { repoPath } from './files.ts';

const execFileP = promisify(execFile);
const SCRIPT = repoPath('deploy/docker/keel-cp-migrate.sh');
const OWNER = 'keel_owner';
// Characters a URL or SQL literal must escape: the script quotes and encodes them, never prints them.
const OWNER_PASSWORD = `owner%pw:@/ 'é-${Date.now()}`;
const APP_PASSWORD = `app'pw"; DROP ROLE x; --%@-${Date.now()}`;
const ROTATED_PASSWORD = `rotated-${Date.now()}-0123456789abcdef`;

let base: string;
let dataDir: string;
let port: number;
let bin: string;
const user = postgresOsUser();
const as = user ? { uid: user.uid, gid: user.gid } : {};

function pgBin(): string {
  const v = fs.readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a))[0];
  if (!v) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${v}/bin`;
}

/** Runs the script with the owner's libpq variables, as compose's cp-migrate does. */
function runScript(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PGHOST: '127.0.0.1',
        PGPORT: String(port),
        PGDATABASE: 'keel',
        PGUSER: OWNER,
        PGPASSWORD: OWNER_PASSWORD,
        KEEL_CP_DIR: repoPath('apps/control-plane'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function sql<T extends pg.QueryResultRow>(role: string, password: string, text: string): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: role, password, database: 'keel' });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  bin = pgBin();
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-cpmigrate-'));
  dataDir = path.join(base, 'data');
  const pwFile = path.join(base, 'pwfile');
  fs.writeFileSync(pwFile, `${OWNER_PASSWORD}\n`, { mode: 0o600 });
  if (user) for (const p of [base, pwFile]) fs.chownSync(p, user.uid, user.gid);
  const env = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', PGPASSWORD: undefined, PGHOST: undefined };
  await execFileP(path.join(bin, 'initdb'), ['-D', dataDir, '-U', OWNER, '--pwfile', pwFile, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale', 'C.UTF-8'], { ...as, env, cwd: '/' });
  port = await freePort();
  // Every statement logged, as a strict DBA might: the password must still stay out of the log.
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${base}'\nfsync = off\nlog_statement = 'all'\nlog_min_error_statement = error\n`,
  );
  await execFileP(path.join(bin, 'pg_ctl'), ['start', '-D', dataDir, '-l', path.join(base, 'postgres.log'), '-w', '-t', '60'], { ...as, env, cwd: '/' });
  // What the postgres image does with POSTGRES_USER=keel_owner POSTGRES_DB=keel.
  const c = new pg.Client({ host: '127.0.0.1', port, user: OWNER, password: OWNER_PASSWORD, database: 'postgres' });
  await c.connect();
  await c.query('CREATE DATABASE keel OWNER keel_owner');
  await c.end();
}, 120_000);

afterAll(async () => {
  if (dataDir) await execFileP(path.join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w'], { ...as, cwd: '/' }).catch(() => undefined);
  if (base) fs.rmSync(base, { recursive: true, force: true });
});

describe('keel-cp-migrate against a database set up like compose’s cp-db', () => {
  it('creates the application role, migrates and grants as the owner, and never shows a password', async () => {
    const r = await runScript({ CP_APP_DB_PASSWORD: APP_PASSWORD });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('role keel created');
    expect(r.out).toMatch(/granted keel/);
    const log = fs.readFileSync(path.join(base, 'postgres.log'), 'utf8');
    expect(log).toContain('statement:'); // statement logging is on ...
    for (const secret of [APP_PASSWORD, OWNER_PASSWORD, "app''pw"]) {
      expect(r.out).not.toContain(secret);
      expect(log).not.toContain(secret); // ... but not for the statement that holds the password
    }
    const roles = await sql<{ rolname: string; rolsuper: boolean; rolcreaterole: boolean }>(OWNER, OWNER_PASSWORD, "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = 'keel'");
    expect(roles).toEqual([{ rolname: 'keel', rolsuper: false, rolcreaterole: false }]);
    const owners = await sql<{ owner: string }>(OWNER, OWNER_PASSWORD, "SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'");
    expect(owners).toEqual([{ owner: OWNER }]);
  }, 180_000);

  it('the application role appends to the audit log but cannot rewrite it, and passes the server’s role check', async () => {
    const app = async (text: string) => sql(`keel`, APP_PASSWORD, text);
    expect(await app('SELECT count(*) FROM audit_log')).toHaveLength(1);
    await expect(app('UPDATE audit_log SET id = id')).rejects.toThrow(/permission denied for table audit_log/);
    await expect(app('DELETE FROM audit_log')).rejects.toThrow(/permission denied/);
    await expect(app('TRUNCATE audit_digests')).rejects.toThrow(/permission denied/);
    await expect(app('SELECT * FROM _prisma_migrations')).rejects.toThrow(/permission denied/);
    await expect(app('ALTER TABLE audit_log DISABLE TRIGGER ALL')).rejects.toThrow(/must be owner/);

    const url = (role: string, pw: string) => `postgresql://${role}:${encodeURIComponent(pw)}@127.0.0.1:${port}/keel`;
    const appDb = createDb(url('keel', APP_PASSWORD));
    const ownerDb = createDb(url(OWNER, OWNER_PASSWORD));
    try {
      await expect(checkDatabaseRole(appDb)).resolves.toBeUndefined();
      await expect(checkDatabaseRole(ownerDb)).rejects.toThrow(/refusing to start: the database role keel_owner is a superuser/);
    } finally {
      await appDb.$disconnect();
      await ownerDb.$disconnect();
    }
  }, 60_000);

  it('runs again after an upgrade: nothing to migrate, the password follows CP_APP_DB_PASSWORD', async () => {
    const r = await runScript({ CP_APP_DB_PASSWORD: ROTATED_PASSWORD });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('role keel: password set from CP_APP_DB_PASSWORD');
    expect(r.out).not.toContain(ROTATED_PASSWORD);
    expect(fs.readFileSync(path.join(base, 'postgres.log'), 'utf8')).not.toContain(ROTATED_PASSWORD);
    expect(await sql('keel', ROTATED_PASSWORD, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    await expect(sql('keel', APP_PASSWORD, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  }, 180_000);

  it('refuses an application role that is a superuser, and bad input, changing nothing', async () => {
    await sql(OWNER, OWNER_PASSWORD, 'CREATE ROLE keel_su LOGIN SUPERUSER');
    const before = await sql(OWNER, OWNER_PASSWORD, 'SELECT rolname, rolpassword IS NULL AS nopw FROM pg_authid ORDER BY rolname');
    const cases: Array<[Record<string, string>, number, RegExp]> = [
      [{ CP_APP_DB_ROLE: 'keel_su', CP_APP_DB_PASSWORD: 'x-0123456789' }, 1, /role keel_su is a superuser/],
      [{ CP_APP_DB_ROLE: OWNER, CP_APP_DB_PASSWORD: 'x-0123456789' }, 2, /must not be the owner/],
      [{ CP_APP_DB_ROLE: 'Keel"; --', CP_APP_DB_PASSWORD: 'x-0123456789' }, 2, /lower-case identifier/],
      [{}, 2, /CP_APP_DB_PASSWORD is not set/],
      [{ CP_APP_DB_PASSWORD: 'x-0123456789', PGPASSWORD: '' }, 2, /PGPASSWORD is not set/],
      [{ CP_APP_DB_PASSWORD: 'x-0123456789', PGPASSWORD: 'wrong' }, 1, /cannot connect/],
    ];
    for (const [env, code, why] of cases) {
      const r = await runScript(env);
      expect(r.code, `${JSON.stringify(env)}: ${r.out}`).toBe(code);
      expect(r.out).toMatch(why);
      expect(r.out).not.toMatch(/applying the migrations/);
    }
    expect(await sql(OWNER, OWNER_PASSWORD, 'SELECT rolname, rolpassword IS NULL AS nopw FROM pg_authid ORDER BY rolname')).toEqual(before);
    expect(await sql('keel', ROTATED_PASSWORD, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  }, 120_000);
});
