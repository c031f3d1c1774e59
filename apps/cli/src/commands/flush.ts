import { Option, type Command } from 'commander';
import { forceOption, type Register } from '../command.ts';
import { bodyText, type Ctl } from '../context.ts';
import { CliError, EXIT, failed, usageError } from '../errors.ts';
import { Asker } from '../interact.ts';
import { leaderFirst, parseRole, ROLES, selectMembers, splitClusterArg, target, type Role } from '../members.ts';

const TARGETS = ['restart', 'switchover'] as const;

/** Cancels scheduled restarts (DELETE /restart per member) or the scheduled switchover (DELETE /switchover). */
export async function flush(ctl: Ctl, args: readonly string[], o: { role: Role; force?: boolean }): Promise<void> {
  // `flush restart [member...]`, or patronictl's order `flush <cluster> [member...] restart`
  const at = args.findIndex((a) => (TARGETS as readonly string[]).includes(a));
  if (at < 0) throw usageError('flush what? name restart or switchover');
  const what = args[at] as (typeof TARGETS)[number];
  const others = [...args.slice(0, at), ...args.slice(at + 1)];
  const { cluster, rest: names } = at === 0 ? { cluster: undefined, rest: others } : splitClusterArg(others, ctl.settings.scope);
  const scope = ctl.scope(cluster);
  const snap = await ctl.readCluster(scope);

  if (what === 'restart') {
    const members = await selectMembers(ctl, snap, scope, { names, role: o.role, action: 'flush', force: o.force ?? false, asker: new Asker(ctl.io, 'flush') });
    if (!o.force) await new Asker(ctl.io, 'flush').confirm(`Are you sure you want to flush members ${members.map((m) => m.name).join(', ')}?`, 'Aborted flush');
    let worst: number = EXIT.ok;
    for (const m of members) {
      if (!m.value.scheduled_restart) {
        ctl.io.out(`No scheduled restart for member ${m.name}`);
        continue;
      }
      const r = await ctl.request(target(m), 'DELETE', 'restart');
      if (r.status < 400) ctl.io.out(`Success: flush scheduled restart for member ${m.name}`);
      else {
        ctl.io.out(`Failed: flush scheduled restart for member ${m.name}, status code=${r.status}, (${bodyText(r.text)})`);
        worst = EXIT.failed;
      }
    }
    if (worst !== EXIT.ok) throw new CliError(EXIT.failed, '', { reported: true });
    return;
  }

  if (!snap.failover?.value.scheduled_at) {
    ctl.io.out('No pending scheduled switchover');
    return;
  }
  for (const m of leaderFirst(snap)) {
    let r;
    try {
      r = await ctl.request(target(m), 'DELETE', 'switchover');
    } catch (e) {
      if (!(e instanceof CliError) || e.exitCode !== EXIT.unreachable) throw e;
      ctl.io.err(`Warning: ${e.message}; trying another member`);
      continue;
    }
    if (r.status === 200) return ctl.io.out(`Success: ${bodyText(r.text)}`);
    ctl.io.out(`Failed: ${r.status === 404 ? bodyText(r.text) : `member=${m.name}, status_code=${r.status}, (${bodyText(r.text)})`}`);
    throw new CliError(EXIT.failed, '', { reported: true });
  }
  throw failed(`Could not find any accessible member of cluster ${scope}`);
}

export const register: Register = (program: Command, run) => {
  program
    .command('flush')
    .description('Cancel scheduled events: `flush restart [member...]` or `flush switchover`')
    .argument('<what...>', 'restart [member...] | switchover')
    .addOption(new Option('-r, --role <role>', 'only members with this role').choices([...ROLES]).default('any'))
    .addOption(forceOption())
    .action((args: string[], o: { role: string; force?: boolean }) => run((ctl) => flush(ctl, args, { ...o, role: parseRole(o.role) })));
};
