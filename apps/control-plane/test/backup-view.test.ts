/** The cluster's last backup as the agents report it: which report counts, its age against the maximum, and the no_recent_backup rule. */
import type { TBackupStatus, TSnapshot } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { evaluateRules, resolveRuleSettings, type TAlertRule } from '../server/lib/alerts/rules.ts';
import { backupFinding, clusterBackup, DEFAULT_BACKUP_MAX_AGE_HOURS } from '../server/lib/backup-view.ts';
import { summarizeCluster } from '../server/lib/cluster-health.ts';
import { memberView, type TMemberView } from '../server/lib/member-view.ts';
import { snapshot } from './support/builders.ts';

const NOW = new Date('2026-12-04T12:00:00Z');
const H = 3600 * 1000;

function status(over: Partial<TBackupStatus> = {}, finishedHoursAgo: number | null = 3): TBackupStatus {
  const last =
    finishedHoursAgo === null
      ? null
      : {
          label: '20261204-090000F_20261204-090500I',
          type: 'incr' as const,
          startedAt: new Date(NOW.getTime() - finishedHoursAgo * H - 60_000).toISOString(),
          finishedAt: new Date(NOW.getTime() - finishedHoursAgo * H).toISOString(),
          sizeBytes: 23_746_247,
          repoBytes: 1_343_754,
          walStart: '000000010000000000000006',
          walStop: '000000010000000000000006',
        };
  return {
    tool: 'pgbackrest',
    target: 'main',
    checkedAt: new Date(NOW.getTime() - 60_000).toISOString(),
    state: last ? 'ok' : 'no_backups',
    message: null,
    last,
    lastFull: last ? { ...last, type: 'full', label: '20261204-090000F' } : null,
    count: last ? 2 : 0,
    walArchive: { min: '000000010000000000000001', max: '000000010000000000000009' },
    running: false,
    ...over,
  };
}

function member(name: string, over: Partial<TSnapshot>, ageSeconds = 1): TMemberView {
  return memberView(
    { name, snapshot: snapshot(1, { leader: 'pg0', ...over }), lastSeenAt: new Date(NOW.getTime() - ageSeconds * 1000), lastSeq: 1n, agentVersion: '0.1.0' },
    { now: NOW, staleAfterSeconds: 30, connected: true },
  );
}

describe('clusterBackup', () => {
  it('takes the freshest report of a reporting member (the leader checks), ignoring stale members and members that do not check', () => {
    const old = status({ checkedAt: new Date(NOW.getTime() - 3 * H).toISOString() }, 30);
    const fresh = status();
    const members = [member('pg0', { role: 'primary', backup: fresh }), member('pg1', { backup: null }), member('pg2', { backup: old })];
    expect(clusterBackup(members)).toEqual({ status: fresh, reportedBy: 'pg0' });
    // after a failover the old leader's last report stays stored, but it stopped reporting
    const after = [member('pg0', { role: 'primary', backup: fresh }, 120), member('pg1', { role: 'primary', backup: old })];
    expect(clusterBackup(after).reportedBy).toBe('pg1');
    expect(clusterBackup([member('pg1', {})])).toEqual({ status: null, reportedBy: null });
  });

  it('passes a snapshot without the field (older agents) as not reported', () => {
    const s = snapshot(1);
    expect('backup' in s).toBe(false);
    expect(member('pg0', {}).backup).toBeNull();
  });
});

describe('backupFinding', () => {
  it('is ok while the newest backup is younger than the maximum age, old after it', () => {
    expect(backupFinding(status(), NOW.getTime())).toEqual({ level: 'ok', ageSeconds: 3 * 3600, text: 'incr 20261204-090000F_20261204-090500I, 3 h ago' });
    const old = backupFinding(status({}, DEFAULT_BACKUP_MAX_AGE_HOURS + 1), NOW.getTime());
    expect(old.level).toBe('old');
    expect(old.text).toBe('incr 20261204-090000F_20261204-090500I, 27 h ago: older than 26 h');
    expect(backupFinding(status({}, 3), NOW.getTime(), 2).level).toBe('old');
    expect(backupFinding(status({}, 1.9), NOW.getTime(), 2).level).toBe('ok');
  });

  it('says none, error (with the last backup when known) and unknown', () => {
    expect(backupFinding(status({}, null), NOW.getTime())).toMatchObject({ level: 'none', text: 'no backup in pgbackrest main' });
    const failing = status({ state: 'error', message: "other; repo1: [PathOpenError] unable to list file info for path '/repo/backup'" }, 5);
    expect(backupFinding(failing, NOW.getTime())).toMatchObject({
      level: 'error',
      text: "other; repo1: [PathOpenError] unable to list file info for path '/repo/backup' (last: incr 20261204-090000F_20261204-090500I, 5 h ago)",
    });
    expect(backupFinding(null, NOW.getTime())).toMatchObject({ level: 'unknown' });
  });
});

describe('no_recent_backup rule', () => {
  const only = (rows: Parameters<typeof resolveRuleSettings>[0] = []) => {
    const settings = resolveRuleSettings(rows);
    for (const r of Object.keys(settings) as TAlertRule[]) if (r !== 'no_recent_backup') settings[r].enabled = false;
    return settings;
  };
  const evaluate = (members: TMemberView[], rows: Parameters<typeof resolveRuleSettings>[0] = []) =>
    evaluateRules({ now: NOW, clusters: [{ scope: 'main', members, health: summarizeCluster(members), leaderChanges: [] }], awaitingApproval: [], settings: only(rows) });

  it('fires when the last backup is older than maxAgeHours (default 26), as an error when the tool fails, never when nobody reports', () => {
    expect(evaluate([member('pg0', { role: 'primary', backup: status() })])).toEqual([]);
    const old = evaluate([member('pg0', { role: 'primary', backup: status({}, 30) })]);
    expect(old).toHaveLength(1);
    expect(old[0]).toMatchObject({ rule: 'no_recent_backup', cluster: 'main', subject: '', severity: 'warning', summary: 'main: no recent backup: incr 20261204-090000F_20261204-090500I, 30 h ago: older than 26 h' });
    expect(old[0]?.details).toMatchObject({ tool: 'pgbackrest', target: 'main', reportedBy: 'pg0', ageHours: 30, maxAgeHours: 26 });
    expect(evaluate([member('pg0', { role: 'primary', backup: status({}, null) })])[0]?.summary).toBe('main: no backup: no backup in pgbackrest main');
    expect(evaluate([member('pg0', { role: 'primary', backup: status({ state: 'error', message: 'pgbackrest info timed out' }, 2) })])[0]).toMatchObject({ severity: 'error' });
    expect(evaluate([member('pg0', { role: 'primary' })])).toEqual([]);
  });

  it('takes the threshold an admin set', () => {
    const rows = [{ rule: 'no_recent_backup', enabled: true, params: { maxAgeHours: 2 } }];
    expect(evaluate([member('pg0', { role: 'primary', backup: status({}, 3) })], rows)).toHaveLength(1);
    expect(resolveRuleSettings([]).no_recent_backup.params).toEqual({ maxAgeHours: 26, forSeconds: 0 });
  });
});
