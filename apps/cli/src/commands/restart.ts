import { ZRestartRequest } from '@keel/protocol';
import { requestBody } from '../bodies.ts';
import { Option, type Command } from 'commander';
import { forceOption, type Register } from '../command.ts';
import { bodyText, type Ctl } from '../context.ts';
import { CliError, EXIT, failed, usageError } from '../errors.ts';
import { Asker, nextHourExample, parseScheduled } from '../interact.ts';
import { parseRole, ROLES, selectMembers, splitClusterArg, target, type Role } from '../members.ts';
import { clusterView } from '../render/cluster.ts';

export interface RestartOptions {
  role: Role;
  any?: boolean;
  pending?: boolean;
  scheduled?: string;
  pgVersion?: string;
  timeout?: string;
  force?: boolean;
}

/** The body of POST /restart (Patroni's names). */
export function restartBody(o: RestartOptions, scheduledAt: string | null): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (o.pending) body.restart_pending = true;
  if (o.pgVersion) {
    if (!/^\d+(?:\.\d+){0,2}$/.test(o.pgVersion)) throw usageError(`--pg-version ${o.pgVersion}: expected a PostgreSQL version such as 15.4 or 9.6.24`);
    body.postgres_version = o.pgVersion;
  }
  if (scheduledAt) body.schedule = scheduledAt;
  if (o.timeout !== undefined) {
    const t = Number(o.timeout);
    if (!(t > 0) || !Number.isFinite(t)) throw usageError(`--timeout ${o.timeout}: expected a number of seconds > 0`);
    body.timeout = t;
  }
  return requestBody(ZRestartRequest, body);
}

const RESTART_TIMEOUT_MS = 600_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits (at most budgetS) until the named members' keys say running with no pending restart. */
async function settled(ctl: Ctl, scope: string, names: readonly string[], budgetS: number): Promise<void> {
  const until = Date.now() + budgetS * 1000;
  while (names.length > 0 && Date.now() < until) {
    const snap = await ctl.readCluster(scope);
    const done = names.every((n) => {
      const v = snap.members.find((m) => m.name === n)?.value;
      return v?.state === 'running' && !v.pending_restart;
    });
    if (done) return;
    await sleep(250);
  }
}

export async function restart(ctl: Ctl, args: readonly string[], o: RestartOptions): Promise<void> {
  const { cluster, rest: names } = splitClusterArg(args, ctl.settings.scope);
  const scope = ctl.scope(cluster);
  const asker = new Asker(ctl.io, 'restart');
  // validate the flags before anything is asked or read
  restartBody(o, o.scheduled === undefined ? null : parseScheduled(o.scheduled));
  const snap = await ctl.readCluster(scope);
  let members = await selectMembers(ctl, snap, scope, { names, role: o.role, action: 'restart', force: o.force ?? false, asker });

  let when = o.scheduled;
  if (when === undefined && !o.force) when = await asker.ask(`When should the restart take place (e.g. ${nextHourExample()}) `, 'now');
  const scheduledAt = parseScheduled(when);
  if (!o.force) {
    const list = members.map((m) => m.name).join(', ');
    if (scheduledAt) await asker.confirm(`Are you sure you want to schedule restart of members ${list} at ${scheduledAt}?`, 'Aborted scheduled restart');
    else await asker.confirm(`Are you sure you want to restart members ${list}?`, 'Aborted restart');
  }
  if (o.any) members = [members[Math.floor(Math.random() * members.length)]!];
  if (scheduledAt && clusterView(snap, scope).pause) throw failed("Can't schedule restart in the paused state");
  const body = restartBody(o, scheduledAt);
  const conditional = Boolean(o.pending || o.pgVersion);

  // Replicas first: raising a shared-memory GUC (max_connections ...) needs the standbys restarted before
  // the primary. The agent answers 412 when the order is wrong (a decrease wants the primary first): such a
  // member is retried after the others, for as long as a round makes progress.
  const leaderName = snap.leader?.name;
  let pending = [...members.filter((m) => m.name !== leaderName), ...members.filter((m) => m.name === leaderName)];
  let worst: number = EXIT.ok;
  for (;;) {
    const deferred: Array<{ m: (typeof members)[number]; text: string }> = [];
    const restarted: string[] = [];
    let progress = false;
    for (const m of pending) {
      try {
        if (scheduledAt && o.force && m.value.scheduled_restart) {
          const r = await ctl.request(target(m), 'DELETE', 'restart');
          if (r.status >= 400) ctl.io.out(`Failed: flush scheduled restart for member ${m.name}, status code=${r.status}, (${bodyText(r.text)})`);
        }
        const r = await ctl.request(target(m), 'POST', 'restart', { body, timeoutMs: RESTART_TIMEOUT_MS });
        const text = bodyText(r.text);
        if (r.status === 200 || r.status === 202) {
          ctl.io.out(r.status === 200 ? `Success: restart on member ${m.name}` : `Success: restart scheduled on member ${m.name}`);
          if (r.status === 200) restarted.push(m.name);
          progress = true;
        } else if (r.status === 409) {
          ctl.io.out(`Failed: another restart is already scheduled on member ${m.name}`);
          worst = Math.max(worst, EXIT.failed);
        } else if (r.status === 503 && conditional && /conditions are not satisfied/i.test(text)) {
          ctl.io.out(`Skipped: member ${m.name} (${text})`);
        } else if (r.status === 412 && pending.length > 1) {
          deferred.push({ m, text });
        } else {
          ctl.io.out(`Failed: restart for member ${m.name}, status code=${r.status}, (${text})`);
          worst = Math.max(worst, EXIT.failed);
        }
      } catch (e) {
        if (!(e instanceof CliError) || e.exitCode !== EXIT.unreachable) throw e;
        ctl.io.out(`Failed: restart for member ${m.name}: ${e.message}`);
        worst = EXIT.unreachable;
      }
    }
    if (deferred.length === 0) break;
    if (!progress) {
      for (const d of deferred) ctl.io.out(`Failed: restart for member ${d.m.name}, status code=412, (${d.text})`);
      worst = Math.max(worst, EXIT.failed);
      break;
    }
    for (const d of deferred) ctl.io.out(`Deferred: member ${d.m.name} (${d.text}); trying again`);
    // the agent judges the order from the member keys: let the restarted members publish their new state
    await settled(ctl, scope, restarted, (snap.config?.value.loop_wait ?? 10) * 2 + 5);
    pending = deferred.map((d) => d.m);
  }
  if (worst !== EXIT.ok) throw new CliError(worst as 1 | 3, '', { reported: true });
}

export const register: Register = (program: Command, run) => {
  program
    .command('restart')
    .description('Restart PostgreSQL on members (POST /restart to each); all members with the role when none is named')
    .argument('[member...]', 'members to restart')
    .addOption(new Option('-r, --role <role>', 'only members with this role').choices([...ROLES]).default('any'))
    .option('--any', 'restart one member only, picked at random')
    .option('--pending', 'only members that have a pending restart')
    .option('--scheduled <timestamp>', 'when, ISO 8601 (e.g. 2026-11-26T13:00+00:00); default now')
    .option('--pg-version <version>', 'only members running an older PostgreSQL (e.g. 15.4)')
    .option('--timeout <seconds>', 'give up (and fail over when it is the primary) if the restart takes longer')
    .addOption(forceOption())
    .action((members: string[], o: RestartOptions & { role: string }) => run((ctl) => restart(ctl, members, { ...o, role: parseRole(o.role) })));
};
