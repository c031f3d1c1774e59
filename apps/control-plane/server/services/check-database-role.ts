/** Start-up check: refuse to run as a database role that could rewrite the audit log. */
import type { TDb } from '../db.ts';
import { APPEND_ONLY_TABLES, auditRoleProblem } from '../lib/db-roles.ts';

export async function checkDatabaseRole(db: TDb): Promise<void> {
  const me = await db.$queryRaw<{ role: string; superuser: boolean }[]>`SELECT current_user::text AS role, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`;
  const owners = await db.$queryRaw<{ table: string; owner: string }[]>`
    SELECT c.relname::text AS "table", pg_get_userbyid(c.relowner)::text AS owner
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(${[...APPEND_ONLY_TABLES]})`;
  const problem = auditRoleProblem({
    role: me[0]?.role ?? '?',
    superuser: me[0]?.superuser ?? false,
    owners: Object.fromEntries(APPEND_ONLY_TABLES.map((t) => [t, owners.find((o) => o.table === t)?.owner ?? null])),
  });
  if (problem) throw new Error(`refusing to start: ${problem}`);
}
