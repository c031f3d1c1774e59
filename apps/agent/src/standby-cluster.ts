/**
 * A standby cluster's link to the other site (standby_cluster in the dynamic configuration): where
 * its standby leader streams from, with which slot, and the recovery settings every member of the
 * standby cluster gets (Patroni passes restore_command and archive_cleanup_command to all of them).
 */

import { REMOTE_UPSTREAM } from '@keel/ha-core';
import type { TStandbyCluster } from '@keel/protocol';
import { formatHostPort } from './config/address.ts';
import type { Runtime } from './runtime.ts';

type Gucs = Record<string, string | number | boolean>;

/** standby_cluster as the agent runs with it (the adopted /config, else bootstrap.dcs); null: not a standby cluster. */
export function standbyClusterConfig(rt: Pick<Runtime, 'settings' | 'dynamicConfig' | 'config'>): TStandbyCluster | null {
  if (rt.settings.standbyCluster == null) return null;
  return (rt.dynamicConfig ?? rt.config.bootstrap?.dcs)?.standby_cluster ?? null;
}

export function isRemoteUpstream(upstream: string | null): boolean {
  return upstream === REMOTE_UPSTREAM;
}

/** The other site's PostgreSQL, or null when the standby cluster restores from the archive only. */
export function remoteSource(sc: TStandbyCluster): { host: string; port: number } | null {
  const host = sc.host?.trim();
  return host ? { host, port: sc.port ?? 5432 } : null;
}

/** "host:port" (for the member state, the log and the control plane), or null for archive only. */
export function remoteAddress(sc: TStandbyCluster | null): string | null {
  const src = sc === null ? null : remoteSource(sc);
  return src === null ? null : formatHostPort(src.host, src.port);
}

/** The recovery settings standby_cluster adds for every member (the local recovery_conf wins). */
export function standbyRecovery(sc: TStandbyCluster | null): Gucs {
  if (sc === null) return {};
  const out: Gucs = {};
  if (sc.restore_command) out['restore_command'] = sc.restore_command;
  if (sc.archive_cleanup_command) out['archive_cleanup_command'] = sc.archive_cleanup_command;
  if (sc.recovery_min_apply_delay !== undefined) out['recovery_min_apply_delay'] = sc.recovery_min_apply_delay;
  return out;
}
