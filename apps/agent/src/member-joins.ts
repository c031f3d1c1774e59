/**
 * The leader wakes its loop when a member key is created (a standby registers, or registers again
 * after its key expired), so the member-slot sync creates that member's slot at once: the standby's
 * first walreceiver gets in instead of waiting for the leader's next tick and then PostgreSQL's
 * wal_retrieve_retry_interval (ARCHITECTURE.md, "Rejoin time"). Only the leader needs it, and the
 * watch receives every member update (etcd cannot filter a watch to creations), so it follows the
 * lock: opened on a tick that finds this member leading, cancelled on a tick that does not.
 */
import type { Runtime } from './runtime.ts';

export class MemberJoins {
  private watch: Promise<(() => Promise<void>) | null> | null = null;

  constructor(private readonly rt: Runtime) {}

  private leading(): boolean {
    return this.rt.lastCluster?.leader?.name === this.rt.config.name;
  }

  /** After each tick. */
  update(): void {
    if (this.leading() && this.watch === null) {
      this.watch = this.rt.dcs
        .watchMembers((name) => {
          if (name !== this.rt.config.name && this.leading()) this.rt.wake();
        })
        .catch((e: Error) => {
          this.rt.log.debug({ err: e.message }, 'cannot watch member joins yet; the next tick tries again');
          this.watch = null;
          return null;
        });
    } else if (!this.leading() && this.watch !== null) void this.stop();
  }

  async stop(): Promise<void> {
    const w = this.watch;
    this.watch = null;
    const cancel = await w;
    await cancel?.().catch(() => undefined);
  }
}
