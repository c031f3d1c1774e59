/**
 * From a request and the cluster as its agents report it to: a preview (who is eligible and why not,
 * what a patch changes, which members restart in which order, the failover timing effect, and
 * whether the request would be refused), and the plan of agent commands that carry it out. Pure.
 * Switchover checks are ha-core's checkSwitchoverRequest (what the agents' REST API runs); each
 * member's eligibility is what its own agent computed with ha-core's ranking (snapshot
 * failoverReadiness), with the cluster's real settings.
 */
import { adjustTiming, checkSwitchoverRequest, numberProblem, type PeerView } from '@keel/ha-core';
import type { TCommandInput, TSnapshot } from '@keel/protocol';
import type { TClusterState } from './cluster-state.ts';
import type { TOperationParams, TStoredRequest } from './operation-types.ts';
import { POSTMASTER_PARAMETERS } from './pg-restart-params.ts';
import type { TRiskFacts } from './policy.ts';

export interface TPlanMember {
  name: string;
  snapshot: TSnapshot | null;
  /** Its agent's WebSocket is open. */
  connected: boolean;
}

export interface TCandidateView {
  name: string;
  eligible: boolean;
  reasons: string[];
}

export interface TPatchPreview {
  /** key path -> new value (null: removed). */
  changes: { key: string; value: unknown }[];
  /** PostgreSQL parameters of the patch that take effect only after a restart. */
  restartParameters: string[];
  /** Members to restart, in order (replicas first, the primary last), when restartParameters is not empty. */
  restartOrder: string[];
  timing: null | { ttl: number; loopWait: number; retryTimeout: number; worstCaseFailoverSeconds: number; problem: string | null };
}

/** One command to one member's agent. */
export interface TPlanStep {
  member: string;
  label: string;
  command: DistributiveOmit<TCommandInput, 'id' | 'reason' | 'ticket' | 'requestedBy' | 'notAfter'>;
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface TPreview {
  state: TClusterState;
  /** switchover / failover: every member other than the leader, eligible or why not. */
  candidates: TCandidateView[] | null;
  patch: TPatchPreview | null;
  /** Set when the request would be refused; nothing is stored then. */
  refusal: string | null;
  risk: TRiskFacts;
  steps: TPlanStep[];
}

const TIMING_KEYS = ['ttl', 'loop_wait', 'retry_timeout'] as const;

export function planOperation(req: TStoredRequest, state: TClusterState, members: readonly TPlanMember[], now: number): TPreview {
  const byName = new Map(members.map((m) => [m.name, m]));
  const leader = state.leader;
  const replicas = state.members.filter((n) => n !== leader);
  const base: TPreview = { state, candidates: null, patch: null, refusal: null, risk: { touchesPrimary: false, needsRestart: false, changesTiming: false }, steps: [] };
  const unknown = (names: readonly string[]) => names.filter((n) => !state.members.includes(n) && !byName.has(n));
  const clusterWide = (): string | null => (leader && byName.get(leader)?.connected ? leader : (members.find((m) => m.connected)?.name ?? leader ?? members[0]?.name ?? null));

  switch (req.type) {
    case 'switchover':
    case 'failover': {
      const p = req.params as TOperationParams<'switchover'>;
      const candidates = candidatesOf(state, members);
      const check = checkSwitchoverRequest({
        kind: req.type,
        ...(req.type === 'switchover' && leader ? { leader } : {}),
        ...(p.candidate ? { candidate: p.candidate } : {}),
        ...(p.scheduledAt ? { scheduledAt: p.scheduledAt } : {}),
        now,
        cluster: { leader, members: clusterMembers(state, members), optime: leaderLsn(state, members), history: [] },
        peers: peersOf(members),
        // lag and timeline eligibility come from each member's own agent (failoverReadiness)
        settings: { pause: state.paused, maximumLagOnFailover: Number.MAX_SAFE_INTEGER, checkTimeline: false },
      });
      const chosen = p.candidate ? candidates.find((c) => c.name === p.candidate) : candidates.find((c) => c.eligible);
      const refusal = !check.ok
        ? check.message
        : !p.scheduledAt && p.candidate && chosen && !chosen.eligible
          ? `${p.candidate} is not eligible: ${chosen.reasons.join(', ')}`
          : !p.scheduledAt && !chosen
            ? `${req.type} is not possible: no eligible candidate (${candidates.map((c) => `${c.name}: ${c.reasons.join(', ')}`).join('; ') || 'no replicas'})`
            : null;
      const target = clusterWide();
      const request = { ...(req.type === 'switchover' && leader ? { leader } : {}), ...(p.candidate ? { candidate: p.candidate } : {}), ...(p.scheduledAt ? { scheduled_at: p.scheduledAt } : {}) };
      const steps: TPlanStep[] = target ? [{ member: target, label: `${req.type}${p.candidate ? ` to ${p.candidate}` : ''}${p.scheduledAt ? ` at ${p.scheduledAt}` : ''}`, command: { op: req.type, request } }] : [];
      return { ...base, candidates, refusal, risk: { ...base.risk, touchesPrimary: true }, steps };
    }
    case 'restart': {
      const p = req.params as TOperationParams<'restart'>;
      const missing = unknown(p.members ?? []);
      if (missing.length) return { ...base, refusal: `not members of ${'the cluster'}: ${missing.join(', ')}` };
      let targets = p.members ?? [...replicas, ...(leader ? [leader] : [])];
      if (p.role) targets = targets.filter((n) => (p.role === 'primary' ? n === leader : n !== leader));
      if (p.pendingOnly) targets = targets.filter((n) => byName.get(n)?.snapshot?.pendingRestart);
      if (targets.length === 0) return { ...base, refusal: 'no member matches: nothing to restart' };
      const request = { ...(p.pendingOnly ? { restart_pending: true } : {}), ...(p.role ? { role: p.role } : {}), ...(p.scheduledAt ? { schedule: p.scheduledAt } : {}) };
      const steps = orderReplicasFirst(targets, leader).map((n) => ({ member: n, label: `restart ${n}`, command: { op: 'restart' as const, request } }));
      return { ...base, risk: { ...base.risk, touchesPrimary: leader !== null && targets.includes(leader) }, steps };
    }
    case 'rolling_restart': {
      const p = req.params as TOperationParams<'rolling_restart'>;
      if (!leader) return { ...base, refusal: 'the cluster has no leader: a rolling restart needs one' };
      const candidates = candidatesOf(state, members);
      const next = candidates.find((c) => c.eligible);
      if (!next) return { ...base, candidates, refusal: `no replica can take over from ${leader}: ${candidates.map((c) => `${c.name}: ${c.reasons.join(', ')}`).join('; ') || 'no replicas'}` };
      const want = (n: string) => !p.pendingOnly || byName.get(n)?.snapshot?.pendingRestart === true;
      const request = p.pendingOnly ? { restart_pending: true } : {};
      const steps: TPlanStep[] = [
        ...replicas.filter(want).map((n) => ({ member: n, label: `restart replica ${n}`, command: { op: 'restart' as const, request: {} } })),
        { member: leader, label: `switchover from ${leader} to ${next.name}`, command: { op: 'switchover' as const, request: { leader, candidate: next.name } } },
        ...(want(leader) ? [{ member: leader, label: `restart ${leader} (now a replica)`, command: { op: 'restart' as const, request } }] : []),
      ];
      return { ...base, candidates, risk: { ...base.risk, touchesPrimary: true }, steps };
    }
    case 'reinitialize': {
      const p = req.params as TOperationParams<'reinitialize'>;
      if (unknown([p.member]).length) return { ...base, refusal: `${p.member} is not a member of the cluster` };
      if (p.member === leader) return { ...base, refusal: `${p.member} is the leader: only a replica can be reinitialized` };
      return { ...base, steps: [{ member: p.member, label: `reinitialize ${p.member}`, command: { op: 'reinitialize', request: { force: p.force === true } } }] };
    }
    case 'reload': {
      const p = req.params as TOperationParams<'reload'>;
      const missing = unknown(p.members ?? []);
      if (missing.length) return { ...base, refusal: `not members of the cluster: ${missing.join(', ')}` };
      return { ...base, steps: (p.members ?? state.members).map((n) => ({ member: n, label: `reload ${n}`, command: { op: 'reload' as const } })) };
    }
    case 'pause':
    case 'resume': {
      if (req.type === 'pause' && state.paused) return { ...base, refusal: 'the cluster is already paused' };
      if (req.type === 'resume' && !state.paused) return { ...base, refusal: 'the cluster is not paused' };
      const target = clusterWide();
      return { ...base, steps: target ? [{ member: target, label: req.type, command: { op: req.type } }] : [] };
    }
    case 'config_patch': {
      const p = req.params as TOperationParams<'config_patch'>;
      const patch = previewPatch(p.patch, leader, replicas);
      const target = clusterWide();
      const refusal = patch.timing?.problem ?? null;
      return {
        ...base,
        patch,
        refusal,
        risk: { touchesPrimary: patch.restartParameters.length > 0, needsRestart: patch.restartParameters.length > 0, changesTiming: patch.timing !== null },
        steps: target ? [{ member: target, label: 'patch /config', command: { op: 'patch_config', request: p.patch } }] : [],
      };
    }
  }
}

function previewPatch(patch: Record<string, unknown>, leader: string | null, replicas: string[]): TPatchPreview {
  const changes = flatten(patch);
  // the parameters the patch sets or removes (the merge patch applied to nothing keeps the keys it sets)
  const paramsInPatch = Object.keys(((patch.postgresql as Record<string, unknown> | undefined)?.parameters as Record<string, unknown> | undefined) ?? {});
  const restartParameters = paramsInPatch.filter((k) => POSTMASTER_PARAMETERS.has(k)).sort();
  const restartOrder = restartParameters.length ? [...replicas, ...(leader ? [leader] : [])] : [];
  const touched = TIMING_KEYS.filter((k) => k in patch);
  let timing: TPatchPreview['timing'] = null;
  if (touched.length > 0) {
    const num = (k: (typeof TIMING_KEYS)[number]) => (typeof patch[k] === 'number' ? (patch[k] as number) : Number.NaN);
    const t = { ttl: num('ttl'), loop_wait: num('loop_wait'), retry_timeout: num('retry_timeout') };
    const missing = TIMING_KEYS.filter((k) => !Number.isFinite(t[k]));
    // values that cannot work are refused; a rule violation is adjusted as the agents will (ha-core adjustTiming)
    const unusable = TIMING_KEYS.map((k) => (missing.includes(k) ? null : numberProblem(k, t[k]) && `${k} ${numberProblem(k, t[k])}`)).filter(Boolean);
    const problem = missing.length
      ? `a timing change must set ttl, loop_wait and retry_timeout together (as numbers) so the timing rule can be checked; missing: ${missing.join(', ')}`
      : unusable.length
        ? unusable.join('; ')
        : null;
    const eff = problem ? t : adjustTiming(t).timing;
    timing = { ttl: eff.ttl, loopWait: eff.loop_wait, retryTimeout: eff.retry_timeout, worstCaseFailoverSeconds: eff.ttl + eff.loop_wait, problem: problem ? `refused: ${problem}` : null };
  }
  return { changes, restartParameters, restartOrder, timing };
}

function flatten(o: Record<string, unknown>, prefix = ''): { key: string; value: unknown }[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Record<string, unknown>, `${prefix}${k}.`) : [{ key: `${prefix}${k}`, value: v }],
  );
}

function orderReplicasFirst(names: readonly string[], leader: string | null): string[] {
  return [...names.filter((n) => n !== leader), ...names.filter((n) => n === leader)];
}

function candidatesOf(state: TClusterState, members: readonly TPlanMember[]): TCandidateView[] {
  return state.members
    .filter((n) => n !== state.leader)
    .map((name) => {
      const m = members.find((x) => x.name === name);
      if (!m?.snapshot) return { name, eligible: false, reasons: ['its agent has not reported'] };
      const reasons = [...m.snapshot.failoverReadiness.reasons];
      if (!m.snapshot.pgRunning) reasons.push(`PostgreSQL is not running (${m.snapshot.state})`);
      return { name, eligible: m.snapshot.failoverReadiness.eligible && m.snapshot.pgRunning, reasons: [...new Set(reasons)] };
    });
}

function clusterMembers(state: TClusterState, members: readonly TPlanMember[]) {
  return state.members.map((name) => {
    const s = members.find((m) => m.name === name)?.snapshot;
    return { name, role: s?.role ?? 'unknown', state: s?.state ?? 'unknown', connUrl: '', apiUrl: '', tags: s?.tags ?? {}, xlogLocation: s?.lsn ?? null, timeline: s?.timeline ?? null };
  });
}

function peersOf(members: readonly TPlanMember[]): PeerView[] {
  return members
    .filter((m) => m.snapshot)
    .map((m) => ({ name: m.name, reachable: m.snapshot!.pgRunning, role: m.snapshot!.role, state: m.snapshot!.state, lsn: m.snapshot!.lsn, timeline: m.snapshot!.timeline, tags: m.snapshot!.tags }));
}

function leaderLsn(state: TClusterState, members: readonly TPlanMember[]): number | null {
  return members.find((m) => m.name === state.leader)?.snapshot?.lsn ?? null;
}
