/**
 * Who is acting, derived once per request (session cookie or API token) and passed to services:
 * every audit entry and every authorisation check reads it.
 */
import type { TRole } from './roles.ts';

export type TChannel = 'session' | 'api_token' | 'cli' | 'system';

export interface TActor {
  userId: string;
  email: string;
  /** The user's global role (applies to every cluster). */
  role: TRole;
  channel: 'session' | 'api_token';
  /** The client's address as the server saw it. */
  address: string | null;
  /** API token channel: the token's id and its role cap. */
  token?: { id: string; role: TRole };
}

/** The CLI and the server itself write audit entries too, as these. */
export interface TAuditActor {
  actorId: string | null;
  actor: string;
  channel: TChannel;
  address: string | null;
}

export function auditActor(a: TActor): TAuditActor {
  return { actorId: a.userId, actor: a.email, channel: a.channel, address: a.address };
}

export const CLI_ACTOR: TAuditActor = { actorId: null, actor: 'cli', channel: 'cli', address: null };
export const SYSTEM_ACTOR: TAuditActor = { actorId: null, actor: 'system', channel: 'system', address: null };
