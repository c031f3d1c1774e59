import type { Decision, Observation } from '@keel/ha-core';
import { decisionKey, type TEventBody } from './agent-events.ts';

/** What the loop remembers between decisions for its own events. */
export interface DecisionSeen {
  /** The leader key's holder at the last successful DCS read (null: none). */
  leader: string | null;
  /** The last decision sentence reported (null: none yet). */
  reason: string | null;
}

/**
 * The events of one decision, before its actions run (so they come first in the agent's sequence):
 * `leader_key_gone` when another member's leader key disappeared since the last DCS read, and
 * `decision_changed` when the decision sentence differs from the last one reported (numbers ignored:
 * "4 s left" and "3 s left" are one decision). At the observation's time. Pure.
 */
export function decisionEvents(prev: DecisionSeen, obs: Observation, decision: Decision, actions: readonly string[]): { events: TEventBody[]; next: DecisionSeen } {
  const at = new Date(obs.now).toISOString();
  const me = obs.me.name;
  const events: TEventBody[] = [];
  const cause = { verdict: decision.verdict.slice(0, 64), decision: decision.reason.slice(0, 4096) };
  let leader = prev.leader;
  if (obs.dcs.ok) {
    leader = obs.dcs.cluster.leader;
    if (prev.leader !== null && prev.leader !== me && leader === null) {
      events.push({ type: 'event', at, event: 'leader_key_gone', summary: `${me} sees the leader key of ${prev.leader} gone (its lease expired, was revoked or released)`, details: { previousLeader: prev.leader } });
    }
  }
  let reason = prev.reason;
  if (prev.reason === null || decisionKey(prev.reason) !== decisionKey(decision.reason)) {
    events.push({
      type: 'event',
      at,
      event: 'decision_changed',
      summary: `${me}: ${decision.reason}`,
      details: { verdict: cause.verdict, reason: cause.decision, actions: actions.slice(0, 64).map((a) => a.slice(0, 256)), previousReason: prev.reason },
      cause,
    });
    reason = decision.reason;
  }
  return { events, next: { leader, reason } };
}
