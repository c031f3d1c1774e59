/**
 * The alert rules and the Grafana dashboard: promtool (Debian's prometheus package) checks and
 * unit-tests the rules, and every metric either one reads must be one keel-agent serves
 * (apps/agent/src/http/metrics.ts; topology.int.test.ts checks the same against a live agent).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../apps/agent/src/http/metrics.ts';
import {
  agentConfigPath,
  dashboard,
  dashboardExprs,
  metricNames,
  NODE_NAMES,
  PROMETHEUS_YML,
  readYaml,
  repoPath,
  rules,
  RULES_TEST_YML,
  RULES_YML,
  type Obj,
} from './files.ts';

/** The metric names keel-agent serves, from its renderer, plus Prometheus' own `up`. */
function servedMetricNames(): Set<string> {
  const text = renderMetrics(
    { state: 'running', role: 'primary', patroni: { version: '0.1.0', scope: 'keel', name: 'node1' } },
    { hasLock: true, pause: false, keelVersion: '0.1.0' },
  );
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!).concat('up'));
}

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd: repoPath('deploy/prometheus') });
  if (r.error) throw new Error(`promtool is not installed (Debian package prometheus): run scripts/setup.sh (${r.error.message})`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const alerts = () => rules().groups.flatMap((g) => g.rules);
const dcs = (key: string) => (readYaml<Obj>(agentConfigPath('node1')).bootstrap as { dcs: Obj }).dcs[key];

describe('alert rules (deploy/prometheus/keel-rules.yml)', () => {
  it('pass `promtool check rules` and `promtool check config` on prometheus.yml', () => {
    const r = promtool('check', 'rules', repoPath(RULES_YML));
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${alerts().length} rules found`);
    const c = promtool('check', 'config', repoPath(PROMETHEUS_YML));
    expect(c.status, c.out).toBe(0);
  });

  it('pass `promtool test rules`: every alert fires in one case and stays quiet in another', () => {
    const r = promtool('test', 'rules', repoPath(RULES_TEST_YML));
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
    // Coverage: each alert has an evaluation expecting it and one expecting nothing.
    const t = readYaml<{ tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }> }>(RULES_TEST_YML);
    const cases = t.tests.flatMap((x) => x.alert_rule_test);
    for (const a of alerts()) {
      const mine = cases.filter((x) => x.alertname === a.alert);
      expect(mine.some((x) => x.exp_alerts.length > 0), `${a.alert} fires somewhere`).toBe(true);
      expect(mine.some((x) => x.exp_alerts.length === 0), `${a.alert} stays quiet somewhere`).toBe(true);
    }
  });

  it('cover the signals DBAs page on', () => {
    expect(alerts().map((a) => a.alert)).toEqual(
      expect.arrayContaining(['KeelLeaderChanged', 'KeelReplicaDown', 'KeelPostgresNotRunning', 'KeelReplicationLag', 'KeelPendingRestart', 'KeelDcsNotSeen']),
    );
    const byName = (n: string) => alerts().find((a) => a.alert === n)!;
    expect(byName('KeelPendingRestart').for).toBe('1h');
    for (const a of alerts()) {
      expect(['warning', 'critical'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
    }
  });

  it('use the cluster’s own thresholds: 2 x ttl for the DCS, maximum_lag_on_failover for lag', () => {
    for (const n of NODE_NAMES) {
      const b = (readYaml<Obj>(agentConfigPath(n)).bootstrap as { dcs: Obj }).dcs;
      expect(b.ttl, n).toBe(dcs('ttl'));
      expect(b.maximum_lag_on_failover, n).toBe(dcs('maximum_lag_on_failover'));
    }
    const byName = (n: string) => alerts().find((a) => a.alert === n)!;
    expect(byName('KeelDcsNotSeen').expr).toBe(`time() - patroni_dcs_last_seen > 2 * ${dcs('ttl')}`);
    expect(byName('KeelReplicationLag').expr.trim()).toMatch(new RegExp(`> ${dcs('maximum_lag_on_failover')}$`));
  });

  it('read only metrics keel-agent serves', () => {
    const served = servedMetricNames();
    expect(served.size).toBeGreaterThan(15);
    for (const a of alerts()) {
      const names = metricNames(a.expr);
      expect(names.length, a.alert).toBeGreaterThan(0);
      for (const m of names) expect(served, `${a.alert}: ${m}`).toContain(m);
    }
  });
});

describe('Grafana dashboard (deploy/grafana/dashboards/keel.json)', () => {
  const d = dashboard();

  it('reads only metrics keel-agent serves, in every panel and in its $scope variable', () => {
    const served = servedMetricNames();
    const exprs = dashboardExprs(d);
    expect(exprs.length).toBeGreaterThanOrEqual(d.panels.length);
    for (const { panel, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, panel).toBeGreaterThan(0);
      for (const m of names) expect(served, `${panel}: ${m}`).toContain(m);
    }
    const scope = d.templating.list.find((v) => v.name === 'scope')!;
    const m = /^label_values\((\w+), scope\)$/.exec(scope.query.query);
    expect(m, scope.query.query).not.toBeNull();
    expect(served).toContain(m![1]);
  });

  it('is well formed: unique panel ids, a target per panel, every query filtered by $scope or job', () => {
    expect(d.uid).toBe('keel-cluster');
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    for (const p of d.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.expr, p.title).toMatch(/scope=~"\$scope"|job="keel-agents"/);
    }
    // The promql the lag panel and the lag alert use is the same.
    const lagPanel = d.panels.find((p) => p.title.startsWith('Replication lag'))!;
    const lagAlert = rules().groups[0]!.rules.find((r) => r.alert === 'KeelReplicationLag')!;
    const shape = (e: string) => e.replace(/\{scope=~"\$scope"\}/g, '').replace(/\s+/g, ' ').replace(/ > \d+$/, '').trim();
    expect(shape(lagPanel.targets[0]!.expr)).toBe(shape(lagAlert.expr));
  });
});
