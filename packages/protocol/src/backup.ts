import { z } from 'zod';

/**
 * The last backups of a cluster as its backup tool lists them (Keel addition): pgBackRest's
 * `info --output=json` or Barman's `list-backups`/`show-backup` in JSON, read by the leader's agent
 * in the background (apps/agent/src/backup-status/) and sent in its snapshots (`backup`). A tool
 * that fails is a status (`state: error` with its message), not a missing report.
 */

export const BACKUP_TOOLS = ['pgbackrest', 'barman'] as const;
export const BACKUP_TYPES = ['full', 'diff', 'incr'] as const;
/**
 * ok: the repository answers and has at least one usable backup; no_backups: it answers and has
 * none; error: the tool failed, timed out, printed something unreadable, or says the repository
 * (stanza, server) is in error.
 */
export const BACKUP_STATES = ['ok', 'no_backups', 'error'] as const;

const ZAt = z.iso.datetime({ offset: true });
const ZSize = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const ZWal = z.string().max(64);

export const ZBackupInfo = z.object({
  /** pgBackRest's label (20261204-054009F_20261204-054015I) or Barman's backup id (20261204T054039). */
  label: z.string().min(1).max(256),
  /** Barman's backups are full (Barman 3.4 has no incremental backups with backup_method = postgres). */
  type: z.enum(BACKUP_TYPES),
  startedAt: ZAt.nullable(),
  /** When the backup finished: its age is measured from here. */
  finishedAt: ZAt,
  /** The database's size in the backup (pgBackRest info.size; Barman: disk usage of the data files). */
  sizeBytes: ZSize.nullable(),
  /** What this backup added to the repository (pgBackRest info.repository.delta; Barman: with its WAL). */
  repoBytes: ZSize.nullable(),
  /** The WAL needed to make it consistent. */
  walStart: ZWal.nullable(),
  walStop: ZWal.nullable(),
});
export type TBackupInfo = z.infer<typeof ZBackupInfo>;

export const ZBackupStatus = z.object({
  tool: z.enum(BACKUP_TOOLS),
  /** The pgBackRest stanza or the Barman server. */
  target: z.string().min(1).max(256),
  /** When the agent last ran the tool (its own clock). */
  checkedAt: ZAt,
  state: z.enum(BACKUP_STATES),
  /** The tool's status message or error (its last lines), null when ok. */
  message: z.string().max(2000).nullable(),
  /** The newest usable backup of any type; null: none. */
  last: ZBackupInfo.nullable(),
  /** The newest usable full backup (what a diff or incr depends on); null: none. */
  lastFull: ZBackupInfo.nullable(),
  /** Usable backups in the repository. */
  count: z.number().int().nonnegative(),
  /** The oldest and newest WAL file in the archive (pgBackRest, current database); null: unknown. */
  walArchive: z.object({ min: ZWal.nullable(), max: ZWal.nullable() }).nullable(),
  /** A backup is running now (pgBackRest's backup lock, Barman's STARTED/WAITING_FOR_WALS); null: unknown. */
  running: z.boolean().nullable(),
});
export type TBackupStatus = z.infer<typeof ZBackupStatus>;
