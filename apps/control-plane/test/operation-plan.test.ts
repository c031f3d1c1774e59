/** The pure pieces of operations: planning and preview, the pin of approvals, the policy, roles per cluster. */
import { describe, expect, it } from 'vitest';
import type { TSnapshot } from '@keel/protocol';
import { clusterRole, highestRole } from '../server/lib/authz.ts';
import { clusterStateOf, requestHash, stateChange } from '../server/lib/cluster-state.ts';
import { planOperation, type TPlanMember } from '../server/lib/operation-plan.ts';
import type { TStoredRequest } from '../server/lib/operation-types.ts';
import { requiredApprovals } from '../server/lib/policy.ts';
import { snapshot } from './support/builders.ts';

const summary = (name: string, role: string) => ({ name, role, state: 'running', timeline: 1, lsn: 1000, tags: {}, pendingRestart: false });
const MEMBERS = [summary('pg0', 'primary'), summary('pg1', 'replica'), summary('pg2', 'replica')];

function member(name: string, over: Partial<TSnapshot> = {}, connected = true): TPlanMember {
  const role = name === 'pg0' ? 'primary' : 'replica';
  return { name, connected, snapshot: snapshot(1, { role, leader: 'pg0', members: MEMBERS, ...(role === 'primary' ? { failoverReadiness: { eligible: false, reasons: ['is the leader'] } } : {}), ...over }) };
}

const cluster = (...ms: TPlanMember[]) => ({ state: clusterStateOf(ms.map((m) => ({ ...m, lastSeenAt: new Date() }))), members: ms });
const plan = (req: TStoredRequest, c = cluster(member('pg0'), member('pg1'), member('pg2'))) => planOperation(req, c.state, c.members, Date.parse('2026-12-03T12:00:00Z'));

describe('planning operations', () => {
  it('a switchover without a candidate goes to the leader\'s agent and lists every replica with eligible / why not', () => {
    const p = plan({ type: 'switchover', params: {} }, cluster(member('pg0'), member('pg1'), member('pg2', { failoverReadiness: { eligible: false, reasons: ['tagged nofailover'] } })));
    expect(p.refusal).toBeNull();
    expect(p.candidates).toEqual([{ name: 'pg1', eligible: true, reasons: [] }, { name: 'pg2', eligible: false, reasons: ['tagged nofailover'] }]);
    expect(p.steps).toEqual([{ member: 'pg0', label: 'switchover', command: { op: 'switchover', request: { leader: 'pg0' } } }]);
  });

  it('refuses a switchover to an ineligible candidate, and one to a non-member with ha-core\'s words', () => {
    const c = cluster(member('pg0'), member('pg1', { failoverReadiness: { eligible: false, reasons: ['lag 3 MB exceeds maximum_lag_on_failover 1 MB'] } }), member('pg2'));
    expect(plan({ type: 'switchover', params: { candidate: 'pg1' } }, c).refusal).toBe('pg1 is not eligible: lag 3 MB exceeds maximum_lag_on_failover 1 MB');
    expect(plan({ type: 'switchover', params: { candidate: 'pg9' } }).refusal).toBe('candidate (pg9) is not a member of the cluster');
    expect(plan({ type: 'switchover', params: { scheduledAt: '2026-12-03T11:00:00Z' } }).refusal).toBe('Cannot schedule switchover in the past');
  });

  it('a rolling restart restarts the replicas one by one, switches over to a restarted one, then restarts the old primary', () => {
    const p = plan({ type: 'rolling_restart', params: {} });
    expect(p.steps.map((s) => s.label)).toEqual(['restart replica pg1', 'restart replica pg2', 'switchover from pg0 to pg1', 'restart pg0 (now a replica)']);
    expect(p.steps[2]!.command).toEqual({ op: 'switchover', request: { leader: 'pg0', candidate: 'pg1' } });
    expect(p.risk.touchesPrimary).toBe(true);
  });

  it('a restart of pending members only, replicas first; the primary makes it risky', () => {
    const c = cluster(member('pg0', { pendingRestart: true }), member('pg1', { pendingRestart: true }), member('pg2'));
    const p = plan({ type: 'restart', params: { pendingOnly: true } }, c);
    expect(p.steps.map((s) => s.member)).toEqual(['pg1', 'pg0']);
    expect(p.risk.touchesPrimary).toBe(true);
    expect(plan({ type: 'restart', params: { role: 'replica' } }).risk.touchesPrimary).toBe(false);
    expect(plan({ type: 'restart', params: { members: ['pgX'] } }).refusal).toMatch(/pgX/);
  });

  it('a config patch: the diff, the parameters that need a restart and the order, and the timing rule', () => {
    const p = plan({ type: 'config_patch', params: { patch: { postgresql: { parameters: { shared_buffers: '256MB', work_mem: '8MB' } }, ttl: 20, loop_wait: 5, retry_timeout: 5 } } });
    expect(p.patch).toEqual({
      changes: [{ key: 'postgresql.parameters.shared_buffers', value: '256MB' }, { key: 'postgresql.parameters.work_mem', value: '8MB' }, { key: 'ttl', value: 20 }, { key: 'loop_wait', value: 5 }, { key: 'retry_timeout', value: 5 }],
      restartParameters: ['shared_buffers'],
      restartOrder: ['pg1', 'pg2', 'pg0'],
      timing: { ttl: 20, loopWait: 5, retryTimeout: 5, worstCaseFailoverSeconds: 25, problem: null },
    });
    expect(p.refusal).toBeNull();
    expect(p.risk).toEqual({ touchesPrimary: true, needsRestart: true, changesTiming: true });
    // a timing-rule violation is shown as the agents will adjust it (ha-core adjustTiming), like Patroni
    const adjusted = plan({ type: 'config_patch', params: { patch: { ttl: 10, loop_wait: 5, retry_timeout: 5 } } });
    expect(adjusted.refusal).toBeNull();
    expect(adjusted.patch?.timing).toEqual({ ttl: 10, loopWait: 1, retryTimeout: 4, worstCaseFailoverSeconds: 11, problem: null });
    expect(plan({ type: 'config_patch', params: { patch: { ttl: 60 } } }).refusal).toMatch(/must set ttl, loop_wait and retry_timeout together/);
    expect(plan({ type: 'config_patch', params: { patch: { postgresql: { parameters: { work_mem: '8MB' } } } } }).risk).toEqual({ touchesPrimary: false, needsRestart: false, changesTiming: false });
  });

  it('cluster-wide commands go to a connected agent, preferring the leader\'s', () => {
    expect(plan({ type: 'pause', params: {} }, cluster(member('pg0', {}, false), member('pg1'), member('pg2'))).steps).toEqual([{ member: 'pg1', label: 'pause', command: { op: 'pause' } }]);
    expect(plan({ type: 'resume', params: {} }).refusal).toBe('the cluster is not paused');
    expect(plan({ type: 'reinitialize', params: { member: 'pg0' } }).refusal).toMatch(/is the leader/);
  });
});

describe('the pin of an approval', () => {
  it('says how the cluster changed: leader, timeline, members, pause', () => {
    const then = { leader: 'pg0', timeline: 1, members: ['pg0', 'pg1'], paused: false };
    expect(stateChange(then, { ...then })).toBeNull();
    expect(stateChange(then, { leader: 'pg1', timeline: 2, members: ['pg1', 'pg2'], paused: true })).toBe(
      'the leader changed from pg0 to pg1; the timeline changed from 1 to 2; pg2 joined; pg0 left; the cluster was paused',
    );
  });

  it('hashes the exact request', () => {
    const a = requestHash({ type: 'switchover', params: { candidate: 'pg1' }, reason: 'r', ticket: null });
    expect(requestHash({ type: 'switchover', params: { candidate: 'pg1' }, reason: 'r' })).toBe(a);
    expect(requestHash({ type: 'switchover', params: { candidate: 'pg2' }, reason: 'r', ticket: null })).not.toBe(a);
  });
});

describe('policy and roles', () => {
  it('defaults to one approver for risky operations and none for the rest; a cluster policy overrides per type', () => {
    const calm = { touchesPrimary: false, needsRestart: false, changesTiming: false };
    expect(requiredApprovals(null, 'switchover', calm)).toBe(1);
    expect(requiredApprovals(null, 'restart', calm)).toBe(0);
    expect(requiredApprovals(null, 'restart', { ...calm, touchesPrimary: true })).toBe(1);
    expect(requiredApprovals(null, 'config_patch', { ...calm, changesTiming: true })).toBe(1);
    expect(requiredApprovals(null, 'reload', calm)).toBe(0);
    expect(requiredApprovals({ approvals: { switchover: 2, reload: 1 } }, 'switchover', calm)).toBe(2);
    expect(requiredApprovals({ approvals: { switchover: 2, reload: 1 } }, 'reload', calm)).toBe(1);
  });

  it('a grant raises the role on one cluster; an API token caps it', () => {
    const viewer = { role: 'viewer' as const };
    expect(clusterRole(viewer, 'operator')).toBe('operator');
    expect(clusterRole(viewer, null)).toBe('viewer');
    expect(clusterRole({ role: 'approver' }, 'viewer')).toBe('approver');
    expect(clusterRole({ role: 'admin', token: { id: 't', role: 'operator' } }, null)).toBe('operator');
    expect(highestRole('viewer', ['operator', 'approver'])).toBe('approver');
  });
});
