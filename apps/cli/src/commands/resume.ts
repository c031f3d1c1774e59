import type { Command } from 'commander';
import type { Register } from '../command.ts';
import { togglePause } from './pause.ts';

export const register: Register = (program: Command, run) => {
  program
    .command('resume')
    .description('Leave maintenance mode: automatic failover again (PATCH /config {"pause": null})')
    .argument('[cluster]', 'cluster name (default: the configured scope)')
    .option('--wait', 'wait until every member has seen it')
    .action((cluster: string | undefined, o: { wait?: boolean }) =>
      run((ctl) => togglePause(ctl, false, { ...(cluster !== undefined ? { cluster } : {}), wait: o.wait ?? false })),
    );
};
