import { ZSwitchoverRequest } from '@keel/protocol';
import { requestBody } from './bodies.ts';
/**
 * switchover and failover (patronictl's _do_failover_or_switchover): check the request against the
 * cluster read from etcd, ask what is missing (or refuse without a terminal), then POST /switchover or
 * /failover to the leader's REST API (the candidate's when there is no leader) and print its answer.
 * Unlike patronictl, a refusal (412 ...) exits 1, and an unreachable agent is reported (exit 3) instead of
 * writing the /failover key behind the agents' back.
 */

import type { Ctl } from './context.ts';
import { bodyText } from './context.ts';
import { CliError, EXIT, failed, usageError } from './errors.ts';
import { Asker, nextHourExample, parseScheduled, timestamp } from './interact.ts';
import { target } from './members.ts';
import { clusterView } from './render/cluster.ts';
import { renderMembers } from './render/members.ts';

export interface HandoverOptions {
  cluster?: string;
  leader?: string;
  candidate?: string;
  scheduled?: string;
  force?: boolean;
}

/** How long the agent may take to answer: Patroni's handler polls for up to 2 * max(10, loop_wait) s. */
const HANDOVER_TIMEOUT_MS = 180_000;

function title(action: string): string {
  return action[0]!.toUpperCase() + action.slice(1);
}

export async function handover(ctl: Ctl, requested: 'switchover' | 'failover', o: HandoverOptions): Promise<void> {
  // patronictl: `failover --leader X` is a switchover
  const action = requested === 'failover' && o.leader ? 'switchover' : requested;
  const asker = new Asker(ctl.io, action === 'switchover' ? 'switch over' : 'fail over');
  const scope = ctl.scope(o.cluster);
  const snap = await ctl.readCluster(scope);
  const view = clusterView(snap, scope);
  ctl.io.out('Current cluster topology');
  ctl.io.out(renderMembers(view));

  const leaderName = snap.leader?.name || null;
  if (action === 'switchover' && !leaderName) throw failed('This cluster has no leader');

  let leader = o.leader;
  if (leader === undefined) {
    if (o.force || action === 'failover') leader = leaderName ?? undefined;
    else leader = await asker.ask(snap.config?.value.standby_cluster ? 'Standby Leader' : 'Primary', leaderName ?? '');
  }
  if (leader && leaderName && leader !== leaderName) throw failed(`Member ${leader} is not the leader of cluster ${scope}`);

  const candidates = snap.members
    .filter((m) => m.name !== leader && m.value.tags?.nofailover !== true)
    .map((m) => m.name)
    .sort();
  if (candidates.length === 0) throw failed(`No candidates found to ${action} to`);

  let candidate = o.candidate;
  if (candidate === undefined && !o.force) {
    candidate = await asker.ask(`Candidate [${candidates.map((c) => `'${c}'`).join(', ')}]`, '');
  }
  if (!candidate) candidate = undefined;
  if (action === 'failover' && !candidate) throw usageError('a failover needs a specific candidate: pass --candidate NAME');
  if (candidate !== undefined && candidate === leader) throw failed(`${title(action)} target and source are the same.`);
  if (candidate !== undefined && !candidates.includes(candidate)) {
    const m = snap.members.find((x) => x.name === candidate);
    throw failed(m ? `Member ${candidate} is tagged nofailover: it cannot become the leader` : `Member ${candidate} does not exist in cluster ${scope}`);
  }

  let scheduledAt: string | null = null;
  if (action === 'switchover') {
    let when = o.scheduled;
    if (when === undefined && !o.force) when = await asker.ask(`When should the switchover take place (e.g. ${nextHourExample()} ) `, 'now');
    scheduledAt = parseScheduled(when);
    if (scheduledAt && view.pause) throw failed("Can't schedule switchover in the paused state");
  }

  if (!o.force) {
    const demote = leader ? `, demoting current leader ${leader}` : '';
    if (scheduledAt) {
      await asker.confirm(`Are you sure you want to schedule ${action} of cluster ${scope} at ${scheduledAt}${demote}?`, `Aborting scheduled ${action}`);
    } else {
      await asker.confirm(`Are you sure you want to ${action} cluster ${scope}${demote}?`, `Aborting ${action}`);
    }
  }

  const body = requestBody(ZSwitchoverRequest, {
    ...(action === 'switchover' && leader ? { leader } : {}),
    ...(candidate ? { candidate } : {}),
    ...(scheduledAt ? { scheduled_at: scheduledAt } : {}),
  });

  const to = snap.members.find((m) => m.name === leaderName && m.value.api_url) ?? snap.members.find((m) => m.name === candidate && m.value.api_url);
  if (!to) throw failed(`cannot find a member to send the ${action} to: ${leaderName ? `the leader ${leaderName}` : 'the candidate'} publishes no REST API address`);

  const res = await ctl.request(target(to), 'POST', action, { body, timeoutMs: HANDOVER_TIMEOUT_MS });
  if (res.status === 200 || res.status === 202) {
    ctl.io.out(`${timestamp()} ${bodyText(res.text)}`);
    const after = await ctl.readCluster(scope);
    ctl.io.out(renderMembers(clusterView(after, scope)));
    return;
  }
  // patronictl's line, on stdout as patronictl prints it; keelctl then exits 1 (patronictl exits 0).
  ctl.io.out(`${title(action)} failed, details: ${res.status}, ${bodyText(res.text)}`);
  throw new CliError(EXIT.failed, '', { reported: true });
}
