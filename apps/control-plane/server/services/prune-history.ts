/** Retention: drop raw samples, one-minute buckets and events older than their settings. */
import type { TDb } from '../db.ts';

export interface TRetention {
  rawRetentionHours: number;
  minuteRetentionDays: number;
  eventRetentionDays: number;
}

export async function pruneHistory(db: TDb, r: TRetention, now = new Date()): Promise<{ samples: number; minutes: number; events: number }> {
  const rawBefore = new Date(now.getTime() - r.rawRetentionHours * 3600_000);
  const minuteBefore = new Date(now.getTime() - r.minuteRetentionDays * 86_400_000);
  const eventBefore = new Date(now.getTime() - r.eventRetentionDays * 86_400_000);
  const samples = await db.stateSample.deleteMany({ where: { at: { lt: rawBefore } } });
  const minutes = await db.stateSampleMinute.deleteMany({ where: { bucket: { lt: minuteBefore } } });
  const events = await db.event.deleteMany({ where: { at: { lt: eventBefore } } });
  return { samples: samples.count, minutes: minutes.count, events: events.count };
}
