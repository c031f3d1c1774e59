/**
 * The two database roles (README, "Database roles"): an owner that runs the migrations and owns
 * every table and the append-only triggers, and the application's role that owns nothing. The
 * server refuses to start as a role that could rewrite the audit log (one that owns it, or a
 * superuser, which bypasses triggers and privileges).
 */
export const APPEND_ONLY_TABLES = ['audit_log', 'audit_digests'] as const;

export interface TRoleFacts {
  role: string;
  superuser: boolean;
  /** Owner of each append-only table (null: the table does not exist yet). */
  owners: Record<string, string | null>;
}

/** Why this role must not run the application, or null. */
export function auditRoleProblem(f: TRoleFacts): string | null {
  if (f.superuser) return `the database role ${f.role} is a superuser, which can bypass the audit log's append-only triggers; connect as the application role (README, "Database roles")`;
  for (const t of APPEND_ONLY_TABLES) {
    if (f.owners[t] === f.role) return `the database role ${f.role} owns ${t}, so it could drop its append-only triggers; run migrations as a separate owner role and connect as the application role (README, "Database roles")`;
  }
  return null;
}
