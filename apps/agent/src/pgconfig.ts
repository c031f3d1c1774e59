import type { Observation } from '@keel/ha-core';
import { slotNameForMember } from '@keel/protocol';
import type { Runtime } from './runtime.ts';
import { isRemoteUpstream, remoteSource, standbyClusterConfig, standbyRecovery } from './standby-cluster.ts';

type Gucs = Record<string, string | number | boolean>;

/**
 * Parameters Keel needs for streaming replication and pg_rewind. The DCS /config and the local
 * YAML override them (local wins), as in Patroni.
 */
export const KEEL_DEFAULT_PARAMETERS: Gucs = {
  wal_level: 'replica',
  hot_standby: 'on',
  max_wal_senders: 10,
  max_replication_slots: 10,
  wal_keep_size: '128MB',
  wal_log_hints: 'on',
};

export function effectiveParameters(rt: Runtime): Gucs {
  const dynamic = (rt.dynamicConfig ?? rt.config.bootstrap?.dcs)?.postgresql?.parameters ?? {};
  const params: Gucs = { ...KEEL_DEFAULT_PARAMETERS, ...dynamic, ...(rt.config.postgresql.parameters ?? {}) };
  // Patroni: a replica keeping copies of logical slots needs hot_standby_feedback, or the primary may
  // vacuum catalog rows those slots still need (ignored on a primary)
  if (Object.values(rt.settings.permanentSlots ?? {}).some((s) => s.type === 'logical')) params['hot_standby_feedback'] = 'on';
  return params;
}

/**
 * synchronous_mode owns synchronous_standby_names (as in Patroni): a primary gets what its leader loop
 * chose (rt.syncStandbyNames), a replica none, so that it never promotes with a stale list.
 */
export function withSyncStandbyNames(rt: Runtime, params: Gucs, primary: boolean): Gucs {
  if (!rt.settings.synchronousMode && rt.syncStandbyNames === null) return params;
  const out = { ...params };
  delete out['synchronous_standby_names'];
  if (primary && rt.syncStandbyNames !== null) out['synchronous_standby_names'] = rt.syncStandbyNames;
  return out;
}

/** host/port from a member's conn_url (postgres://host:port/postgres). */
export function connOf(obs: Observation | null, member: string): { host: string; port: number } {
  const m = obs?.dcs.ok ? obs.dcs.cluster.members.find((x) => x.name === member) : undefined;
  if (!m) throw new Error(`member ${member} is not registered in the DCS`);
  const u = new URL(m.connUrl);
  return { host: u.hostname, port: Number(u.port || 5432) };
}

/** Write postgresql.conf / pg_hba.conf / standby.signal for the given upstream (null = primary). */
export async function writePgConfig(
  rt: Runtime,
  standby: { upstream: string | null } | null,
  opts: { syncStandbyNames?: string; recovery?: Gucs; recoverySignal?: boolean; keepSignals?: boolean } = {},
): Promise<void> {
  const params = withSyncStandbyNames(rt, effectiveParameters(rt), standby === null);
  // Strict synchronous mode: a replica about to be promoted gets '*' first, so it never accepts a
  // non-synchronous commit (PostgreSQL ignores the setting until it is a primary).
  if (opts.syncStandbyNames !== undefined) params['synchronous_standby_names'] = opts.syncStandbyNames;
  rt.pg.setParameters(params);
  if (!standby) {
    await rt.pg.writeConfig({
      standby: null,
      ...(opts.recovery ? { recovery: opts.recovery } : {}),
      ...(opts.recoverySignal ? { recoverySignal: true } : {}),
      ...(opts.keepSignals ? { keepSignals: true } : {}),
    });
    return;
  }
  const sc = standbyClusterConfig(rt);
  // the standby leader streams from the other site (standby_cluster.host:port, its primary_slot_name)
  // standby_cluster just removed (promote-cluster) before the standby leader promoted: no upstream meanwhile
  const remote = isRemoteUpstream(standby.upstream);
  const conn = remote ? (sc === null ? null : remoteSource(sc)) : standby.upstream ? connOf(rt.lastObservation, standby.upstream) : null;
  const slotName = remote ? (sc?.primary_slot_name ?? null) : rt.settings.useSlots ? slotNameForMember(rt.config.name) : null;
  const recovery = { ...standbyRecovery(sc), ...rt.config.postgresql.recovery_conf };
  await rt.pg.writeConfig({ standby: { primaryConninfo: conn, slotName }, ...(Object.keys(recovery).length > 0 ? { recovery } : {}) });
}

/** Rewrite the configuration for the role PostgreSQL runs in now (reload, DCS parameter changes). */
export async function rewriteCurrentConfig(rt: Runtime): Promise<void> {
  const primary = rt.lastProbe?.running && rt.lastProbe.role === 'primary';
  await writePgConfig(rt, primary ? null : { upstream: rt.memory.following });
}
