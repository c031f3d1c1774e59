import { ZSnapshot } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { buildSnapshot, type SnapshotInput } from '../src/uplink/snapshot.ts';
import { T0, cluster, decision, observation, primaryStatus, settings, stoppedStatus } from './uplink-builders.ts';

const archiving = {
  archiveMode: 'on',
  archivedCount: 12,
  lastArchivedWal: '00000002000000000000000C',
  lastArchivedAt: '2026-03-01T09:59:58.120Z',
  failedCount: 1,
  lastFailedWal: '000000010000000000000003',
  lastFailedAt: '2026-03-01T09:00:00.000Z',
};

function input(over: Partial<SnapshotInput> = {}): SnapshotInput {
  const c = cluster();
  return { now: T0, me: 'pg1', status: primaryStatus(), obs: observation({ cluster: c }), decision: decision('leader_ok'), cluster: c, settings: settings(), leaderPositions: [], actions: [], ...over };
}

describe('the archive status in the snapshot', () => {
  it("carries the running member's pg_stat_archiver, valid under the protocol schema", () => {
    const s = buildSnapshot(input({ archiver: archiving }));
    expect(s.archive).toEqual(archiving);
    expect(ZSnapshot.parse({ ...s, seq: 1 }).archive).toEqual(archiving);
  });

  it('is null while PostgreSQL is not running, or when the probe gave something the protocol does not know', () => {
    expect(buildSnapshot(input({ status: stoppedStatus(), archiver: archiving })).archive).toBeNull();
    expect(buildSnapshot(input({ archiver: { ...archiving, archiveMode: 'sometimes' } })).archive).toBeNull();
    expect(buildSnapshot(input({ archiver: null })).archive).toBeNull();
  });

  it('is optional for snapshots of agents that do not send it yet', () => {
    const { archive: _none, ...old } = buildSnapshot(input());
    expect(ZSnapshot.safeParse({ ...old, seq: 1 }).success).toBe(true);
  });
});
