import type { Command } from 'commander';
import type { Register } from '../command.ts';
import { failed } from '../errors.ts';
import { dumpYaml } from '../render/yaml.ts';

export const register: Register = (program: Command, run) => {
  program
    .command('show-config')
    .description('Show the dynamic configuration (the /config key) as YAML')
    .argument('[cluster]', 'cluster name (default: the configured scope)')
    .action((cluster: string | undefined) =>
      run(async (ctl) => {
        const scope = ctl.scope(cluster);
        const snap = await ctl.readCluster(scope);
        if (!snap.config) throw failed(`cluster ${scope} has no configuration in etcd yet (is it bootstrapped?)`);
        // safe_dump's text ends with a newline and patronictl echoes it: a blank line closes the output.
        ctl.io.out(dumpYaml(snap.config.value));
      }),
    );
};
