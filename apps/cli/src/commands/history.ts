import type { Command } from 'commander';
import { formatOption, type Register } from '../command.ts';
import { renderHistory } from '../render/history.ts';
import type { Format } from '../render/output.ts';

export const register: Register = (program: Command, run) => {
  program
    .command('history')
    .description('Show the history of failovers and switchovers (the /history key)')
    .argument('[cluster]', 'cluster name (default: the configured scope)')
    .addOption(formatOption())
    .action((cluster: string | undefined, o: { format: Format }) =>
      run(async (ctl) => {
        const snap = await ctl.readCluster(ctl.scope(cluster));
        ctl.io.out(renderHistory(snap.history, o.format));
      }),
    );
};
