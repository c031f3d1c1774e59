import { decide } from '@keel/ha-core';
import type { Action, Decision, LongActionKind, Observation } from '@keel/ha-core';
import { describeAction } from './describe-action.ts';
import { decisionEvents, type DecisionSeen } from './decision-events.ts';
import { execute } from './executors/index.ts';
import { FatalError } from './executors/role.ts';
import { observe } from './observe.ts';
import { maintain } from './maintenance.ts';
import { publish } from './publish.ts';
import { manageSlots } from './slots.ts';
import { adoptLocalConfig } from './adopt-local-config.ts';
import type { LoopCommands, Runtime } from './runtime.ts';
import { reportFenced } from './executors/report.ts';

/**
 * The HA loop: observe -> decide -> execute -> publish, every loop_wait seconds or sooner when
 * woken (etcd watch on the leader key, a finished long action, a failed action).
 * This is the only place in the agent that sleeps.
 */
export class HaLoop {
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private running: Promise<void> | null = null;
  private fenceTimer: NodeJS.Timeout | null = null;
  private fencing = false;
  private seen: DecisionSeen = { leader: null, reason: null };
  /** The long action running in the background, if any (shutdown waits for it). */
  private longAction: Promise<void> | null = null;
  /** Called at the end of every iteration (the member-join watch, the control-plane uplink); must not throw or wait. */
  onTick: ((obs: Observation, decision: Decision) => void) | null = null;

  /** The runtime with this loop's LoopCommands: build the loop before anything that sends requests. */
  readonly rt: Runtime;

  constructor(base: Omit<Runtime, keyof LoopCommands>) {
    const rt = base as Runtime;
    rt.wake = () => this.wake();
    rt.runLong = (kind, fn) => this.runLong(kind, () => fn(rt));
    rt.refreshProbe = async () => {
      if (rt.memory.inFlight) return rt.lastProbe; // a long action owns PostgreSQL: do not race it
      rt.lastProbe = await rt.pg.probe();
      return rt.lastProbe;
    };
    rt.scheduleRestart = (s) => {
      rt.scheduledRestart = s;
      rt.lastMemberJson = null;
      if (s) setTimeout(() => this.wake(), Math.max(0, Date.parse(s.schedule) - Date.now())).unref();
    };
    rt.adoptLocalConfig = (next) => adoptLocalConfig(rt, next);
    rt.beginAction = () => {
      const a = rt.actions;
      a.epoch++;
      a.busy++;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        a.epoch++;
        a.busy--;
      };
    };
    this.rt = rt;
  }

  start(): Promise<void> {
    this.scheduleFenceCheck();
    this.running = this.run();
    return this.running;
  }

  /**
   * Stop the loop, then wait (at most `longActionMs`) for a long action still running in the
   * background: a PostgreSQL start in flight must have finished before shutdown decides what to stop,
   * or it would leave a postmaster running with no agent. Returns false when the wait timed out.
   */
  async stop(longActionMs = 0): Promise<boolean> {
    this.rt.stopping = true;
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    this.wake();
    await this.running?.catch(() => undefined);
    const pending = this.longAction;
    if (pending === null) return true;
    this.rt.log.info({ action: this.rt.memory.inFlight?.kind }, 'waiting for the action in progress to finish before shutting down');
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      pending.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), longActionMs))),
    ]);
    clearTimeout(timer);
    return finished;
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (!this.rt.stopping) {
      const started = Date.now();
      let failed = false;
      try {
        failed = await this.tick();
      } catch (e) {
        if (e instanceof FatalError) throw e;
        this.rt.log.error({ err: (e as Error).message }, 'HA loop iteration failed');
        failed = true;
      }
      if (this.rt.stopping) break;
      const retry = this.rt.lastDecision?.retryInMs;
      const loopWait = this.rt.settings.loopWait * 1000 - (Date.now() - started);
      const wait = failed ? 250 : retry !== undefined ? Math.min(retry, loopWait) : loopWait;
      await this.sleep(Math.max(0, wait));
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this; // eslint-disable-line @typescript-eslint/no-this-alias
      function done() {
        clearTimeout(t);
        self.wakeUp = null;
        self.woken = false;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /** One iteration. Returns true when an action failed (the loop then runs again soon). */
  async tick(): Promise<boolean> {
    const rt = this.rt;
    const obs = await observe(rt, Date.now);
    rt.lastObservation = obs;
    const decision = decide(obs);
    rt.lastDecision = decision;
    rt.lastLoopAt = Date.now();
    this.report(obs, decision);

    let failure: { action: Action['type']; error: string } | null = null;
    for (const action of decision.actions) {
      const endAction = rt.beginAction(); // the REST API's shared probe is not reused across an action
      try {
        await execute(rt, action, obs);
      } catch (e) {
        if (e instanceof FatalError) {
          rt.log.fatal({ verdict: decision.verdict }, e.message);
          throw e;
        }
        failure = { action: action.type, error: (e as Error).message };
        rt.lastActionFailure = { ...failure, at: new Date().toISOString() };
        break; // order is contract: stop at the first failed action
      } finally {
        endAction();
      }
    }
    // Re-probe before publishing only when an action may have changed PostgreSQL: renewing the
    // lock (an idle leader's only action) does not: no second SQL probe every tick.
    await publish(rt, obs, decision.actions.some((a) => a.type !== 'renewLock')).catch((e: Error) => rt.log.warn({ err: e.message }, 'could not publish member state'));
    if (!failure) await maintain(rt).catch((e: Error) => rt.log.warn({ err: e.message }, 'maintenance failed'));
    if (!failure) await manageSlots(rt, obs).catch((e: Error) => rt.log.warn({ err: e.message }, 'replication slots: run failed'));
    rt.fence?.update();
    this.updateWatchdog();
    rt.heartbeat?.update();
    rt.log.info(
      {
        verdict: decision.verdict,
        actions: decision.actions.map(describeAction),
        role: obs.pg.running ? obs.pg.role : 'stopped',
        leader: obs.dcs.ok ? obs.dcs.cluster.leader : undefined,
        ...(failure ? { failed: failure } : {}),
      },
      decision.reason,
    );
    try {
      this.onTick?.(obs, decision);
    } catch (e) {
      rt.log.warn({ err: (e as Error).message }, 'after-tick hook (member joins, uplink) failed');
    }
    return failure !== null;
  }

  /**
   * The watchdog device follows the lock (watchdog.ts): open and kept alive while this member leads,
   * i.e. holds a lock younger than ttl that this tick's view confirms (the DCS names it leader, or it
   * renewed or took the lock in this tick; without the DCS the lock time itself, moved only by a
   * failsafe hold, decides), and the tick did not demote or release. Not a PostgreSQL probe: a probe
   * that glitches under load must not close and reopen the device.
   */
  private updateWatchdog(): void {
    const rt = this.rt;
    const o = rt.lastObservation;
    const d = rt.lastDecision;
    const lockAt = rt.lastLockOkAt;
    const demoting = d?.actions.some((a) => a.type === 'demote' || a.type === 'releaseLock') ?? false;
    const confirmed = o === null || !o.dcs.ok || o.dcs.cluster.leader === rt.config.name || (lockAt !== null && lockAt >= o.now);
    rt.watchdog?.update({
      leadingSince: !demoting && confirmed ? lockAt : null,
      paused: rt.settings.pause,
      ttl: rt.settings.ttl,
      loopWait: rt.settings.loopWait,
      now: Date.now(),
    });
  }

  /** This decision's own events (leader key gone, decision changed), before its actions run. Never throws. */
  private report(obs: Observation, decision: Decision): void {
    try {
      const { events, next } = decisionEvents(this.seen, obs, decision, decision.actions.map(describeAction));
      this.seen = next;
      if (next.leader !== null) this.rt.events.lastLeader = next.leader;
      for (const e of events) this.rt.events.emit(e.event, e.summary, e.details as never, e.cause, Date.parse(e.at));
    } catch (e) {
      this.rt.log.warn({ err: (e as Error).message }, 'could not report the decision');
    }
  }

  private runLong(kind: LongActionKind, fn: () => Promise<void>): Promise<void> {
    const rt = this.rt;
    const since = Date.now();
    rt.memory.inFlight = { kind, since };
    rt.log.info({ action: kind }, `${kind} started`);
    const endAction = rt.beginAction();
    const done = fn().finally(endAction).then(
      () => {
        rt.memory.inFlight = null;
        rt.memory.lastFailure = null; // a success ends any backoff
        rt.log.info({ action: kind, seconds: (Date.now() - since) / 1000 }, `${kind} finished`);
        this.wake();
      },
      (e: Error) => {
        rt.memory.inFlight = null;
        const prev = rt.memory.lastFailure;
        const attempts = prev?.kind === kind ? (prev.attempts ?? 1) + 1 : 1;
        rt.memory.lastFailure = { kind, at: Date.now(), message: e.message, attempts };
        rt.log.error({ action: kind, err: e.message, attempts }, `${kind} failed`);
        this.wake();
        throw e;
      },
    );
    done.catch(() => undefined); // the failure is recorded above; callers may await `done` too
    this.longAction = done;
    void done.catch(() => undefined).finally(() => {
      if (this.longAction === done) this.longAction = null;
    });
    return done;
  }

  /**
   * When the guard runs next: at the guard deadline of the last renewal (a later renewal moves it,
   * so the guard re-checks then and sleeps again), or, without the lock, soon enough that a lock
   * taken meanwhile cannot reach its deadline unchecked. A lock time is when the renewal started,
   * at most retry_timeout before it is recorded, so a lock recorded after this check has its
   * deadline at least ttl - margin - retry_timeout (> loop_wait, the timing rule) from now; half of
   * that is the wait. A fixed 250 ms poll cost ~0.09 s of CPU a minute on an idle agent.
   */
  private scheduleFenceCheck(): void {
    const rt = this.rt;
    if (rt.stopping) return;
    const limit = rt.settings.ttl * 1000 - this.guardMargin();
    const wait =
      rt.lastLockOkAt !== null ? rt.lastLockOkAt + limit - Date.now() : (limit - rt.settings.retryTimeout * 1000) / 2;
    this.fenceTimer = setTimeout(() => {
      void this.fenceCheck().finally(() => this.scheduleFenceCheck());
    }, Math.min(Math.max(wait, 20), 60_000));
  }

  private guardMargin(): number {
    return Math.max(1000, Math.min((this.rt.settings.retryTimeout * 1000) / 2, (this.rt.settings.ttl * 1000) / 4));
  }

  /**
   * Fencing guard, independent of the loop's progress: a primary whose last successful lock
   * renewal is so old that its lease may expire soon stops PostgreSQL at once, even while a DCS
   * call is still hanging. The loop path (renew fails -> demote) normally acts earlier.
   */
  private async fenceCheck(): Promise<void> {
    const rt = this.rt;
    if (this.fencing || rt.lastLockOkAt === null || rt.stopping) return;
    const age = Date.now() - rt.lastLockOkAt;
    if (age < rt.settings.ttl * 1000 - this.guardMargin()) return;
    this.fencing = true;
    try {
      if (rt.lastProbe?.running && rt.lastProbe.role === 'primary') {
        const lostAt = Date.now();
        const lastLsn = rt.lastProbe.lsn ?? null;
        rt.log.error({ lockAgeMs: age }, 'could not renew the leader lock in time: stopping PostgreSQL (fencing)');
        await rt.pg.stop('immediate', 30);
        rt.memory.formerPrimary = true;
        rt.memory.following = null;
        reportFenced(rt, 'guard', lostAt, lastLsn);
      }
      rt.lastLockOkAt = null;
      rt.fence?.update();
      this.updateWatchdog();
    } catch (e) {
      rt.log.error({ err: (e as Error).message }, 'fencing stop failed');
    } finally {
      this.fencing = false;
      this.wake();
    }
  }
}


export type { Observation };
