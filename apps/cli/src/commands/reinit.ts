import { parseNodeStatus, ZReinitializeRequest } from '@keel/protocol';
import { requestBody } from '../bodies.ts';
import type { Command } from 'commander';
import type { MemberRecord } from '@keel/dcs';
import { forceOption, type Register } from '../command.ts';
import { bodyText, type Ctl } from '../context.ts';
import { CliError, EXIT } from '../errors.ts';
import { Asker } from '../interact.ts';
import { selectMembers, splitClusterArg, target } from '../members.ts';

export interface ReinitOptions {
  fromLeader?: boolean;
  force?: boolean;
  wait?: boolean;
  /** Poll interval of --wait (tests shorten it). */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface NodeStatus {
  state?: string;
  postmaster_start_time?: string;
}

async function status(ctl: Ctl, m: MemberRecord): Promise<NodeStatus | null> {
  try {
    const r = await ctl.request(target(m), 'GET', 'patroni', { timeoutMs: 5000 });
    return parseNodeStatus(r.text);
  } catch {
    return null;
  }
}

/** Wipes replicas' data directories and clones them again (POST /reinitialize to each). */
export async function reinit(ctl: Ctl, args: readonly string[], o: ReinitOptions): Promise<void> {
  const { cluster, rest: names } = splitClusterArg(args, ctl.settings.scope);
  const scope = ctl.scope(cluster);
  const asker = new Asker(ctl.io, 'reinitialize');
  const snap = await ctl.readCluster(scope);
  const members = await selectMembers(ctl, snap, scope, { names, role: 'replica', action: 'reinitialize', force: o.force ?? false, asker, allByDefault: false });
  if (!o.force) await asker.confirm(`Are you sure you want to reinitialize members ${members.map((m) => m.name).join(', ')}?`, 'Aborted reinitialize');

  let worst: number = EXIT.ok;
  const waitOn: Array<{ m: MemberRecord; before: NodeStatus | null }> = [];
  for (const m of members) {
    const before = o.wait ? await status(ctl, m) : null;
    const body = requestBody(ZReinitializeRequest, { force: o.force ?? false, ...(o.fromLeader ? { from_leader: true } : {}) });
    for (;;) {
      const r = await ctl.request(target(m), 'POST', 'reinitialize', { body });
      const text = bodyText(r.text);
      if (r.status < 400) {
        ctl.io.out(`Success: reinitialize for member ${m.name}`);
        if (o.wait) waitOn.push({ m, before });
        break;
      }
      ctl.io.out(`Failed: reinitialize for member ${m.name}, status code=${r.status}, (${text})`);
      if (/already in progress$/.test(text) && !body.force && ctl.io.interactive) {
        const answer = (await ctl.io.ask('Do you want to cancel it and reinitialize anyway? [y/N]: ')).toLowerCase();
        if (answer === 'y' || answer === 'yes') {
          body.force = true;
          continue;
        }
      }
      worst = EXIT.failed;
      break;
    }
  }

  if (waitOn.length > 0) {
    ctl.io.out(`Waiting for reinitialize to complete on: ${waitOn.map((w) => w.m.name).join(', ')}`);
    const pending = [...waitOn];
    while (pending.length > 0) {
      await sleep(o.pollMs ?? 2000);
      for (const w of [...pending]) {
        const s = await status(ctl, w.m);
        if (!s?.state) continue;
        if (s.state.endsWith('failed')) {
          ctl.io.out(`Reinitialize failed on: ${w.m.name} (state: ${s.state})`);
          worst = EXIT.failed;
          pending.splice(pending.indexOf(w), 1);
        } else if (s.state === 'running' && s.postmaster_start_time !== w.before?.postmaster_start_time) {
          ctl.io.out(`Reinitialize is completed on: ${w.m.name}`);
          pending.splice(pending.indexOf(w), 1);
        }
      }
    }
  }
  if (worst !== EXIT.ok) throw new CliError(EXIT.failed, '', { reported: true });
}

export const register: Register = (program: Command, run) => {
  program
    .command('reinit')
    .description("Reinitialize replicas: wipe the data directory and clone it again (POST /reinitialize)")
    .argument('[member...]', 'the replicas to reinitialize')
    .option('--from-leader', 'take the base backup from the leader')
    .option('--wait', 'wait until the reinitialization completes')
    .addOption(forceOption())
    .action((members: string[], o: ReinitOptions) => run((ctl) => reinit(ctl, members, o)));
};
