import { cloneSource } from '@keel/ha-core';
import { OperationError, type TReinitializeRequest } from '@keel/protocol';
import { reinitializeFrom } from '../executors/lifecycle.ts';
import type { OpsRuntime } from '../runtime.ts';
import { begin, type OperationMeta, type Running } from './operation.ts';

/**
 * POST /reinitialize (patronictl reinit) and the control plane's reinitialize: the loop's reinitialize
 * executor, from the member ha-core's cloneSource rule picks (a running replica tagged clonefrom, else
 * the leader; `from_leader` forces the leader). Patroni answers at once ("reinitialize started");
 * `done` follows the clone to the end.
 */
export function reinitializeMember(rt: OpsRuntime, req: TReinitializeRequest, meta: OperationMeta = {}): Promise<Running> {
  return begin(rt, 'reinitialize', meta, 'reinitialize requested', async (op) => {
    const obs = rt.lastObservation;
    const cluster = obs?.dcs.ok ? obs.dcs.cluster : null;
    const leader = cluster?.leader ?? null;
    if (leader === rt.config.name) throw new OperationError('unavailable', 'I am the leader, can not reinitialize');
    if (!cluster || !leader || !obs) throw new OperationError('unavailable', 'Cluster has no leader, can not reinitialize');
    if (rt.memory.inFlight) {
      const kind = rt.memory.inFlight.kind;
      throw new OperationError(
        'unavailable',
        req.force ? `${kind} is in progress and cannot be cancelled; try again when it has finished` : `${kind} is in progress; try again when it has finished`,
      );
    }
    const from = (req.from_leader ? null : cloneSource(cluster, rt.config.name)) ?? leader;
    op.step(`reinitializing from ${from}`);
    const done = rt
      .runLong('reinitialize', (w) => reinitializeFrom(w, from, obs, (m) => op.step(m)))
      .then(() => ({ httpStatus: 200, message: 'reinitialized' }));
    return { early: { httpStatus: 200, message: 'reinitialize started' }, done };
  });
}
