import type { Executor } from './index.ts';

/** failsafe_mode: the leader's /failsafe (null deletes it). Runs after renewLock, like Patroni's update_leader. */
const setFailsafe: Executor<'setFailsafe'> = async (rt, a) => {
  await rt.dcs.setFailsafe(a.value);
};

/**
 * failsafe_mode, DCS unreachable, every member in /failsafe accepted: keep running as primary. The
 * round started at `since` and each member accepted after that, so they stay out of the race until at
 * least since + ttl: the fencing deadlines (the guard, keel-fence, the watchdog) count from `since`
 * exactly as from a renewal that started then.
 */
const holdFailsafe: Executor<'holdFailsafe'> = async (rt, a) => {
  rt.lastLockOkAt = Math.max(rt.lastLockOkAt ?? 0, a.since);
  rt.failsafe?.hold(a.since);
};

export const failsafeExecutors = { setFailsafe, holdFailsafe };
