import type { Command } from 'commander';
import { forceOption, type Register } from '../command.ts';
import { handover } from '../handover.ts';

export const register: Register = (program: Command, run) => {
  program
    .command('switchover')
    .description('Hand the leader role over to a replica, gracefully (POST /switchover to the leader)')
    .argument('[cluster]', 'cluster name (default: the configured scope)')
    .option('--leader, --primary <name>', 'the current leader (checked)')
    .option('--master <name>', 'alias of --leader (deprecated)')
    .option('--candidate <name>', 'the member to promote (default: the agent picks the best replica)')
    .option('--scheduled <timestamp>', 'when, ISO 8601 (e.g. 2026-11-26T13:00+00:00); default now')
    .addOption(forceOption())
    .action((cluster: string | undefined, o: { leader?: string; primary?: string; master?: string; candidate?: string; scheduled?: string; force?: boolean }) =>
      run((ctl) => {
        const leader = o.leader ?? o.primary ?? o.master;
        return handover(ctl, 'switchover', {
          ...(cluster !== undefined ? { cluster } : {}),
          ...(leader !== undefined ? { leader } : {}),
          ...(o.candidate !== undefined ? { candidate: o.candidate } : {}),
          ...(o.scheduled !== undefined ? { scheduled: o.scheduled } : {}),
          force: o.force ?? false,
        });
      }),
    );
};
