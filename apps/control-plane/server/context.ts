/**
 * The tRPC context: the app's dependencies plus a lazily resolved signed-in user. Tests build one
 * with createContext (from headers carrying a session cookie) or contextForUser (no HTTP at all).
 */
import type { TAuth } from './auth.ts';
import type { DbHealthMonitor } from './db-health.ts';
import type { TDb } from './db.ts';
import type { TServerEnv } from './env.ts';
import { ZRole, type TRole } from './lib/roles.ts';
import type { TAgentPresence } from './services/list-clusters.ts';

/** What the server composes once at start (server.ts) and every request shares. */
export interface TAppDeps {
  db: TDb;
  env: TServerEnv;
  auth: TAuth;
  presence: TAgentPresence;
  dbHealth: DbHealthMonitor;
}

export interface TCtxUser {
  id: string;
  email: string;
  name: string;
  role: TRole;
}

export interface TContext extends TAppDeps {
  headers: Headers;
  /** The signed-in user (null when signed out). Throws when the session cannot be checked. */
  getUser(): Promise<TCtxUser | null>;
}

export async function userFromHeaders(auth: TAuth, headers: Headers): Promise<TCtxUser | null> {
  const session = await auth.api.getSession({ headers });
  if (!session) return null;
  const u = session.user as { id: string; email: string; name: string; role?: unknown };
  const role = ZRole.safeParse(u.role);
  return { id: u.id, email: u.email, name: u.name, role: role.success ? role.data : 'viewer' };
}

export function createContext(deps: TAppDeps, headers: Headers): TContext {
  let user: Promise<TCtxUser | null> | undefined;
  return {
    ...deps,
    headers,
    getUser: () => (user ??= userFromHeaders(deps.auth, headers)),
  };
}

/** A context for a known user, without a session (tests, scripts). */
export function contextForUser(deps: TAppDeps, user: TCtxUser | null): TContext {
  return { ...deps, headers: new Headers(), getUser: async () => user };
}
