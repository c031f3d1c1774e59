import { ZConfigPatch } from '@keel/protocol';
import { requestBody } from '../bodies.ts';
import type { ClusterSnapshot } from '@keel/dcs';
import type { Command } from 'commander';
import type { Register } from '../command.ts';
import { bodyText, type Ctl } from '../context.ts';
import { CliError, EXIT, failed } from '../errors.ts';
import { leaderFirst, target } from '../members.ts';
import { clusterView } from '../render/cluster.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * pause / resume: PATCH /config {"pause": true|null} through the leader's REST API (another member's
 * when the leader cannot be reached). With `wait`, until every member's key shows the new state.
 */
export async function togglePause(ctl: Ctl, paused: boolean, o: { cluster?: string; wait?: boolean; pollMs?: number }): Promise<void> {
  const scope = ctl.scope(o.cluster);
  const snap = await ctl.readCluster(scope);
  if (clusterView(snap, scope).pause === paused) throw failed(`Cluster is ${paused ? 'already' : 'not'} paused`);
  await patchConfig(ctl, snap, { pause: paused || null }, `${paused ? 'pause' : 'resume'} cluster management`);
  if (o.wait) await waitForPause(ctl, scope, paused, snap.config?.value.loop_wait ?? 10, o.pollMs ?? 500);
  ctl.io.out(`Success: cluster management is ${paused ? 'paused' : 'resumed'}`);
}

/**
 * PATCH /config with `patch` through the leader's REST API, another member's when the leader cannot
 * be reached. A refusal prints "Failed: <what> status code=..., (<body>)" and exits 1.
 */
export async function patchConfig(ctl: Ctl, snap: ClusterSnapshot, patch: Record<string, unknown>, what: string): Promise<void> {
  const members = leaderFirst(snap);
  if (members.length === 0) throw failed('Can not find accessible cluster member');
  let lastUnreachable: CliError | null = null;
  for (const m of members) {
    let r;
    try {
      r = await ctl.request(target(m), 'PATCH', 'config', { body: requestBody(ZConfigPatch, patch) });
    } catch (e) {
      if (!(e instanceof CliError) || e.exitCode !== EXIT.unreachable) throw e;
      ctl.io.err(`Warning: ${e.message}; trying another member`);
      lastUnreachable = e;
      continue;
    }
    if (r.status !== 200) {
      ctl.io.out(`Failed: ${what} status code=${r.status}, (${bodyText(r.text)})`);
      throw new CliError(EXIT.failed, '', { reported: true });
    }
    return;
  }
  throw lastUnreachable ?? failed('Can not find accessible cluster member');
}

async function waitForPause(ctl: Ctl, scope: string, paused: boolean, loopWait: number, pollMs: number): Promise<void> {
  ctl.io.out(`'${paused ? 'pause' : 'resume'}' request sent, waiting until it is recognized by all nodes`);
  const budgetS = loopWait * 2 + 5;
  const until = Date.now() + budgetS * 1000;
  let remaining: string[] = [];
  while (Date.now() < until) {
    const snap = await ctl.readCluster(scope);
    remaining = snap.members.filter((m) => (m.value.pause === true) !== paused).map((m) => m.name);
    if (remaining.length === 0) return;
    await sleep(pollMs);
  }
  ctl.io.out(`${remaining.join(', ')} did not recognize the ${paused ? 'pause' : 'resume'} within ${budgetS} seconds`);
  throw new CliError(EXIT.failed, '', { reported: true });
}

export const register: Register = (program: Command, run) => {
  program
    .command('pause')
    .description('Put the cluster in maintenance mode: no automatic failover (PATCH /config {"pause": true})')
    .argument('[cluster]', 'cluster name (default: the configured scope)')
    .option('--wait', 'wait until every member has seen it')
    .action((cluster: string | undefined, o: { wait?: boolean }) =>
      run((ctl) => togglePause(ctl, true, { ...(cluster !== undefined ? { cluster } : {}), wait: o.wait ?? false })),
    );
};
