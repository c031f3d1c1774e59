/**
 * What the /live WebSocket sends to browsers (JSON text frames, server -> browser only). The
 * dashboard applies these to its react-query cache or refetches; see live/hub.ts.
 *
 * Connect to `/live` (all clusters) or `/live?cluster=<scope>` with the session cookie.
 */
import type { TDbHealthState } from '../db-health.ts';
import type { TMemberView } from '../lib/member-view.ts';
import type { TEventView } from '../services/get-cluster.ts';

export type TLiveMessage =
  /** First message after connecting. */
  | { type: 'hello'; database: TDbHealthState; staleAfterSeconds: number; serverTime: string }
  /** A member's new snapshot was stored. */
  | { type: 'member'; cluster: string; member: TMemberView }
  /** An agent event was stored. */
  | { type: 'event'; cluster: string; event: TEventView }
  /** An agent connected or disconnected. */
  | { type: 'presence'; cluster: string; member: string; connected: boolean; at: string }
  /** A member has sent no snapshot for staleAfterSeconds (stale since lastSeenAt). */
  | { type: 'stale'; cluster: string; member: string; lastSeenAt: string | null }
  /** An operation was requested, approved, started, progressed or ended (refetch it). */
  | { type: 'operation'; cluster: string; id: string; status: string }
  /** An incident was opened, grew, or was acknowledged, annotated or resolved (refetch it). */
  | { type: 'incident'; cluster: string; id: string; status: string; opened: boolean }
  /** A notice for this user (e.g. an approver skipped by a break-glass operation). */
  | { type: 'notice'; message: string; at: string }
  /** The control plane's own database became unreachable, or came back. */
  | { type: 'database'; database: TDbHealthState };

export const LIVE_PATH = '/live';
