'use client';
/** "The control plane lost its database" and "live updates interrupted": said once, at the top, calmly. */
import { useEffect, useState } from 'react';
import type { TDbHealthState } from '../server/db-health.ts';
import { formatAgo, formatTime } from './format.ts';

export function DbBanner({ database, unreachable, localNow }: { database: TDbHealthState | null; unreachable: boolean; localNow: number }) {
  if (database && !database.ok) {
    return (
      <div className="banner" role="alert">
        <div>
          <strong>The control plane lost its database</strong> at {formatTime(database.since)} ({formatAgo(database.since, localNow)}). What
          you see is the last known state and may be out of date. Your clusters keep running and failing over on their own; this page
          recovers by itself when the database is back.
        </div>
      </div>
    );
  }
  if (unreachable) {
    return (
      <div className="banner" role="alert">
        <div>
          <strong>The control plane does not answer.</strong> What you see may be out of date; this page keeps trying.
        </div>
      </div>
    );
  }
  return null;
}

/** Shown only when the live feed has been down for a few seconds (not on every blip). */
export function LiveBanner({ live }: { live: boolean }) {
  const [longDown, setLongDown] = useState(false);
  useEffect(() => {
    if (live) {
      setLongDown(false);
      return;
    }
    const t = setTimeout(() => setLongDown(true), 4000);
    return () => clearTimeout(t);
  }, [live]);
  if (!longDown) return null;
  return (
    <div className="banner warn" role="status">
      <div>
        <strong>Live updates interrupted.</strong> Reconnecting; meanwhile this page refreshes every few seconds.
      </div>
    </div>
  );
}
