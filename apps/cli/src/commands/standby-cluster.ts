import type { ClusterSnapshot } from '@keel/dcs';
import { Option, type Command } from 'commander';
import { forceOption, type Register } from '../command.ts';
import type { Ctl } from '../context.ts';
import { CliError, EXIT, failed, usageError } from '../errors.ts';
import { Asker } from '../interact.ts';
import { patchConfig } from './pause.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Patroni's is_standby_cluster: standby_cluster names a host, a port or a restore_command. */
export function isStandbyCluster(snap: ClusterSnapshot): boolean {
  const sc = snap.config?.value.standby_cluster;
  return sc != null && typeof sc === 'object' && Boolean(sc.host || sc.port || sc.restore_command);
}

export interface DemoteOptions {
  host?: string;
  port?: string;
  primarySlotName?: string;
  restoreCommand?: string;
  force?: boolean;
  wait?: boolean;
  pollMs?: number;
}

/** The standby_cluster section demote-cluster writes; a usage error when it would not say where from. */
export function standbyClusterFromOptions(o: DemoteOptions): Record<string, string | number> {
  if (!o.host && !o.restoreCommand) throw usageError('At least --host or --restore-command should be specified');
  const sc: Record<string, string | number> = {};
  if (o.host) sc['host'] = o.host;
  if (o.port !== undefined) {
    const port = /^\d{1,5}$/.test(o.port) ? Number(o.port) : NaN;
    if (!(port >= 1 && port <= 65535)) throw usageError(`--port: expected a port number from 1 to 65535, got ${JSON.stringify(o.port)}`);
    sc['port'] = port;
  }
  if (o.primarySlotName) sc['primary_slot_name'] = o.primarySlotName;
  if (o.restoreCommand) sc['restore_command'] = o.restoreCommand;
  return sc;
}

/**
 * demote-cluster (Patroni 4's patronictl): make this cluster a standby cluster following another site.
 * PATCH /config {"standby_cluster": {...}} (checked by the agent: nothing reaches the DCS when it is
 * wrong); the leader stops and comes back as the standby leader. Waits until the leader's member key
 * says standby_leader.
 */
export async function demoteCluster(ctl: Ctl, cluster: string | undefined, o: DemoteOptions): Promise<void> {
  const scope = ctl.scope(cluster);
  const sc = standbyClusterFromOptions(o);
  const snap = await ctl.readCluster(scope);
  if (isStandbyCluster(snap)) throw failed('Cluster is already in the standby mode');
  if (!o.force) await new Asker(ctl.io, 'demote the cluster').confirm(`Are you sure you want to demote the ${scope} cluster to a standby cluster?`, 'Aborted cluster demotion');
  await patchConfig(ctl, snap, { standby_cluster: sc }, 'demote cluster');
  if (o.wait !== false) await waitForLeaderRole(ctl, scope, 'standby_leader', snap, o.pollMs ?? 500);
  ctl.io.out(`Success: the ${scope} cluster is a standby cluster following ${sc['host'] ?? 'the archive'}${sc['port'] ? `:${sc['port']}` : ''}`);
}

/**
 * promote-cluster: PATCH /config {"standby_cluster": null}; the standby leader (and only it: it holds
 * the lock) promotes. Waits until the leader's member key says it is the primary.
 */
export async function promoteCluster(ctl: Ctl, cluster: string | undefined, o: { force?: boolean; wait?: boolean; pollMs?: number }): Promise<void> {
  const scope = ctl.scope(cluster);
  const snap = await ctl.readCluster(scope);
  if (!isStandbyCluster(snap)) throw failed('Cluster is not in the standby mode');
  if (!o.force) await new Asker(ctl.io, 'promote the cluster').confirm(`Are you sure you want to promote the ${scope} cluster?`, 'Aborted cluster promotion');
  await patchConfig(ctl, snap, { standby_cluster: null }, 'promote cluster');
  if (o.wait !== false) await waitForLeaderRole(ctl, scope, 'primary', snap, o.pollMs ?? 500);
  ctl.io.out(`Success: the ${scope} cluster is promoted; its leader accepts writes`);
}

async function waitForLeaderRole(ctl: Ctl, scope: string, role: 'primary' | 'standby_leader', before: ClusterSnapshot, pollMs: number): Promise<void> {
  const c = before.config?.value ?? {};
  const budgetS = (c.loop_wait ?? 10) * 2 + (c.ttl ?? 30) + 30;
  const until = Date.now() + budgetS * 1000;
  const wanted = role === 'primary' ? ['primary', 'master'] : ['standby_leader'];
  let seen = 'unknown';
  while (Date.now() < until) {
    const snap = await ctl.readCluster(scope);
    const leader = snap.leader?.name ? snap.members.find((m) => m.name === snap.leader!.name) : undefined;
    seen = leader ? `${leader.name} is ${leader.value.role} (${leader.value.state})` : 'no leader';
    if (leader && wanted.includes(leader.value.role) && leader.value.state === 'running') return;
    await sleep(pollMs);
  }
  ctl.io.out(`The leader did not become ${role === 'primary' ? 'the primary' : 'a standby leader'} within ${budgetS} seconds: ${seen}`);
  throw new CliError(EXIT.failed, '', { reported: true });
}

export const register: Register = (program: Command, run) => {
  program
    .command('demote-cluster')
    .description('Make the cluster a standby cluster following another site (PATCH /config {"standby_cluster": ...})')
    .argument('[cluster]', 'cluster name (default: the configured scope)')
    .option('--host <host>', 'the other site to stream from')
    .option('--port <port>', 'its port')
    .option('--primary-slot-name <name>', 'the replication slot to use on the other site')
    .option('--restore-command <command>', 'restore WAL from the other site\'s archive (the agents must allow it from the DCS)')
    .addOption(forceOption())
    .addOption(new Option('--no-wait', 'do not wait for the leader to become a standby leader'))
    .action((cluster: string | undefined, o: DemoteOptions) => run((ctl) => demoteCluster(ctl, cluster, o)));
  program
    .command('promote-cluster')
    .description('Promote a standby cluster: remove standby_cluster, its standby leader becomes the primary')
    .argument('[cluster]', 'cluster name (default: the configured scope)')
    .addOption(forceOption())
    .addOption(new Option('--no-wait', 'do not wait for the leader to become the primary'))
    .action((cluster: string | undefined, o: { force?: boolean; wait?: boolean }) => run((ctl) => promoteCluster(ctl, cluster, o)));
};
