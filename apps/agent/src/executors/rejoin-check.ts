import { rewindNeeded, type Known, type RewindVerdict } from '@keel/ha-core';
import type { HostPort } from '@keel/postgres';
import { formatLsn } from '@keel/protocol';
import type { Runtime } from '../runtime.ts';

async function known<T>(read: () => Promise<T>): Promise<Known<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

const lsn = (v: number | null): string | null => (v === null ? null : formatLsn(v));

/**
 * Before pg_rewind, as Patroni does: does this stopped former primary's WAL go past the point where
 * the leader's timeline left it? Where the local WAL ends comes from the data directory (pg_waldump
 * from the last checkpoint), the leader's timeline and history from the leader itself over a
 * replication connection (TIMELINE_HISTORY), not from /history in the DCS. ha-core's rewindNeeded
 * decides; anything unreadable means rewind. Logged with both positions, for the DBA.
 */
export async function checkRewindNeeded(rt: Runtime, from: string, source: HostPort, timelineHint?: number): Promise<RewindVerdict> {
  const started = Date.now();
  const [local, leader] = await Promise.all([known(() => rt.pg.localWalEnd()), known(() => rt.pg.leaderTimeline(source, timelineHint === undefined ? {} : { timelineHint }))]);
  const verdict = rewindNeeded(local, leader);
  rt.log.info(
    {
      from,
      rewind: verdict.rewind,
      localState: local.ok ? local.value.state : null,
      localTimeline: local.ok ? local.value.timeline : null,
      localEnd: lsn(verdict.localEnd),
      leaderTimeline: leader.ok ? leader.value.timeline : null,
      switchpoint: lsn(verdict.switchpoint),
      ms: Date.now() - started,
    },
    `${verdict.rewind ? 'pg_rewind needed' : 'pg_rewind not needed'}: ${verdict.reason}`,
  );
  return verdict;
}
