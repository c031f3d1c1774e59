import { BackupStatusPoller } from '../backup-status/poller.ts';
import { describeAction } from '../describe-action.ts';
import { formatHostPort } from '../config/address.ts';
import { remoteAddress, standbyClusterConfig } from '../standby-cluster.ts';
import type { Decision, Observation } from '@keel/ha-core';
import { agentSocketUrl } from '@keel/protocol';
import { KEEL_VERSION, type OpsRuntime } from '../runtime.ts';
import { nodeStatus } from '../status.ts';
import { UplinkClient, type UplinkClientOptions, type UplinkStats } from './client.ts';
import { CommandHandler, runCommand } from './commands.ts';
import { deriveEvents, track, type Tracked } from './events.ts';
import { buildSnapshot, leaderLsn, recordLeaderPosition, type LeaderPosition } from './snapshot.ts';

export { UplinkClient } from './client.ts';
export type { UplinkState, UplinkStats } from './client.ts';

/**
 * The agent's link to the control plane, as the rest of the agent sees it: one call per loop
 * iteration and one at shutdown. Both are safe to call whatever the link's state; onTick never
 * throws and never waits.
 */
export interface Uplink {
  /** After publish(), with this iteration's observation and decision. */
  onTick(obs: Observation, decision: Decision): void;
  /** At shutdown: give the server up to a second to acknowledge what is buffered, then close. */
  stop(): Promise<void>;
  /** null when no control plane is configured. */
  stats(): UplinkStats | null;
}

export interface UplinkOptions {
  /** Lag that raises lag_above_threshold; default: the DCS's maximum_lag_on_failover, read each loop. */
  lagThresholdBytes?: number;
  /** Overrides for tests (backoff, buffer limits, timers). */
  client?: Partial<UplinkClientOptions>;
}

const DISABLED: Uplink = { onTick: () => undefined, stop: async () => undefined, stats: () => null };

/** Start the link when the YAML has a `controlplane` section; otherwise a no-op. */
export function startUplink(rt: OpsRuntime, opts: UplinkOptions = {}): Uplink {
  const cp = rt.config.controlplane;
  if (!cp) return DISABLED;
  if (!cp.token) {
    rt.log.error({ controlplane: cp.url }, 'controlplane.token is not set: not connecting to the control plane');
    return DISABLED;
  }
  const url = agentSocketUrl(cp.url);
  const log = rt.log.child({ component: 'uplink' });
  // Commands run through the same services as the REST API; their progress goes out through the buffer.
  const commands = new CommandHandler(runCommand(rt), (body) => client.enqueue(body), log);
  const client = new UplinkClient({
    url,
    token: cp.token,
    cluster: rt.config.scope,
    member: rt.config.name,
    agentVersion: KEEL_VERSION,
    log,
    onCommand: (command) => commands.handle(command),
    ...opts.client,
  });
  client.start();
  // What the loop and its executors report (lock, promotion, fencing, rewind...) goes through the same buffer.
  rt.events.attach((e) => client.enqueue(e));

  // The last backup (backup: section): checked in the background while this member is the running primary.
  const backups = rt.config.backup
    ? new BackupStatusPoller(rt.config.backup, (argv, timeoutMs) => rt.pg.runCommand(argv, { timeoutMs }), rt.log.child({ component: 'backup-status' }))
    : null;

  let tracked: Tracked | null = null;
  let positions: LeaderPosition[] = [];
  let failing = false;

  return {
    onTick(obs, decision) {
      try {
        const now = Date.now();
        const status = nodeStatus(rt, rt.lastProbe);
        backups?.tick(status.state === 'running' && status.role === 'primary');
        positions = recordLeaderPosition(positions, now, leaderLsn({ status, cluster: rt.lastCluster }));
        const snapshot = buildSnapshot({
          now,
          me: rt.config.name,
          status,
          obs,
          decision,
          cluster: rt.lastCluster,
          settings: rt.settings,
          fence: rt.fence?.state?.() ?? null,
          leaderPositions: positions,
          actions: decision.actions.map(describeAction),
          archiver: rt.lastProbe?.archiver ?? null,
          backup: backups?.current() ?? null,
          connectAddress: formatHostPort(rt.config.postgresql.connect_address.host, rt.config.postgresql.connect_address.port),
          standbySource: remoteAddress(standbyClusterConfig(rt)),
        });
        const thresholdBytes = opts.lagThresholdBytes ?? rt.settings.maximumLagOnFailover;
        const next = track(tracked, { me: rt.config.name, now, snapshot, obs, decision, thresholdBytes });
        for (const event of deriveEvents(tracked, next)) client.enqueue(event);
        client.enqueue(snapshot);
        tracked = next;
        failing = false;
      } catch (e) {
        // A bug here must never cost an HA loop iteration: say it once, carry on.
        if (!failing) log.warn({ err: (e as Error).message }, 'could not build the control-plane snapshot');
        failing = true;
      }
    },
    stop: () => {
      backups?.stop();
      return client.stop(1000);
    },
    stats: () => client.stats(),
  };
}

/** Short text of an action for lastDecision.actions, e.g. "follow(pg0)". */
