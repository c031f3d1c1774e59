import { writableRevision, type ClusterSnapshot } from '@keel/dcs';
import { checkSwitchoverRequest, failoverRequest, type PeerView } from '@keel/ha-core';
import { normaliseRole, OperationError, type TFailoverValue, type TSwitchoverRequest } from '@keel/protocol';
import { failoverOutcomeOf } from '../failover-outcomes.ts';
import { clusterView, fetchPeer, peerFromStatus } from '../observe.ts';
import type { OpsRuntime } from '../runtime.ts';
import { nodeStatus } from '../status.ts';
import { begin, type OperationMeta, type Outcome, type Running } from './operation.ts';
import type { OperationHandle } from './registry.ts';

/** Every member's GET /patroni, ours from a live probe: the same inputs the leader will rank with. */
async function gatherPeers(rt: OpsRuntime, snap: ClusterSnapshot): Promise<PeerView[]> {
  const timeout = Math.min(2000, rt.settings.retryTimeout * 500);
  return Promise.all(
    snap.members.map(async (m) => {
      if (m.name !== rt.config.name) return fetchPeer(rt.peers, m.name, m.value.api_url, timeout);
      return peerFromStatus(m.name, nodeStatus(rt, await rt.pg.probe()));
    }),
  );
}

/**
 * POST /switchover, POST /failover and the control plane's switchover/failover: check with the ranking
 * code the HA loop uses, write the `failover` intent key, wake the loop, and follow it until the new
 * leader runs (Patroni's 200), is scheduled (202), or the time is up (503 "Switchover status unknown").
 */
export function requestSwitchover(rt: OpsRuntime, kind: 'switchover' | 'failover', req: TSwitchoverRequest, meta: OperationMeta = {}): Promise<Running> {
  const { leader, candidate, scheduled_at: scheduledAt } = req;
  const first = `${kind} requested: ${leader ?? 'the leader'} -> ${candidate ?? 'the healthiest replica'}${scheduledAt ? ` at ${scheduledAt}` : ''}`;
  return begin(rt, kind, meta, first, async (op) => {
    const snap = await rt.dcs.readCluster().catch(() => null);
    if (!snap) throw new OperationError('unavailable', 'the DCS is unreachable');
    const pending = failoverRequest(snap.failover?.value ?? null);
    if (pending) throw new OperationError('conflict', `a ${pending.leader ? 'switchover' : 'failover'} is already requested${pending.scheduledAt ? ` for ${pending.scheduledAt}` : ''}; DELETE /switchover first`);
    const peers = await gatherPeers(rt, snap);
    const check = checkSwitchoverRequest({ kind, leader, candidate, scheduledAt, now: Date.now(), cluster: clusterView(snap), peers, settings: rt.settings });
    if (!check.ok) throw new OperationError(codeOf(check.status), check.message);

    const value: TFailoverValue = {};
    if (leader) value.leader = leader;
    if (candidate) value.member = candidate;
    if (scheduledAt) value.scheduled_at = scheduledAt;
    const written = await rt.dcs.setFailover(value, writableRevision(snap, 'failover')).then(
      (revision) => ({ revision }),
      () => null,
    );
    if (written === null) throw new OperationError('unavailable', 'the DCS is unreachable: the request was not written');
    if (written.revision === null) throw new OperationError('conflict', 'another switchover request was written at the same time');
    rt.wake();
    const action = check.action;
    const title = action === 'switchover' ? 'Switchover' : 'Failover';
    if (scheduledAt) return { httpStatus: 202, message: `${title} scheduled`, scheduled: true, data: { scheduledAt } };
    op.step(`${action} request written to the DCS`);
    return { done: follow(rt, { revision: written.revision, oldLeader: snap.leader?.name ?? null, candidate: candidate ?? null, action }, op) };
  });
}

/** DELETE /switchover (patronictl flush switchover): remove a pending request. */
export function cancelSwitchover(rt: OpsRuntime, meta: OperationMeta = {}): Promise<Running> {
  return begin(rt, 'cancel_switchover', meta, 'cancel the scheduled switchover', async () => {
    const snap = await rt.dcs.readCluster().catch(() => null);
    if (!snap) throw new OperationError('unavailable', 'the DCS is unreachable');
    const pending = failoverRequest(snap.failover?.value ?? null);
    if (!pending || !snap.failover) throw new OperationError('not_found', 'No scheduled switchover');
    const ok = await rt.dcs.deleteFailover(snap.failover.modRevision).catch(() => null);
    if (ok === null) throw new OperationError('unavailable', 'the DCS is unreachable');
    if (!ok) throw new OperationError('conflict', 'the switchover request changed meanwhile; read it again');
    return { httpStatus: 200, message: 'scheduled switchover deleted' };
  });
}

function codeOf(status: number): OperationError['code'] {
  switch (status) {
    case 400:
      return 'invalid';
    case 409:
      return 'conflict';
    case 412:
      return 'precondition_failed';
    case 422:
      return 'unprocessable';
    case 500:
      return 'refused';
    default:
      return 'unavailable';
  }
}

interface Written {
  /** The request's mod revision: the leader publishes a refusal under it. */
  revision: number;
  oldLeader: string | null;
  candidate: string | null;
  action: string;
}

/** How long to look for the leader's published refusal once the request is gone (it is published right after the delete). */
const OUTCOME_GRACE_MS = 3000;

/**
 * Watch the DCS until the new leader runs as primary, the leader refuses the request (its refusal,
 * published under the request's revision, is the answer, word for word), or time is up.
 */
async function follow(rt: OpsRuntime, w: Written, op: OperationHandle): Promise<Outcome> {
  const { oldLeader, candidate, action } = w;
  const title = action === 'switchover' ? 'Switchover' : 'Failover';
  const deadline = Date.now() + Math.max(10, rt.settings.loopWait) * 2000;
  let sawUnlocked = false;
  let sawLocked = false;
  let goneAt: number | null = null;
  while (Date.now() < deadline) {
    const snap = await rt.dcs.readCluster().catch(() => null);
    if (snap) {
      const leader = snap.leader?.name ?? null;
      if (leader === null && !sawUnlocked && oldLeader) {
        sawUnlocked = true;
        op.step(`${oldLeader} stopped and released the leader lock`);
      }
      if (leader && leader !== oldLeader && (!candidate || leader === candidate)) {
        if (!sawLocked) {
          sawLocked = true;
          op.step(`${leader} holds the leader lock`);
        }
        const m = snap.members.find((x) => x.name === leader);
        // in a standby cluster the new leader is a standby leader (it never promotes)
        const leads = m !== undefined && (normaliseRole(m.value.role) === 'primary' || m.value.role === 'standby_leader');
        if (leads && m.value.state === 'running' && !failoverRequest(snap.failover?.value ?? null)) {
          op.step(`${leader} runs as the ${m.value.role === 'standby_leader' ? 'standby leader' : 'primary'}`);
          return { httpStatus: 200, message: `Successfully ${action === 'switchover' ? 'switched over' : 'failed over'} to "${leader}"`, data: { leader } };
        }
      }
      const ours = snap.failover?.modRevision === w.revision;
      if (!ours && leader === oldLeader && !sawUnlocked) {
        // The request is gone while the leader kept its lock: it refused it. Its published refusal says why.
        goneAt ??= Date.now();
        const why = await refusalOf(rt, snap, oldLeader, w.revision);
        if (why !== null) throw new OperationError('precondition_failed', /^(switchover|manual failover)/.test(why) ? why : `switchover is not possible: ${why}`);
        // Removed by someone else (DELETE /switchover, a newer request): Patroni's answer.
        if (Date.now() - goneAt > OUTCOME_GRACE_MS) throw new OperationError('unavailable', `${title} failed`);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new OperationError('unavailable', `${title} status unknown`);
}

/** The refusal the leader published for the request at `revision` (its own state when this agent is the leader). */
async function refusalOf(rt: OpsRuntime, snap: ClusterSnapshot, leader: string | null, revision: number): Promise<string | null> {
  if (leader === rt.config.name) return failoverOutcomeOf(rt.failoverOutcomes, revision);
  const m = snap.members.find((x) => x.name === leader);
  if (!m) return null;
  const answer = await rt.peers.status(m.name, m.value.api_url, 2000).catch(() => null);
  return answer?.ok ? failoverOutcomeOf(answer.body.keel?.failover_outcomes, revision) : null;
}
