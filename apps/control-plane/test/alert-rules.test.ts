import type { TSnapshot } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import { planAlerts, type TOpenAlert } from '../server/lib/alerts/reconcile.ts';
import { conditionKey, evaluateRules, resolveRuleSettings, type TAlertInput, type TAlertRule, type TClusterInput } from '../server/lib/alerts/rules.ts';
import { summarizeCluster } from '../server/lib/cluster-health.ts';
import { memberView, type TMemberView } from '../server/lib/member-view.ts';
import { snapshot } from './support/builders.ts';

const T0 = new Date('2026-12-04T03:00:00Z');
const MB = 1024 * 1024;

function member(name: string, over: Partial<TSnapshot> = {}, opts: { now?: Date; ageSeconds?: number } = {}): TMemberView {
  const now = opts.now ?? T0;
  const s = snapshot(1, { leader: 'pg0', lsn: 100 * MB, dcsLastSeen: Math.floor(now.getTime() / 1000), ...over });
  return memberView(
    { name, snapshot: s, lastSeenAt: new Date(now.getTime() - (opts.ageSeconds ?? 1) * 1000), lastSeq: 1n, agentVersion: '0.1.0' },
    { now, staleAfterSeconds: 30, connected: true },
  );
}

function cluster(members: TMemberView[], leaderChanges: TClusterInput['leaderChanges'] = []): TClusterInput {
  return { scope: 'main', members, health: summarizeCluster(members), leaderChanges };
}

const healthy = (now = T0) => [member('pg0', { role: 'primary' }, { now }), member('pg1', {}, { now }), member('pg2', {}, { now })];

/**
 * The alert lifecycle over a sequence of states, the way the server runs it: evaluate, plan against
 * the open alerts, apply. Returns the notices sent (trigger/resolve) per step.
 */
function run(rule: TAlertRule, steps: { at: Date; input: Omit<TAlertInput, 'now' | 'settings'> }[], settingsRows: Parameters<typeof resolveRuleSettings>[0] = []) {
  const settings = resolveRuleSettings(settingsRows);
  // only the rule under test
  for (const r of Object.keys(settings) as TAlertRule[]) if (r !== rule) settings[r].enabled = false;
  let open: TOpenAlert[] = [];
  let nextId = 1n;
  return steps.map(({ at, input }) => {
    const conditions = evaluateRules({ ...input, now: at, settings });
    const plan = planAlerts(open, conditions, at);
    const notices: string[] = [];
    for (const c of plan.create) {
      open.push({ id: nextId++, key: conditionKey(c.condition), status: c.status, since: at });
      if (c.status === 'firing') notices.push(`trigger ${conditionKey(c.condition)}`);
    }
    for (const f of plan.fire) {
      open = open.map((a) => (a.id === f.alert.id ? { ...a, status: 'firing' } : a));
      notices.push(`trigger ${f.alert.key}`);
    }
    for (const r of plan.resolve) notices.push(`resolve ${r.key}`);
    const gone = new Set([...plan.resolve, ...plan.drop].map((a) => a.id));
    open = open.filter((a) => !gone.has(a.id));
    return { notices, conditions };
  });
}

const at = (s: number) => new Date(T0.getTime() + s * 1000);
const none = { awaitingApproval: [] };

describe('alert rules: fire, no repeat while open, recover', () => {
  it('leader_change: fires on a failover event, once, and resolves after its window', () => {
    const change = [{ at: T0, member: 'pg1', type: 'failover', summary: 'pg1 promoted' }];
    const steps = run('leader_change', [
      { at: at(1), input: { ...none, clusters: [cluster(healthy(at(1)), change)] } },
      { at: at(60), input: { ...none, clusters: [cluster(healthy(at(60)), change)] } },
      { at: at(901), input: { ...none, clusters: [cluster(healthy(at(901)), change)] } },
    ]);
    expect(steps.map((s) => s.notices)).toEqual([['trigger leader_change|main|'], [], ['resolve leader_change|main|']]);
    expect(steps[0]?.conditions[0]?.summary).toBe('main: pg1 became the leader (failover) at 2026-12-04T03:00:00.000Z');
  });

  it('replica_down: a replica whose agent stopped reporting, not while paused', () => {
    const down = (now: Date, paused = false) => [member('pg0', { role: 'primary', paused }, { now }), member('pg1', { paused }, { now, ageSeconds: 120 }), member('pg2', { paused }, { now })];
    const steps = run('replica_down', [
      { at: at(0), input: { ...none, clusters: [cluster(down(at(0)))] } },
      { at: at(10), input: { ...none, clusters: [cluster(down(at(10)))] } },
      { at: at(20), input: { ...none, clusters: [cluster(healthy(at(20)))] } },
      { at: at(30), input: { ...none, clusters: [cluster(down(at(30), true))] } },
    ]);
    expect(steps.map((s) => s.notices)).toEqual([['trigger replica_down|main|pg1'], [], ['resolve replica_down|main|pg1'], []]);
  });

  it('postgres_down: the agent reports, PostgreSQL is down for 30 s; a blip shorter than that never pages', () => {
    const down = (now: Date) => [member('pg0', { role: 'primary' }, { now }), member('pg1', { state: 'stopped', pgRunning: false, lsn: null }, { now }), member('pg2', {}, { now })];
    const steps = run('postgres_down', [
      { at: at(0), input: { ...none, clusters: [cluster(down(at(0)))] } },
      { at: at(10), input: { ...none, clusters: [cluster(healthy(at(10)))] } },
      { at: at(20), input: { ...none, clusters: [cluster(down(at(20)))] } },
      { at: at(50), input: { ...none, clusters: [cluster(down(at(50)))] } },
      { at: at(60), input: { ...none, clusters: [cluster(down(at(60)))] } },
      { at: at(70), input: { ...none, clusters: [cluster(healthy(at(70)))] } },
    ]);
    expect(steps.map((s) => s.notices)).toEqual([[], [], [], ['trigger postgres_down|main|pg1'], [], ['resolve postgres_down|main|pg1']]);
    expect(steps[3]?.conditions[0]).toMatchObject({ severity: 'error', summary: 'main: PostgreSQL on pg1 is not running (state: stopped) while its agent runs' });
  });

  it('replication_lag: over the threshold (configurable), recovers below it', () => {
    const lagging = (now: Date, bytes: number) => [
      member('pg0', { role: 'primary' }, { now }),
      member('pg1', { lag: { leaderLsn: 100 * MB, receiveBytes: bytes, replayBytes: bytes, receiveSeconds: 3, replaySeconds: 3 } }, { now }),
    ];
    const rows = [{ rule: 'replication_lag', enabled: true, params: { bytes: 1 * MB, forSeconds: 0 } }];
    const steps = run(
      'replication_lag',
      [
        { at: at(0), input: { ...none, clusters: [cluster(lagging(at(0), 2 * MB))] } },
        { at: at(10), input: { ...none, clusters: [cluster(lagging(at(10), 3 * MB))] } },
        { at: at(20), input: { ...none, clusters: [cluster(lagging(at(20), 1000))] } },
      ],
      rows,
    );
    expect(steps.map((s) => s.notices)).toEqual([['trigger replication_lag|main|pg1'], [], ['resolve replication_lag|main|pg1']]);
    expect(steps[0]?.conditions[0]?.summary).toBe('main: pg1 lags 2.0 MB (3 s), over 1.0 MB');
    // the default threshold (16 MB) does not fire at 2 MB
    expect(run('replication_lag', [{ at: at(0), input: { ...none, clusters: [cluster(lagging(at(0), 2 * MB))] } }])[0]?.conditions).toEqual([]);
  });

  it('pending_restart: only after an hour pending', () => {
    const pending = (now: Date) => [member('pg0', { role: 'primary', pendingRestart: true, pendingRestartReasons: { shared_buffers: { old_value: '128MB', new_value: '256MB' } } }, { now }), member('pg1', {}, { now })];
    const steps = run('pending_restart', [
      { at: at(0), input: { ...none, clusters: [cluster(pending(at(0)))] } },
      { at: at(1800), input: { ...none, clusters: [cluster(pending(at(1800)))] } },
      { at: at(3600), input: { ...none, clusters: [cluster(pending(at(3600)))] } },
      { at: at(3700), input: { ...none, clusters: [cluster(pending(at(3700)))] } },
      { at: at(3800), input: { ...none, clusters: [cluster(healthy(at(3800)))] } },
    ]);
    expect(steps.map((s) => s.notices)).toEqual([[], [], ['trigger pending_restart|main|pg0'], [], ['resolve pending_restart|main|pg0']]);
  });

  it('dcs_stale: a reporting agent that last reached the DCS over 2 × ttl ago', () => {
    const stale = (now: Date, age: number) => [member('pg0', { role: 'primary' }, { now }), member('pg1', { dcsLastSeen: Math.floor(now.getTime() / 1000) - age }, { now })];
    const steps = run('dcs_stale', [
      { at: at(0), input: { ...none, clusters: [cluster(stale(at(0), 59))] } },
      { at: at(10), input: { ...none, clusters: [cluster(stale(at(10), 61))] } },
      { at: at(20), input: { ...none, clusters: [cluster(stale(at(20), 71))] } },
      { at: at(30), input: { ...none, clusters: [cluster(stale(at(30), 1))] } },
    ]);
    // ttl 30 (Patroni's default; no member reports its settings here): the limit is 60 s
    expect(steps.map((s) => s.notices)).toEqual([[], ['trigger dcs_stale|main|pg1'], [], ['resolve dcs_stale|main|pg1']]);
    expect(steps[1]?.conditions[0]).toMatchObject({ severity: 'critical', summary: 'main: pg1 last reached the DCS 61 s ago (over 2 × ttl 30 s)' });
  });

  it('no_failover_candidate: from the control-plane readiness, after 30 s, not while paused', () => {
    const blocked = (now: Date, paused = false) => [member('pg0', { role: 'primary', paused }, { now }), member('pg1', { tags: { nofailover: true }, paused }, { now })];
    const steps = run('no_failover_candidate', [
      { at: at(0), input: { ...none, clusters: [cluster(blocked(at(0)))] } },
      { at: at(30), input: { ...none, clusters: [cluster(blocked(at(30)))] } },
      { at: at(40), input: { ...none, clusters: [cluster(blocked(at(40)))] } },
      { at: at(50), input: { ...none, clusters: [cluster(blocked(at(50), true))] } },
    ]);
    expect(steps.map((s) => s.notices)).toEqual([[], ['trigger no_failover_candidate|main|'], [], ['resolve no_failover_candidate|main|']]);
    expect(steps[1]?.conditions[0]?.summary).toBe('main: no eligible failover candidate: no eligible member; pg1: tagged nofailover');
  });

  it('approval_waiting: one alert per waiting operation, resolved when it is decided', () => {
    const op = { id: 'op-1', cluster: 'main', type: 'switchover', requestedBy: 'alice@example.com', createdAt: T0 };
    const steps = run('approval_waiting', [
      { at: at(0), input: { clusters: [], awaitingApproval: [op] } },
      { at: at(10), input: { clusters: [], awaitingApproval: [op] } },
      { at: at(20), input: { clusters: [], awaitingApproval: [] } },
    ]);
    expect(steps.map((s) => s.notices)).toEqual([['trigger approval_waiting|main|op-1'], [], ['resolve approval_waiting|main|op-1']]);
  });

  it('a disabled rule evaluates to nothing', () => {
    const steps = run('replica_down', [{ at: at(0), input: { ...none, clusters: [cluster([member('pg0', { role: 'primary' }), member('pg1', {}, { ageSeconds: 120 })])] } }], [{ rule: 'replica_down', enabled: false, params: {} }]);
    expect(steps[0]?.notices).toEqual([]);
  });

  it('stored parameters that no longer parse fall back to the defaults', () => {
    const s = resolveRuleSettings([{ rule: 'replication_lag', enabled: true, params: { bytes: 'lots' } }]);
    expect(s.replication_lag.params).toEqual({ bytes: 16 * MB, seconds: null, forSeconds: 30 });
  });
});
