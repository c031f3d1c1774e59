import type { Command } from 'commander';
import { dcsKeys } from '@keel/protocol';
import { formatOption, watchInterval, watchOptions, type Register } from '../command.ts';
import type { Ctl } from '../context.ts';
import { CliError, EXIT, usageError } from '../errors.ts';
import { timestamp } from '../interact.ts';
import { clusterView } from '../render/cluster.ts';
import { renderMembers } from '../render/members.ts';
import type { Format } from '../render/output.ts';

export interface ShowMembersOptions {
  fmt: Format;
  extended?: boolean;
  timestamp?: boolean;
  /** Seconds between refreshes; null: print once. */
  interval: number | null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** list and topology: each cluster's table (read from etcd), once or every `interval` seconds. */
export async function showMembers(ctl: Ctl, clusters: readonly string[], o: ShowMembersOptions): Promise<void> {
  const scopes = clusters.length > 0 ? clusters : [ctl.scope()];
  const once = async () => {
    const parts: string[] = [];
    if (o.timestamp) parts.push(timestamp(new Date(), 0));
    for (const scope of scopes) {
      const snap = await ctl.readCluster(scope);
      for (const w of snap.warnings) ctl.io.err(`Warning: ${w}`);
      if (snap.members.length === 0 && snap.initialize === null && snap.config === null) {
        ctl.io.err(`Warning: etcd has nothing under ${dcsKeys(ctl.settings.namespace, scope).base}: check the scope and the namespace`);
      }
      parts.push(renderMembers(clusterView(snap, scope), { fmt: o.fmt, extended: o.extended ?? false }));
    }
    ctl.io.out(parts.join('\n'));
  };
  if (o.interval === null) return once();
  // Ctrl-C is how a watch ends: that is success, not an interruption
  process.once('SIGINT', () => process.exit(0));
  for (;;) {
    if (ctl.io.stdoutIsTTY) process.stdout.write('\x1b[2J\x1b[1;1H');
    try {
      await once();
    } catch (e) {
      // Keep watching through an etcd outage; anything else ends the watch.
      if (!(e instanceof CliError) || e.exitCode !== EXIT.unreachable) throw e;
      ctl.io.err(`Error: ${e.message}`);
    }
    await sleep(o.interval * 1000);
  }
}

export function intervalOf(o: { W?: boolean; watch?: string }): number | null {
  const interval = watchInterval(o);
  if (o.watch !== undefined && interval === null) throw usageError(`--watch ${o.watch}: expected a number of seconds > 0`);
  return interval;
}

export const register: Register = (program: Command, run) => {
  const cmd = program
    .command('list')
    .description('List the members of the cluster (read from etcd)')
    .argument('[cluster...]', 'cluster names (default: the configured scope)')
    .option('-e, --extended', 'always show the Pending restart, Scheduled restart and Tags columns')
    .option('-t, --timestamp', 'print a timestamp first')
    .addOption(formatOption());
  watchOptions(cmd).action((clusters: string[], o: { extended?: boolean; timestamp?: boolean; format: Format; W?: boolean; watch?: string }) =>
    run((ctl) => showMembers(ctl, clusters, { fmt: o.format, extended: o.extended ?? false, timestamp: o.timestamp ?? false, interval: intervalOf(o) })),
  );
};
