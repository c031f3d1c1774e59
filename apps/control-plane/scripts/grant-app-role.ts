/**
 * Give the application's database role what it needs, and nothing that could rewrite history:
 *   DATABASE_URL=<owner url> npm run db:grant -w @keel/control-plane -- --role <app role>
 * Run as the OWNER role (the one that ran `db:migrate` and owns the tables and the append-only
 * triggers), after every migration. The app role gets SELECT/INSERT/UPDATE/DELETE on the tables,
 * but only SELECT and INSERT on audit_log and audit_digests; it owns nothing, so it cannot drop or
 * disable the triggers (ALTER TABLE needs ownership). See the README, "Database roles".
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { APPEND_ONLY_TABLES } from '../server/lib/db-roles.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { role: { type: 'string' } }, strict: true });
  const url = process.env.DATABASE_URL;
  if (!values.role || !/^[a-z_][a-z0-9_]{0,62}$/.test(values.role) || !url) {
    console.error('usage: DATABASE_URL=<owner url> grant-app-role --role <app role (lower-case identifier)>');
    return 2;
  }
  const role = `"${values.role}"`;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const owner = await c.query<{ owner: string }>("SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'audit_log' AND relkind = 'r'");
    if (owner.rows[0]?.owner === values.role) {
      console.error(`refused: ${values.role} owns audit_log; the application must use a role that owns nothing (see README, "Database roles")`);
      return 1;
    }
    const list = APPEND_ONLY_TABLES.map((t) => `"${t}"`).join(', ');
    await c.query('BEGIN');
    await c.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    await c.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${list} FROM ${role}`);
    await c.query(`REVOKE ALL ON "_prisma_migrations" FROM ${role}`);
    await c.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    await c.query('COMMIT');
    console.log(`granted ${values.role}: read/write on the tables, append-only on ${APPEND_ONLY_TABLES.join(', ')}`);
    return 0;
  } finally {
    await c.end();
  }
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
