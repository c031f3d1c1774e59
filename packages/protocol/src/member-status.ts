import type { TPendingRestartReason, TTags } from './dcs-values.ts';

/**
 * The PostgreSQL state an agent reports (the `state` field of /patroni and of members/<name>).
 * Patroni's values first, then Keel's own, which make failures visible instead of "running"
 * (a failed rewind is never reported as running).
 */
export const MEMBER_STATES = [
  'initializing new cluster',
  'initdb failed',
  'creating replica',
  'running',
  'starting',
  'stopping',
  'stopped',
  'stop failed',
  'crashed',
  'restarting',
  'restart failed',
  'start failed',
  'bootstrap failed',
  // Keel additions
  'rewinding',
  'rewind failed',
  'clone failed',
  'waiting for leader',
  // Patroni's answer when the status query fails (the postmaster died since the last loop)
  'unknown',
] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

/** Patroni's fixed numbering for patroni_postgres_state where it has one; Keel's extras from 100. */
export const MEMBER_STATE_NUMBER: Record<MemberState, number> = {
  'initializing new cluster': 0,
  'initdb failed': 1,
  'creating replica': 4,
  running: 5,
  starting: 6,
  stopping: 8,
  stopped: 9,
  'stop failed': 10,
  crashed: 11,
  restarting: 12,
  'restart failed': 13,
  'start failed': 14,
  'bootstrap failed': 15,
  rewinding: 100,
  'rewind failed': 101,
  'clone failed': 102,
  'waiting for leader': 103,
  unknown: 104,
};

export type MemberRole = 'primary' | 'replica' | 'standby_leader' | 'uninitialized';

/** GET /patroni (and the body of every health check), Patroni's shape. */
export interface TNodeStatus {
  state: MemberState;
  postmaster_start_time?: string;
  role: MemberRole;
  server_version?: number;
  xlog?: {
    location?: number;
    received_location?: number;
    replayed_location?: number;
    replayed_timestamp?: string | null;
    paused?: boolean;
  };
  /** synchronous_mode: this replica is listed as a synchronous standby in /sync. */
  sync_standby?: boolean;
  /** synchronous_mode: quorum: this replica is a voter listed in /sync (Patroni 4). */
  quorum_standby?: boolean;
  /** A replica's WAL receiver: 'streaming' or 'stopped' (Patroni 3.0.4+ shows it here too). */
  replication_state?: string;
  timeline?: number;
  replication?: Array<Record<string, unknown>>;
  cluster_unlocked?: boolean;
  /** failsafe_mode: this member runs as a primary held by its members, or accepted one less than ttl ago. */
  failsafe_mode_is_active?: boolean;
  pause?: boolean;
  dcs_last_seen?: number;
  tags?: TTags;
  database_system_identifier?: string;
  pending_restart?: boolean;
  pending_restart_reason?: TPendingRestartReason;
  watchdog_failed?: boolean;
  patroni: { version: string; scope: string; name: string };
  /** Keel: the last HA decision, for humans and the control plane. */
  keel?: {
    verdict: string;
    reason: string;
    loop_at: string;
    last_failure?: { action: string; error: string; at: string };
    /** The leader's refusals of `failover` requests, by the request's mod revision (newest last). */
    failover_outcomes?: { revision: number; outcome: string; at: string }[];
  };
}
