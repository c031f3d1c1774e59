import { z } from 'zod';

/**
 * Patroni's parse_bool (utils.py): booleans as they are; case-insensitive on/true/yes/1 and
 * off/false/no/0 (numbers 1 and 0 too); anything else is undefined (not a boolean).
 */
export function parsePatroniBool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(v)) return true;
  if (['off', 'false', 'no', '0'].includes(v)) return false;
  return undefined;
}

/** Member tags as Patroni defines them; custom tags pass through. */
export const ZTags = z
  .object({
    nofailover: z.boolean().optional(),
    failover_priority: z.number().int().optional(),
    noloadbalance: z.boolean().optional(),
    clonefrom: z.boolean().optional(),
    replicatefrom: z.string().optional(),
    nosync: z.boolean().optional(),
    nostream: z.boolean().optional(),
    sync_priority: z.number().int().optional(),
  })
  .catchall(z.unknown());
export type TTags = z.infer<typeof ZTags>;

export const ZPendingRestartReason = z.record(
  z.string(),
  z.object({ old_value: z.string(), new_value: z.string() }),
);
export type TPendingRestartReason = z.infer<typeof ZPendingRestartReason>;

/** The value of members/<name>, refreshed by each agent on its own lease. */
export const ZMemberValue = z
  .object({
    conn_url: z.string(),
    api_url: z.string(),
    state: z.string(),
    role: z.string(),
    version: z.string(),
    xlog_location: z.number().optional(),
    receive_lsn: z.number().optional(),
    replay_lsn: z.number().optional(),
    replication_state: z.string().optional(),
    timeline: z.number().int().optional(),
    tags: ZTags.optional(),
    pending_restart: z.boolean().optional(),
    pending_restart_reason: ZPendingRestartReason.optional(),
    scheduled_restart: z.record(z.string(), z.unknown()).optional(),
    pause: z.boolean().optional(),
    proxy_url: z.string().optional(),
  })
  .catchall(z.unknown());
export type TMemberValue = z.infer<typeof ZMemberValue>;

/** The dynamic configuration in /config. Unknown keys are kept (Patroni has many more). */
/**
 * `standby_cluster` in the dynamic configuration (Patroni's keys): the cluster's leader is a standby
 * leader that replicates from another site, streaming from host:port and/or restoring from the archive.
 * The agent checks it further (config/dynamic.ts: a host or a restore_command, a port in range).
 */
export const ZStandbyCluster = z.object({
  host: z.string().optional(),
  port: z.number().int().optional(),
  primary_slot_name: z.string().optional(),
  restore_command: z.string().optional(),
  archive_cleanup_command: z.string().optional(),
  recovery_min_apply_delay: z.union([z.number().int(), z.string()]).optional(),
  create_replica_methods: z.array(z.string()).optional(),
});
export type TStandbyCluster = z.infer<typeof ZStandbyCluster>;

export const ZDynamicConfig = z
  .object({
    ttl: z.number().int().optional(),
    loop_wait: z.number().int().optional(),
    retry_timeout: z.number().int().optional(),
    maximum_lag_on_failover: z.number().int().optional(),
    primary_start_timeout: z.number().int().optional(),
    primary_stop_timeout: z.number().int().optional(),
    check_timeline: z.boolean().optional(),
    max_timelines_history: z.number().int().optional(),
    member_slots_ttl: z.union([z.number(), z.string()]).optional(),
    synchronous_mode: z.union([z.boolean(), z.string()]).optional(),
    failsafe_mode: z.boolean().optional(),
    pause: z.boolean().nullable().optional(),
    /** null: removed (a merge patch that promotes the cluster). */
    standby_cluster: ZStandbyCluster.nullable().optional(),
    postgresql: z
      .object({
        use_pg_rewind: z.boolean().optional(),
        use_slots: z.boolean().optional(),
        parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
        pg_hba: z.array(z.string()).optional(),
      })
      .catchall(z.unknown())
      .optional(),
  })
  .catchall(z.unknown());
export type TDynamicConfig = z.infer<typeof ZDynamicConfig>;

/** /history: [[timeline, switch lsn, reason, timestamp, new leader], ...] */
export const ZHistoryEntry = z.union([
  z.tuple([z.number(), z.number(), z.string()]),
  z.tuple([z.number(), z.number(), z.string(), z.string()]),
  z.tuple([z.number(), z.number(), z.string(), z.string(), z.string()]),
]);
export const ZHistory = z.array(ZHistoryEntry);
export type THistoryEntry = z.infer<typeof ZHistoryEntry>;
export type THistory = z.infer<typeof ZHistory>;

/**
 * /status, written by the leader on each lock update: its WAL position (`optime`) and, as Patroni
 * writes them, the replication slots' positions by name (`slots`: permanent logical slots'
 * confirmed_flush_lsn, permanent physical and member slots' restart_lsn, the leader's own slot name at
 * the optime). Replicas advance their copies of the permanent slots to these positions.
 * `retain_slots` is Patroni 4's (member_slots_ttl); Keel reads it and does not write it.
 */
export const ZStatus = z
  .object({
    optime: z.number(),
    slots: z.record(z.string(), z.number()).optional(),
    retain_slots: z.array(z.string()).optional(),
  })
  .catchall(z.unknown());
export type TStatus = z.infer<typeof ZStatus>;

/** /failover: the switchover / failover intent. */
export const ZFailoverValue = z
  .object({
    leader: z.string().optional(),
    member: z.string().optional(),
    candidate: z.string().optional(),
    scheduled_at: z.string().optional(),
  })
  .catchall(z.unknown());
export type TFailoverValue = z.infer<typeof ZFailoverValue>;

/**
 * /sync (synchronous_mode). Quorum mode (Patroni 4) adds `quorum`: how many other members of the voting
 * set (sync_standby and leader) a candidate must see not ahead of it; Patroni 4 writes 0 in priority mode.
 */
export const ZSyncValue = z
  .object({ leader: z.string().nullable().optional(), sync_standby: z.string().nullable().optional(), quorum: z.number().int().min(0).nullable().optional() })
  .catchall(z.unknown());
export type TSyncValue = z.infer<typeof ZSyncValue>;

/** The synchronous standbys a /sync value lists: sync_standby is comma-joined names (Patroni), or null. */
export function syncStandbyList(v: TSyncValue | null | undefined): string[] {
  return (v?.sync_standby ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n.length > 0);
}
