import type { TFailoverOutcome } from '@keel/protocol';
import type { AgentState } from './runtime.ts';

/** How many refusals the leader keeps (a request's writer reads its own within seconds). */
const KEEP = 16;

/** Publish the leader's refusal of the request written at `revision` (the clearFailover executor). */
export function recordFailoverOutcome(rt: AgentState, revision: number, outcome: string): void {
  const entry: TFailoverOutcome = { revision, outcome, at: new Date().toISOString() };
  rt.failoverOutcomes = [...(rt.failoverOutcomes ?? []).filter((o) => o.revision !== revision), entry].slice(-KEEP);
}

/** The refusal published for the request written at `revision` (an agent's failoverOutcomes or its keel.failover_outcomes). */
export function failoverOutcomeOf(list: readonly TFailoverOutcome[] | undefined, revision: number): string | null {
  return (list ?? []).find((o) => o.revision === revision)?.outcome ?? null;
}
