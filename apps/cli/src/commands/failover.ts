import type { Command } from 'commander';
import { forceOption, type Register } from '../command.ts';
import { handover } from '../handover.ts';

export const register: Register = (program: Command, run) => {
  program
    .command('failover')
    .description('Promote a specific replica, also when the cluster has no healthy leader (POST /failover)')
    .argument('[cluster]', 'cluster name (default: the configured scope)')
    .option('--candidate <name>', 'the member to promote')
    .option('--leader, --primary <name>', 'the current leader: makes it a switchover, as in patronictl')
    .addOption(forceOption())
    .action((cluster: string | undefined, o: { leader?: string; primary?: string; candidate?: string; force?: boolean }) =>
      run((ctl) => {
        const leader = o.leader ?? o.primary;
        return handover(ctl, 'failover', {
          ...(cluster !== undefined ? { cluster } : {}),
          ...(leader !== undefined ? { leader } : {}),
          ...(o.candidate !== undefined ? { candidate: o.candidate } : {}),
          force: o.force ?? false,
        });
      }),
    );
};
