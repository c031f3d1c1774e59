import type { ClusterSnapshot, Dcs } from '@keel/dcs';
import type { AgentMemory, Decision, HaSettings, LeaseView, LongActionKind, Observation } from '@keel/ha-core';
import type { Postgres, Probe } from '@keel/postgres';
import type { MemberState, TDynamicConfig, TFailoverOutcome, TRestartRequest } from '@keel/protocol';
import type { AgentEvents } from './agent-events.ts';
import type { AgentConfig } from './config.ts';
import type { Callbacks } from './callbacks.ts';
import type { Logger } from './log.ts';
import type { PgSetting } from './ops/pg-parameters.ts';
import type { OperationRegistry } from './ops/registry.ts';
import type { PeerClient } from './peers.ts';
import type { FailsafeMemory } from './failsafe.ts';
import type { WatchdogDevice } from './watchdog.ts';
import type { SlotsState } from './slots.ts';

/** Keel's version, reported where Patroni reports its own. */
export const KEEL_VERSION = '0.1.0';

/**
 * The services every part of the agent uses, built once in main.ts before anything else runs.
 */
export interface AgentServices {
  dcs: Dcs;
  pg: Postgres;
  log: Logger;
  /** Calls to other members' REST APIs (api_url checked, TLS as configured, answers parsed). */
  peers: PeerClient;
  /** Path of the YAML this agent was started with (POST /reload and SIGHUP re-read it). */
  configPath: string;
  ops: OperationRegistry;
  callbacks: Callbacks;
  /** failsafe_mode: what this member remembers of POST /failsafe (failsafe.ts). main.ts always sets it. */
  failsafe?: FailsafeMemory;
  /** The watchdog device (watchdog.ts): open while this member leads. main.ts always sets it. */
  watchdog?: WatchdogDevice;
  /** What the agent did, for the control plane's timeline (agent-events.ts). */
  events: AgentEvents;
}

/**
 * What the agent knows and has decided. Written only by the HA loop, its executors and the long
 * actions they run (runLong hands them the Runtime); the REST API, the operation services and the
 * uplink read it (OpsRuntime makes that a compile-time rule) and change it through LoopCommands.
 */
export interface AgentState {
  config: AgentConfig;
  memory: AgentMemory;
  settings: HaSettings;
  /** The /config this agent runs with: the DCS value with bad values skipped (adopt-config.ts). */
  dynamicConfig: TDynamicConfig | null;
  /** What dynamicConfig was adopted from (mod revision, whether pg_settings was known), to adopt each change once. */
  dynamicConfigSource?: string;
  /** The DCS parse warnings last logged (each is logged once while it lasts). */
  dcsWarningsSeen?: ReadonlySet<string>;
  /** pg_settings of the last running server (ops/pg-parameters.ts readPgSettings). */
  pgSettings?: ReadonlyMap<string, PgSetting>;
  /** postmaster_start_time of the server pgSettings was read from (read again after a restart or upgrade). */
  pgSettingsStart?: string | null;
  /** Result of the last successful DCS read. */
  lastCluster: ClusterSnapshot | null;
  lastObservation: Observation | null;
  /** The last PostgreSQL probe (REST reads it between ticks). */
  lastProbe: Probe | null;
  lastDecision: Decision | null;
  lastLoopAt: number;
  /**
   * The agent's own actions on PostgreSQL (the loop's actions, long actions): `epoch` changes when one
   * begins or ends, `busy` counts those running. The REST API reuses a probe result only while neither
   * moved, so no health answer predates a change the agent made itself.
   */
  actions: { epoch: number; busy: number };
  /** Epoch seconds of the last successful DCS operation (Patroni's dcs_last_seen). */
  dcsLastSeen: number;
  /** Epoch ms of the last successful leader-lock renewal or acquisition (fencing guard). */
  lastLockOkAt: number | null;
  /** The last member value written, to write members/<name> only when it changed. */
  lastMemberJson: string | null;
  lastStatusJson: string | null;
  stopping: boolean;
  /** A restart scheduled through POST /restart {schedule}, shown in the member key. */
  scheduledRestart: ScheduledRestart | null;
  /** JSON of the PostgreSQL parameters last written, to apply DCS changes once. */
  appliedParametersJson: string | null;
  /**
   * synchronous_mode: the synchronous_standby_names this agent wrote as primary (null: not managed; the
   * configuration then leaves the parameter to the user). Only primary configurations carry it.
   */
  syncStandbyNames: string | null;
  /** The fencing process (fence/): re-armed after every tick while primary with the lock. */
  fence: { update(): void; state?(): { armed: boolean; leaseKnown: boolean } } | null;
  /**
   * Synchronous mode's heartbeat (heartbeat.ts): the leader's 1 s lease keepalive, or a synchronous
   * standby's 1 s look at the leader's lease. Re-evaluated after every tick; stopped at shutdown.
   */
  heartbeat?: { update(): void; stop(): void } | null;
  /** A synchronous standby's last look at the leader's lease (heartbeat.ts); observe() reads it. */
  leaderLeaseSample?: { lease: string; view: LeaseView; at: number } | null;
  /**
   * The `failover` requests this agent refused as leader, by the request's mod revision, newest last
   * (the last few; shown in /patroni keel.failover_outcomes). Written by the clearFailover executor.
   */
  failoverOutcomes?: readonly TFailoverOutcome[];
  /** The permanent-slots module's memory (slots.ts); created on first use. */
  slots?: SlotsState;
  /** The last action that failed in the HA loop (shown in /patroni keel.last_failure). */
  lastActionFailure: { action: string; error: string; at: string } | null;
}

/**
 * What the operation services may ask of the HA loop (HaLoop implements it; main.ts builds the loop
 * before the REST API and the uplink, so no request ever reaches a placeholder).
 */
export interface LoopCommands {
  /** Wake the loop now (DCS watch, finished long action, failed action, a new request). */
  wake(): void;
  /**
   * Start a long action in the background; the loop keeps renewing the lock meanwhile. `fn` receives
   * the Runtime: long actions are executors and may write the state.
   */
  runLong(kind: LongActionKind, fn: (rt: Runtime) => Promise<void>): Promise<void>;
  /** Probe PostgreSQL now and record it (unless a long action owns PostgreSQL: then the last probe). */
  refreshProbe(): Promise<Probe | null>;
  /** Set or clear the scheduled restart (shown in the member key at the next publish). */
  scheduleRestart(s: ScheduledRestart | null): void;
  /** Adopt a re-read local YAML (POST /reload, SIGHUP); the caller checked it. */
  adoptLocalConfig(next: AgentConfig): Promise<void>;
  /** Marks an action on PostgreSQL as running (state.actions); call the returned function once when it ends. */
  beginAction(): () => void;
}

/** The loop's and the executors' view: everything, writable. */
export type Runtime = AgentServices & AgentState & LoopCommands;
/** The operation services', REST API's and uplink's view: state is read-only. */
export type OpsRuntime = AgentServices & Readonly<AgentState> & LoopCommands;

export interface ScheduledRestart extends TRestartRequest {
  schedule: string;
  postmaster_start_time?: string;
  operationId: string;
}

/**
 * The state reported in /patroni and members/<name>, for a PostgreSQL that `probe` (fresh for REST,
 * the loop's own for publishing) shows not running, or with no probe yet. A postmaster the last
 * loop saw running but the probe does not is `unknown` at once (Patroni's answer when its status
 * query fails), never the last loop's `running`: health checks answer 503 without waiting a tick.
 */
export function memberState(rt: Readonly<AgentState>, probe: Probe | null): MemberState {
  const m = rt.memory;
  const obs = rt.lastObservation;
  if (m.inFlight) {
    switch (m.inFlight.kind) {
      case 'bootstrap':
        return 'initializing new cluster';
      case 'clone':
      case 'reinitialize':
        return 'creating replica';
      case 'rewind':
        return 'rewinding';
      case 'restart':
        return 'restarting';
      case 'startPrimary':
      case 'startReplica':
        return 'starting';
    }
  }
  if (probe?.running) return 'running';
  if (obs?.pg.running) return 'unknown';
  if (m.lastFailure) {
    switch (m.lastFailure.kind) {
      case 'bootstrap':
        return 'initdb failed';
      case 'clone':
      case 'reinitialize':
        return 'clone failed';
      case 'rewind':
        return 'rewind failed';
      case 'restart':
        return 'restart failed';
      case 'startPrimary':
      case 'startReplica':
        return 'start failed';
    }
  }
  if (!obs) return 'stopped';
  if (obs.pg.dataDir === 'empty') return obs.dcs.ok && obs.dcs.cluster.leader ? 'creating replica' : 'waiting for leader';
  const cs = obs.pg.controlState;
  if (cs === 'in production' || cs === 'in crash recovery' || cs === 'in archive recovery' || cs === 'starting up') return 'crashed';
  return 'stopped';
}
