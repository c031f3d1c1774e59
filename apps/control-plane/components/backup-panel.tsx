'use client';
/**
 * The cluster's last backup as the leader's agent reports it (pgBackRest or Barman, checked in the
 * background), highlighted when older than the `no_recent_backup` rule's maximum age, with the
 * leader's WAL archiving beside it.
 */
import { useId, type ReactNode } from 'react';
import { backupFinding, clusterBackup } from '../server/lib/backup-view.ts';
import type { TMemberView } from './live-cache.ts';
import { formatAgo, formatBytes } from './format.ts';
import { archiveSummary } from './view-model.ts';

function Item({ label, children }: { label: string; children: ReactNode }) {
  const id = useId();
  return (
    <div role="group" aria-labelledby={id} className="fact">
      <div id={id} className="fact-label">
        {label}
      </div>
      <div className="fact-value">{children}</div>
    </div>
  );
}

const TONE = { ok: 'ok', old: 'warn', none: 'warn', error: 'bad', unknown: '' } as const;
const LABEL = { ok: 'Recent', old: 'Too old', none: 'No backup', error: 'Error', unknown: 'Not reported' } as const;

export function BackupPanel({ members, leader, nowMs, maxAgeHours }: { members: TMemberView[]; leader: string | null; nowMs: number; maxAgeHours: number }) {
  const { status: s, reportedBy } = clusterBackup(members);
  const f = backupFinding(s, nowMs, maxAgeHours);
  const leaderView = leader ? members.find((m) => m.name === leader) : undefined;
  const a = archiveSummary(leaderView?.archive ?? null);
  const last = s?.last ?? null;
  return (
    <section className="card" aria-labelledby="backup-title" data-testid="backup-panel" data-level={f.level}>
      <div className="card-head">
        <h2 id="backup-title">Backups</h2>
        <span className="muted small">
          {s ? `${s.tool} ${s.tool === 'pgbackrest' ? 'stanza' : 'server'} ${s.target}, checked ${formatAgo(s.checkedAt, nowMs)} by ${reportedBy ?? '?'}` : 'no agent reports backups (backup: in its YAML)'}
          {` · too old after ${maxAgeHours} h`}
        </span>
      </div>
      <div className="facts">
        <Item label="Last backup">
          <span className={`badge ${TONE[f.level]}`}>{LABEL[f.level]}</span>
          {last ? (
            <>
              <span className={`sub ${f.level === 'old' ? 'warn' : ''}`} title={last.finishedAt}>
                {last.type} · {formatAgo(last.finishedAt, nowMs)}
              </span>
              <span className="sub mono">{last.label}</span>
            </>
          ) : null}
          {s?.running ? <span className="sub">a backup is running</span> : null}
        </Item>
        <Item label="Size">
          {last ? formatBytes(last.sizeBytes) : '–'}
          {last?.repoBytes !== null && last?.repoBytes !== undefined ? <span className="sub">{formatBytes(last.repoBytes)} in the repository</span> : null}
        </Item>
        <Item label="Last full">
          {s?.lastFull ? (
            <>
              {formatAgo(s.lastFull.finishedAt, nowMs)}
              <span className="sub mono">{s.lastFull.label}</span>
            </>
          ) : (
            '–'
          )}
          {s ? <span className="sub">{s.count} backups</span> : null}
        </Item>
        <Item label="WAL archive">
          <span className={`mono ${a.status === 'failing' ? 'bad' : ''}`}>{a.status === 'unknown' ? '–' : a.text}</span>
          {a.lastArchivedAt ? <span className="sub">{formatAgo(a.lastArchivedAt, nowMs)} ({leader})</span> : null}
          {s?.walArchive?.max ? <span className="sub mono">repository up to {s.walArchive.max}</span> : null}
        </Item>
      </div>
      {f.level === 'error' || f.level === 'old' || f.level === 'none' ? (
        <p className={`small ${f.level === 'error' ? 'bad' : 'warn'}`} role="status" aria-label="Backup status">
          {f.text}
        </p>
      ) : (
        <p className="small muted" role="status" aria-label="Backup status">
          {f.text}
        </p>
      )}
    </section>
  );
}
