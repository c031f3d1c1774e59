/** The WAL archive column: what a member's pg_stat_archiver report says at a glance. */
import { describe, expect, it } from 'vitest';
import { archiveSummary } from '../components/view-model.ts';
import { memberView } from '../server/lib/member-view.ts';
import { snapshot } from './support/builders.ts';

const ok = {
  archiveMode: 'on' as const,
  archivedCount: 12,
  lastArchivedWal: '00000002000000000000000C',
  lastArchivedAt: '2026-11-26T11:59:58.000Z',
  failedCount: 0,
  lastFailedWal: null,
  lastFailedAt: null,
};

describe('archiveSummary', () => {
  it('shows the last archived WAL file and the count', () => {
    expect(archiveSummary(ok)).toEqual({ status: 'ok', text: '00000002000000000000000C (12 archived)', lastArchivedAt: ok.lastArchivedAt });
  });
  it('is failing when the last failure is newer than the last success', () => {
    const a = { ...ok, failedCount: 3, lastFailedWal: '00000002000000000000000D', lastFailedAt: '2026-11-26T11:59:59.000Z' };
    expect(archiveSummary(a)).toMatchObject({ status: 'failing', text: 'failing at 00000002000000000000000D (3 failed)' });
  });
  it('is ok again once a later file was archived, and says failures happened before', () => {
    const a = { ...ok, failedCount: 3, lastFailedWal: '00000002000000000000000B', lastFailedAt: '2026-11-26T11:00:00.000Z' };
    expect(archiveSummary(a)).toMatchObject({ status: 'ok', text: '00000002000000000000000C (12 archived, 3 failed before)' });
  });
  it('says off, idle or unknown', () => {
    expect(archiveSummary({ ...ok, archiveMode: 'off' }).status).toBe('off');
    expect(archiveSummary({ ...ok, archivedCount: 0, lastArchivedWal: null, lastArchivedAt: null }).status).toBe('idle');
    expect(archiveSummary(null).status).toBe('unknown');
  });
});

describe('memberView', () => {
  it('passes the archive status of the last snapshot through, null for agents that do not report it', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    const row = (snap: unknown) => ({ name: 'pg1', snapshot: snap, lastSeenAt: now, lastSeq: 1n, agentVersion: null });
    const opts = { now, staleAfterSeconds: 30, connected: true };
    expect(memberView(row({ ...snapshot(1), archive: ok }), opts).archive).toEqual(ok);
    expect(memberView(row(snapshot(1)), opts).archive).toBeNull();
  });
});
