import { Option, type Command } from 'commander';
import { forceOption, type Register } from '../command.ts';
import { bodyText, type Ctl } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
import { Asker } from '../interact.ts';
import { parseRole, ROLES, selectMembers, splitClusterArg, target, type Role } from '../members.ts';

/** Makes members re-read their configuration file (POST /reload to each). */
export async function reload(ctl: Ctl, args: readonly string[], o: { role: Role; force?: boolean }): Promise<void> {
  const { cluster, rest: names } = splitClusterArg(args, ctl.settings.scope);
  const scope = ctl.scope(cluster);
  const asker = new Asker(ctl.io, 'reload');
  const snap = await ctl.readCluster(scope);
  const members = await selectMembers(ctl, snap, scope, { names, role: o.role, action: 'reload', force: o.force ?? false, asker });
  if (!o.force) await asker.confirm(`Are you sure you want to reload members ${members.map((m) => m.name).join(', ')}?`, 'Aborted reload');
  const loopWait = snap.config?.value.loop_wait ?? 10;
  let worst: number = EXIT.ok;
  for (const m of members) {
    try {
      const r = await ctl.request(target(m), 'POST', 'reload');
      if (r.status === 200) ctl.io.out(`No changes to apply on member ${m.name}`);
      else if (r.status === 202) ctl.io.out(`Reload request received for member ${m.name} and will be processed within ${loopWait} seconds`);
      else {
        ctl.io.out(`Failed: reload for member ${m.name}, status code=${r.status}, (${bodyText(r.text)})`);
        worst = Math.max(worst, EXIT.failed);
      }
    } catch (e) {
      if (!(e instanceof CliError) || e.exitCode !== EXIT.unreachable) throw e;
      ctl.io.out(`Failed: reload for member ${m.name}: ${e.message}`);
      worst = EXIT.unreachable;
    }
  }
  if (worst !== EXIT.ok) throw new CliError(worst as 1 | 3, '', { reported: true });
}

export const register: Register = (program: Command, run) => {
  program
    .command('reload')
    .description('Make members re-read their configuration file (POST /reload); all members when none is named')
    .argument('[member...]', 'members to reload')
    .addOption(new Option('-r, --role <role>', 'only members with this role').choices([...ROLES]).default('any'))
    .addOption(forceOption())
    .action((members: string[], o: { role: string; force?: boolean }) => run((ctl) => reload(ctl, members, { ...o, role: parseRole(o.role) })));
};
