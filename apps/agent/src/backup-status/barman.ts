/**
 * Barman 3.4's `barman -f json list-backups <server>` (and `show-backup <server> <id>` for the newest
 * usable backup's WAL range, start time and data size) as a TBackupStatus. Barman's backups are full.
 */
import { z } from 'zod';
import { compareCodeUnits, type TBackupInfo, type TBackupStatus } from '@keel/protocol';
import { epochSeconds, errorStatus, lastLines, runFailure, type ToolOutput } from './common.ts';

const ZListed = z.object({
  backup_id: z.string().min(1),
  status: z.string(),
  end_time_timestamp: z.union([z.string(), z.number()]).nullable().optional(),
  size_bytes: z.number().nullable().optional(),
});

const ZShown = z.object({
  backup_id: z.string(),
  base_backup_information: z
    .object({
      begin_time_timestamp: z.union([z.string(), z.number()]).nullable().optional(),
      begin_wal: z.string().nullable().optional(),
      end_wal: z.string().nullable().optional(),
      disk_usage_bytes: z.number().nullable().optional(),
    })
    .optional(),
});

/** Barman's backup statuses: DONE is usable; these are in progress; FAILED (and EMPTY, SYNCING) are not usable. */
const RUNNING = new Set(['STARTED', 'WAITING_FOR_WALS']);

/** Barman answers `{"_ERROR": [...]}` (exit 1) for an unknown server or backup. */
function barmanError(stdout: string): string | null {
  try {
    const j = JSON.parse(stdout) as unknown;
    const errs = z.object({ _ERROR: z.array(z.string()) }).safeParse(j);
    return errs.success ? errs.data._ERROR.join('; ') : null;
  } catch {
    return null;
  }
}

function json(stdout: string): unknown {
  try {
    return JSON.parse(stdout) as unknown;
  } catch {
    return undefined;
  }
}

function size(n: number | null | undefined): number | null {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** The server's backups from list-backups, newest first as Barman lists them; or an error status. */
export function parseBarmanList(server: string, out: ToolOutput, checkedAt: string): TBackupStatus {
  const base = { tool: 'barman' as const, target: server, checkedAt };
  const said = barmanError(out.stdout);
  if (said !== null) return { ...base, ...errorStatus(`barman list-backups: ${said}`) };
  const failed = runFailure('barman list-backups', out);
  if (failed) return { ...base, ...failed };
  const j = json(out.stdout);
  if (j === undefined) return { ...base, ...errorStatus(`barman list-backups printed something that is not JSON: ${lastLines(out.stdout)}`) };
  const parsed = z.record(z.string(), z.array(ZListed)).safeParse(j);
  if (!parsed.success) return { ...base, ...errorStatus(`barman list-backups printed JSON of an unexpected shape (at ${parsed.error.issues[0]?.path.join('.') || 'the top'})`) };
  const listed = parsed.data[server];
  if (!listed) return { ...base, ...errorStatus(`barman list-backups does not list the server ${server}`) };

  const timed = listed.map((b) => ({ b, at: epochSeconds(b.end_time_timestamp) }));
  const done = timed.filter((x): x is { b: z.infer<typeof ZListed>; at: string } => x.b.status === 'DONE' && x.at !== null).sort((x, y) => compareCodeUnits(x.at, y.at));
  const newest = done[done.length - 1];
  const last: TBackupInfo | null = newest
    ? { label: newest.b.backup_id, type: 'full', startedAt: null, finishedAt: newest.at, sizeBytes: null, repoBytes: size(newest.b.size_bytes), walStart: null, walStop: null }
    : null;
  // a backup that failed after the newest usable one (backup ids are start times, so they sort)
  const failedAfter = listed.filter((b) => b.status === 'FAILED' && (!newest || b.backup_id > newest.b.backup_id)).map((b) => b.backup_id);
  const message = failedAfter.length ? `backup${failedAfter.length > 1 ? 's' : ''} ${failedAfter.sort().join(', ')} FAILED` : null;
  return {
    ...base,
    state: failedAfter.length ? 'error' : last ? 'ok' : 'no_backups',
    message,
    last,
    lastFull: last,
    count: done.length,
    walArchive: null,
    running: listed.some((b) => RUNNING.has(b.status)),
  };
}

/**
 * The newest backup completed with show-backup's details (start time, WAL range, data size). A
 * failing show-backup leaves the list's status as it was and says so.
 */
export function withBarmanDetails(status: TBackupStatus, out: ToolOutput): TBackupStatus {
  if (!status.last) return status;
  const said = barmanError(out.stdout) ?? runFailure('barman show-backup', out)?.message ?? null;
  const parsed = said === null ? z.record(z.string(), ZShown).safeParse(json(out.stdout)) : null;
  const shown = parsed?.success ? parsed.data[status.target] : undefined;
  if (!shown || shown.backup_id !== status.last.label) {
    const why = said ?? 'barman show-backup printed an unexpected answer';
    return { ...status, message: [status.message, why].filter((m) => m).join('; ') };
  }
  const info = shown.base_backup_information ?? {};
  const last: TBackupInfo = {
    ...status.last,
    startedAt: epochSeconds(info.begin_time_timestamp),
    sizeBytes: size(info.disk_usage_bytes),
    walStart: info.begin_wal ?? null,
    walStop: info.end_wal ?? null,
  };
  return { ...status, last, lastFull: last };
}
