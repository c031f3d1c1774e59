import type { Command } from 'commander';
import { watchOptions, type Register } from '../command.ts';
import { intervalOf, showMembers } from './list.ts';

export const register: Register = (program: Command, run) => {
  const cmd = program
    .command('topology')
    .description('Show the members as a replication tree: the leader, then each replica under its source')
    .argument('[cluster...]', 'cluster names (default: the configured scope)')
    .option('-t, --timestamp', 'print a timestamp first');
  watchOptions(cmd).action((clusters: string[], o: { timestamp?: boolean; W?: boolean; watch?: string }) =>
    run((ctl) => showMembers(ctl, clusters, { fmt: 'topology', timestamp: o.timestamp ?? false, interval: intervalOf(o) })),
  );
};
