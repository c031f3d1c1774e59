/**
 * The tRPC context: the app's dependencies plus the caller (session cookie or API token), resolved
 * lazily and once. Tests build one with createContext (from headers) or contextForActor (no HTTP).
 */
import { CLIENT_IP_HEADER, type TAuth } from './auth.ts';
import type { DbHealthMonitor } from './db-health.ts';
import type { TDb } from './db.ts';
import type { TServerEnv } from './env.ts';
import type { TActor } from './lib/actor.ts';
import type { TLiveMessage } from './live/messages.ts';
import type { TRole } from './lib/roles.ts';
import type { TAgentPresence } from './services/list-clusters.ts';
import { resolveActor } from './services/resolve-actor.ts';
import type { TOperationRunner } from './services/operation-runner.ts';

/** Stops the live feeds of a user (disabled users lose them at once). */
export interface TLiveFeeds {
  disconnectUser(userId: string, reason: string): number;
}

/** What the server composes once at start (server.ts) and every request shares. */
export interface TAppDeps {
  db: TDb;
  env: TServerEnv;
  auth: TAuth;
  presence: TAgentPresence;
  dbHealth: DbHealthMonitor;
  live?: TLiveFeeds;
  /** Sends operations to the agents and follows them (services/operation-runner.ts). */
  runner: TOperationRunner;
  /** Tell these users something over their live feeds (break-glass notices). */
  notify?: (userIds: string[], message: string) => void;
  /** The audit digest key (KEEL_CP_AUDIT_KEY or derived). */
  auditKey: Buffer;
  /** Tell the open pages something changed (live/hub.ts), e.g. an incident acknowledged. */
  publish?: (m: TLiveMessage) => void;
}

export interface TCtxUser {
  id: string;
  email: string;
  name: string;
  role: TRole;
}

export interface TContext extends TAppDeps {
  headers: Headers;
  /** The caller (null when signed out). Throws AppError('unauthorized') for a bad API token. */
  getActor(): Promise<TActor | null>;
}

export function createContext(deps: TAppDeps, headers: Headers): TContext {
  let actor: Promise<TActor | null> | undefined;
  return {
    ...deps,
    headers,
    getActor: () => (actor ??= resolveActor(deps.db, deps.auth, headers, headers.get(CLIENT_IP_HEADER))),
  };
}

/** A context for a known actor, without HTTP (tests, scripts). */
export function contextForActor(deps: TAppDeps, actor: TActor | null): TContext {
  return { ...deps, headers: new Headers(), getActor: async () => actor };
}

/** The signed-in user of a request, for the page guard and the live feed (sessions only). */
export async function userFromHeaders(deps: Pick<TAppDeps, 'db' | 'auth'>, headers: Headers): Promise<TCtxUser | null> {
  const a = await resolveActor(deps.db, deps.auth, headers, null);
  return a ? { id: a.userId, email: a.email, name: a.email, role: a.role } : null;
}
