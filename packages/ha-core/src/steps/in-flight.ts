import { act, decision } from '../decision.ts';
import { startTimedOut, startTimeoutReason } from '../facts.ts';
import type { Facts } from '../facts.ts';
import type { Decision, LongActionKind } from '../types.ts';
import { lostLock } from './follower.ts';

const LABEL: Record<LongActionKind, string> = {
  bootstrap: 'bootstrap',
  clone: 'clone',
  reinitialize: 'reinitialize',
  rewind: 'rewind',
  startPrimary: 'start as primary',
  startReplica: 'start as replica',
  restart: 'restart',
};

/**
 * B. A long action is running: keep the lock if it is ours and wait. Two things do not wait:
 * a running primary while another member holds the lock (split brain beats any action), and a
 * start as primary that has overrun primary_start_timeout (stop it and hand the lock over).
 */
export function actionInFlight(f: Facts): Decision | null {
  const flight = f.memory.inFlight;
  if (flight === null) return null;
  if (f.runningPrimary && f.otherLeader !== null) return lostLock(f, f.otherLeader);
  if (flight.kind === 'startPrimary' && f.iAmLeader && startTimedOut(f)) {
    return decision('release_lock_start_timeout', startTimeoutReason(f), [act.demote('immediate')]);
  }
  return decision('action_in_progress', `${LABEL[flight.kind]} in progress`, f.iAmLeader ? [act.renewLock()] : []);
}
