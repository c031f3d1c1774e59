/**
 * The cluster's last backup as its agents report it (the running primary's agent checks the backup
 * tool; snapshot `backup`), judged against a maximum age. Pure; shared by the cluster page and the
 * `no_recent_backup` alert rule so both say the same.
 */
import type { TBackupStatus } from '@keel/protocol';
import type { TMemberView } from './member-view.ts';

/** The `no_recent_backup` rule's default: a daily backup plus two hours of slack. */
export const DEFAULT_BACKUP_MAX_AGE_HOURS = 26;

export interface TClusterBackup {
  /** The newest report among the reporting (not stale) members; null: nobody reports one. */
  status: TBackupStatus | null;
  /** The member whose agent reported it. */
  reportedBy: string | null;
}

/** The freshest backup report of the cluster: normally the leader's (only the running primary checks). */
export function clusterBackup(members: readonly TMemberView[]): TClusterBackup {
  let best: { m: TMemberView; s: TBackupStatus } | null = null;
  for (const m of members) {
    if (m.stale || !m.backup) continue;
    if (!best || m.backup.checkedAt > best.s.checkedAt) best = { m, s: m.backup };
  }
  return { status: best?.s ?? null, reportedBy: best?.m.name ?? null };
}

export interface TBackupFinding {
  /**
   * ok: a usable backup newer than the maximum age; old: the newest is older; none: the tool lists no
   * backup; error: the tool failed or reports an error (its last backup, if any, still shown);
   * unknown: no member reports (no `backup:` section, or no running primary).
   */
  level: 'ok' | 'old' | 'none' | 'error' | 'unknown';
  /** Seconds since the newest backup finished; null: no backup. */
  ageSeconds: number | null;
  /** One line for people: "incr 20261204-…I, 3 h ago" / "pgbackrest info exited with code 55: …". */
  text: string;
}

function hours(s: number): string {
  if (s < 90) return `${Math.max(0, Math.round(s))} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function backupFinding(status: TBackupStatus | null, nowMs: number, maxAgeHours = DEFAULT_BACKUP_MAX_AGE_HOURS): TBackupFinding {
  if (!status) return { level: 'unknown', ageSeconds: null, text: 'not reported' };
  const last = status.last;
  const ageSeconds = last ? Math.max(0, (nowMs - Date.parse(last.finishedAt)) / 1000) : null;
  const lastText = last && ageSeconds !== null ? `${last.type} ${last.label}, ${hours(ageSeconds)} ago` : null;
  if (status.state === 'error') return { level: 'error', ageSeconds, text: `${status.message ?? 'error'}${lastText ? ` (last: ${lastText})` : ''}` };
  if (!last || ageSeconds === null) return { level: 'none', ageSeconds: null, text: `no backup in ${status.tool} ${status.target}` };
  if (ageSeconds > maxAgeHours * 3600) return { level: 'old', ageSeconds, text: `${lastText}: older than ${maxAgeHours} h` };
  return { level: 'ok', ageSeconds, text: lastText ?? '' };
}
