import { factsOf, heartbeatStopped, HEARTBEAT_INTERVAL_MS, watchesHeartbeat } from '@keel/ha-core';
import type { Runtime } from './runtime.ts';

/**
 * Synchronous mode's heartbeat (ARCHITECTURE.md "Early takeover in synchronous mode"), one 1 s timer
 * beside the loop, running only in synchronous mode and only on two kinds of member:
 * - the leader (holding the lock, running as primary) sends one lease keepalive per second, so the
 *   DCS shows its lease near its full TTL. It stops when the loop has not renewed the lock for
 *   loop_wait + retry_timeout: a stuck loop must let the lease run down as before (the keepalive
 *   never moves lastLockOkAt, so the fencing deadlines stay the loop's);
 * - a synchronous standby listed in /sync (ha-core watchesHeartbeat) reads the leader's lease's
 *   remaining TTL once a second and wakes the loop when the heartbeat stopped; observe() then
 *   gathers what decide() needs for an early takeover.
 * Everyone else (and everyone in asynchronous mode) has no timer.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly rt: Runtime) {}

  /** After every tick: start or stop the timer for this member's current role. */
  update(): void {
    if (this.role() === null) {
      this.clear();
      return;
    }
    if (this.timer === null) {
      this.timer = setInterval(() => void this.beat(), HEARTBEAT_INTERVAL_MS);
      this.timer.unref();
    }
  }

  stop(): void {
    this.clear();
  }

  private clear(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.rt.leaderLeaseSample = null;
  }

  private role(): 'leader' | 'standby' | null {
    const rt = this.rt;
    const obs = rt.lastObservation;
    // Quorum mode has no early takeover: nobody reads the heartbeat, so the leader does not send it.
    if (rt.stopping || obs === null || !obs.dcs.ok || !rt.settings.synchronousMode || rt.settings.quorumCommit) return null;
    if (obs.dcs.cluster.leader === rt.config.name) return rt.lastLockOkAt !== null && obs.pg.role === 'primary' ? 'leader' : null;
    return watchesHeartbeat(factsOf(obs, obs.dcs.cluster)) ? 'standby' : null;
  }

  private async beat(): Promise<void> {
    if (this.busy) return; // the previous call has not answered yet (its own deadline bounds it)
    this.busy = true;
    const rt = this.rt;
    try {
      const role = this.role();
      if (role === 'leader') {
        const since = rt.lastLockOkAt;
        if (since === null || Date.now() - since > (rt.settings.loopWait + rt.settings.retryTimeout) * 1000) return;
        await rt.dcs.keepAlive();
      } else if (role === 'standby') {
        const lease = rt.lastCluster?.leader?.lease;
        if (lease === undefined || lease === '0') return;
        const view = await rt.dcs.leaseTimeToLive(lease);
        rt.leaderLeaseSample = { lease, view, at: Date.now() };
        if (heartbeatStopped(view)) rt.wake();
      }
    } catch {
      // the DCS did not answer in time: the loop's own reads will say so
    } finally {
      this.busy = false;
    }
  }
}
