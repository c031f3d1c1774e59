import { writableRevision, type ClusterSnapshot } from '@keel/dcs';
import { checkSwitchoverRequest, failoverRequest, type PeerView } from '@keel/ha-core';
import type { TFailoverValue } from '@keel/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clusterView, fetchPeer, peerFromStatus } from '../observe.ts';
import type { OperationHandle } from '../ops/registry.ts';
import type { Runtime } from '../runtime.ts';
import { text, wantsAsync } from './reply.ts';
import { nodeStatus } from '../status.ts';

/** Every member's GET /patroni, ours from memory: the same inputs the leader will rank with. */
async function gatherPeers(rt: Runtime, snap: ClusterSnapshot): Promise<PeerView[]> {
  const timeout = Math.min(2000, rt.settings.retryTimeout * 500);
  return Promise.all(
    snap.members.map(async (m) => {
      if (m.name !== rt.config.name) return fetchPeer(rt.peers, m.name, m.value.api_url, timeout);
      return peerFromStatus(m.name, nodeStatus(rt, await rt.pg.probe()));
    }),
  );
}

/**
 * POST /switchover and POST /failover: check with the ranking code the HA loop uses, write the
 * `failover` intent key, wake the loop, and follow it until the new leader runs (Patroni's 200),
 * is scheduled (202), or the time is up (503 "status unknown"). `?async=true` answers 202 at once
 * with an operation id whose steps show the progress.
 */
export function registerSwitchoverRoutes(app: FastifyInstance, rt: Runtime): void {
  const handler = (kind: 'switchover' | 'failover') => async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body))
      return text(reply, 400, kind === 'failover' ? 'Failover could be performed only to a specific candidate' : 'the body must be a JSON object');
    const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
    const leader = str(body.leader) ?? str(body.master);
    const candidate = str(body.candidate) ?? str(body.member);
    const scheduledAt = str(body.scheduled_at);
    const snap = await rt.dcs.readCluster().catch(() => null);
    if (!snap) return text(reply, 503, 'the DCS is unreachable');
    const pending = failoverRequest(snap.failover?.value ?? null);
    if (pending) return text(reply, 409, `a ${pending.leader ? 'switchover' : 'failover'} is already requested${pending.scheduledAt ? ` for ${pending.scheduledAt}` : ''}; DELETE /switchover first`);
    const peers = await gatherPeers(rt, snap);
    const check = checkSwitchoverRequest({
      kind,
      leader,
      candidate,
      scheduledAt,
      now: Date.now(),
      cluster: clusterView(snap),
      peers,
      settings: rt.settings,
    });
    if (!check.ok) return text(reply, check.status, check.message);

    const value: TFailoverValue = {};
    if (leader) value.leader = leader;
    if (candidate) value.member = candidate;
    if (scheduledAt) value.scheduled_at = scheduledAt;
    const written = await rt.dcs.setFailover(value, writableRevision(snap, 'failover')).catch(() => null);
    if (written === null) return text(reply, 503, 'the DCS is unreachable: the request was not written');
    if (!written) return text(reply, 409, 'another switchover request was written at the same time');
    rt.wake();
    const action = check.action;
    if (scheduledAt) return reply.code(202).type('text/plain').send(`${action === 'switchover' ? 'Switchover' : 'Failover'} scheduled`);

    const op = rt.ops.start(action, `${action} requested: ${leader ?? snap.leader?.name ?? 'no leader'} -> ${candidate ?? 'the healthiest replica'}`);
    const outcome = follow(rt, snap.leader?.name ?? null, candidate ?? null, op);
    if (wantsAsync(req)) return reply.code(202).send({ message: `${action} started`, operation: op.id });
    const r = await outcome;
    if (r.ok) return text(reply, 200, `Successfully ${action === 'switchover' ? 'switched over' : 'failed over'} to "${r.leader}"`);
    return text(reply, r.code, r.message);
  };

  app.post('/switchover', handler('switchover'));
  app.post('/failover', handler('failover'));

  app.delete('/switchover', async (_req, reply) => {
    const snap = await rt.dcs.readCluster().catch(() => null);
    if (!snap) return text(reply, 503, 'the DCS is unreachable');
    const pending = failoverRequest(snap.failover?.value ?? null);
    if (!pending || !snap.failover) return text(reply, 404, 'No scheduled switchover');
    const ok = await rt.dcs.deleteFailover(snap.failover.modRevision).catch(() => null);
    if (ok === null) return text(reply, 503, 'the DCS is unreachable');
    if (!ok) return text(reply, 409, 'the switchover request changed meanwhile; read it again');
    return text(reply, 200, 'scheduled switchover deleted');
  });
}

/** Watch the DCS until the new leader runs as primary, the request is dropped, or time is up. */
async function follow(
  rt: Runtime,
  oldLeader: string | null,
  candidate: string | null,
  op: OperationHandle,
): Promise<{ ok: true; leader: string } | { ok: false; code: number; message: string }> {
  const startedAt = new Date().toISOString();
  const deadline = Date.now() + Math.max(10, rt.settings.loopWait) * 2000;
  let sawUnlocked = false;
  let sawLocked = false;
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
        if (m && m.value.role === 'primary' && m.value.state === 'running' && !failoverRequest(snap.failover?.value ?? null)) {
          op.succeed(`${leader} runs as the primary`);
          return { ok: true, leader };
        }
      }
      if (!failoverRequest(snap.failover?.value ?? null) && leader === oldLeader && !sawUnlocked) {
        // The leader dropped the request: say why, from its own last decision.
        const why = await leaderReason(rt, snap, oldLeader, startedAt);
        op.fail(why);
        return { ok: false, code: 412, message: /^(switchover|manual failover)/.test(why) ? why : `switchover is not possible: ${why}` };
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  op.fail('no new leader within the time limit');
  return { ok: false, code: 503, message: 'Switchover status unknown' };
}

async function leaderReason(rt: Runtime, snap: ClusterSnapshot, leader: string | null, since: string): Promise<string> {
  const m = snap.members.find((x) => x.name === leader);
  if (!m) return 'the leader refused the request';
  try {
    const answer = await rt.peers.status(m.name, m.value.api_url, 2000);
    if (!answer.ok) return 'the leader refused the request';
    const body = answer.body;
    const failure = body.keel?.last_failure;
    if (failure && failure.at >= since) return failure.error;
    return body.keel?.reason ?? 'the leader refused the request';
  } catch {
    return 'the leader refused the request';
  }
}
