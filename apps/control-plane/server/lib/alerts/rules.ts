/**
 * The alert rules: what DBAs page on, evaluated by the control plane from the state it already
 * ingests (members' latest snapshots, the readiness computed from them, agent events, operations).
 * Pure: `evaluateRules` turns one picture of the world into the conditions that hold now; which of
 * them open, fire, repeat or resolve is reconcile.ts's job.
 */
import { z } from 'zod';
import type { TClusterHealth } from '../cluster-health.ts';
import { backupFinding, clusterBackup, DEFAULT_BACKUP_MAX_AGE_HOURS } from '../backup-view.ts';
import type { TMemberView } from '../member-view.ts';

export const ALERT_RULES = [
  'leader_change',
  'replica_down',
  'postgres_down',
  'replication_lag',
  'pending_restart',
  'dcs_stale',
  'no_failover_candidate',
  'approval_waiting',
  'no_recent_backup',
] as const;
export const ZAlertRule = z.enum(ALERT_RULES);
export type TAlertRule = z.infer<typeof ZAlertRule>;

/** PagerDuty's severities (also used for the generic and Slack bodies). */
export type TSeverity = 'critical' | 'error' | 'warning' | 'info';

const forSeconds = (d: number) => z.number().int().min(0).max(7 * 24 * 3600).default(d);

/** Each rule's parameters with their defaults (the thresholds an admin may change). */
export const ZRuleParams = {
  /** A leader change (failover or switchover) stays an alert this long, then resolves itself. */
  leader_change: z.strictObject({ windowSeconds: z.number().int().min(60).max(24 * 3600).default(900) }),
  /** A member other than the leader whose agent stopped reporting, outside pause (maintenance). */
  replica_down: z.strictObject({ forSeconds: forSeconds(0) }),
  /** The agent reports, PostgreSQL does not run. */
  postgres_down: z.strictObject({ forSeconds: forSeconds(30) }),
  /** Replay lag over `bytes` (or over `seconds`, when set) on a reporting replica. */
  replication_lag: z.strictObject({
    bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(16 * 1024 * 1024),
    seconds: z.number().min(0).max(7 * 24 * 3600).nullable().default(null),
    forSeconds: forSeconds(30),
  }),
  /** A pending restart older than this. */
  pending_restart: z.strictObject({ forSeconds: forSeconds(3600) }),
  /** A reporting agent whose last successful DCS call is older than ttlMultiple × ttl. */
  dcs_stale: z.strictObject({ ttlMultiple: z.number().min(1).max(100).default(2) }),
  /** Nobody would be promoted if the leader died (not while paused). */
  no_failover_candidate: z.strictObject({ forSeconds: forSeconds(30) }),
  /** An operation waiting for approval for this long. */
  approval_waiting: z.strictObject({ forSeconds: forSeconds(0) }),
  /**
   * The backup tool (as the leader's agent reports it) lists no backup newer than `maxAgeHours`, none
   * at all, or fails. Only for clusters whose agents report backups (a `backup:` section).
   */
  no_recent_backup: z.strictObject({ maxAgeHours: z.number().min(1).max(90 * 24).default(DEFAULT_BACKUP_MAX_AGE_HOURS), forSeconds: forSeconds(0) }),
} satisfies Record<TAlertRule, z.ZodType>;
export type TRuleParams<K extends TAlertRule> = z.output<(typeof ZRuleParams)[K]>;

export type TRuleSettings = { [K in TAlertRule]: { enabled: boolean; params: TRuleParams<K> } };

export const RULE_TITLES: Record<TAlertRule, string> = {
  leader_change: 'Leader changed',
  replica_down: 'Replica down (outside pause)',
  postgres_down: 'PostgreSQL not running while its agent runs',
  replication_lag: 'Replication lag over threshold',
  pending_restart: 'Pending restart too old',
  dcs_stale: 'DCS last seen too long ago',
  no_failover_candidate: 'No eligible failover candidate',
  approval_waiting: 'Operation waiting for approval',
  no_recent_backup: 'No recent backup',
};

/** The settings in force: stored overrides (validated) over the defaults. A stored value that no longer parses falls back to the defaults. */
export function resolveRuleSettings(stored: readonly { rule: string; enabled: boolean; params: unknown }[]): TRuleSettings {
  const out = {} as Record<TAlertRule, { enabled: boolean; params: unknown }>;
  for (const rule of ALERT_RULES) {
    const row = stored.find((s) => s.rule === rule);
    const parsed = ZRuleParams[rule].safeParse(row?.params ?? {});
    out[rule] = { enabled: row?.enabled ?? true, params: parsed.success ? parsed.data : ZRuleParams[rule].parse({}) };
  }
  return out as TRuleSettings;
}

/** One condition that holds now. Its key (rule|cluster|subject) is the dedup key. */
export interface TCondition {
  rule: TAlertRule;
  cluster: string;
  /** A member name, an operation id, or '' for the cluster. */
  subject: string;
  severity: TSeverity;
  summary: string;
  details: Record<string, string | number | boolean | null>;
  /** Must hold this long before it fires (0: at once). */
  forSeconds: number;
}

export function conditionKey(c: Pick<TCondition, 'rule' | 'cluster' | 'subject'>): string {
  return `${c.rule}|${c.cluster}|${c.subject}`;
}

export interface TClusterInput {
  scope: string;
  members: readonly TMemberView[];
  health: TClusterHealth;
  /** Agent events of type failover / switchover, newest first (only the recent ones matter). */
  leaderChanges: readonly { at: Date; member: string; type: string; summary: string }[];
}

export interface TAlertInput {
  now: Date;
  clusters: readonly TClusterInput[];
  /** Operations in awaiting_approval. */
  awaitingApproval: readonly { id: string; cluster: string; type: string; requestedBy: string; createdAt: Date }[];
  settings: TRuleSettings;
}

type Emit = (c: TCondition) => void;
type RuleFn<K extends TAlertRule> = (cluster: TClusterInput, p: TRuleParams<K>, now: Date, emit: (c: Omit<TCondition, 'rule' | 'cluster'>) => void) => void;

const MB = 1024 * 1024;
function bytes(n: number): string {
  return n >= MB ? `${(n / MB).toFixed(1)} MB` : n >= 1024 ? `${(n / 1024).toFixed(1)} kB` : `${n} B`;
}

const clusterRules: { [K in Exclude<TAlertRule, 'approval_waiting'>]: RuleFn<K> } = {
  leader_change(c, p, now, emit) {
    const recent = c.leaderChanges.find((e) => now.getTime() - e.at.getTime() <= p.windowSeconds * 1000);
    if (!recent) return;
    emit({
      subject: '',
      severity: 'warning',
      summary: `${c.scope}: ${recent.member} became the leader (${recent.type}) at ${recent.at.toISOString()}`,
      details: { newLeader: recent.member, type: recent.type, at: recent.at.toISOString(), event: recent.summary },
      forSeconds: 0,
    });
  },
  replica_down(c, p, _now, emit) {
    if (c.health.paused) return;
    for (const m of c.members) {
      if (m.name === c.health.leader || !m.stale) continue;
      emit({
        subject: m.name,
        severity: 'error',
        summary: `${c.scope}: replica ${m.name} is down (no report since ${m.lastSeenAt ?? 'never'})`,
        details: { member: m.name, lastSeenAt: m.lastSeenAt, role: m.role },
        forSeconds: p.forSeconds,
      });
    }
  },
  postgres_down(c, p, _now, emit) {
    for (const m of c.members) {
      if (m.stale || m.pgRunning !== false) continue;
      const leads = m.name === c.health.leader || m.leaderSeen === m.name;
      emit({
        subject: m.name,
        severity: leads ? 'critical' : 'error',
        summary: `${c.scope}: PostgreSQL on ${m.name} is not running (state: ${m.state ?? 'unknown'}) while its agent runs`,
        details: { member: m.name, state: m.state, role: m.role },
        forSeconds: p.forSeconds,
      });
    }
  },
  replication_lag(c, p, _now, emit) {
    for (const m of c.members) {
      if (m.stale || m.role !== 'replica' || !m.lag) continue;
      const b = m.lag.replayBytes ?? m.lag.receiveBytes;
      const s = m.lag.replaySeconds ?? m.lag.receiveSeconds;
      const overBytes = b !== null && b > p.bytes;
      const overSeconds = p.seconds !== null && s !== null && s > p.seconds;
      if (!overBytes && !overSeconds) continue;
      emit({
        subject: m.name,
        severity: 'warning',
        summary: `${c.scope}: ${m.name} lags ${b === null ? 'an unknown amount' : bytes(b)}${s !== null ? ` (${Math.round(s)} s)` : ''}, over ${overBytes ? bytes(p.bytes) : `${p.seconds} s`}`,
        details: { member: m.name, lagBytes: b, lagSeconds: s, thresholdBytes: p.bytes, thresholdSeconds: p.seconds },
        forSeconds: p.forSeconds,
      });
    }
  },
  pending_restart(c, p, _now, emit) {
    for (const m of c.members) {
      if (m.stale || !m.pendingRestart) continue;
      const params = Object.keys(m.pendingRestartReasons);
      emit({
        subject: m.name,
        severity: 'info',
        summary: `${c.scope}: ${m.name} has had a pending restart for over ${Math.round(p.forSeconds / 60)} min${params.length ? ` (${params.slice(0, 5).join(', ')})` : ''}`,
        details: { member: m.name, parameters: params.join(', ') },
        forSeconds: p.forSeconds,
      });
    }
  },
  dcs_stale(c, p, now, emit) {
    for (const m of c.members) {
      if (m.stale || m.role === null) continue;
      const ttl = m.ha?.ttl ?? c.health.readiness.basis.ttl;
      const limit = p.ttlMultiple * ttl;
      const age = m.dcsLastSeen === null ? null : now.getTime() / 1000 - m.dcsLastSeen;
      if (age !== null && age <= limit) continue;
      emit({
        subject: m.name,
        severity: 'critical',
        summary: `${c.scope}: ${m.name} last reached the DCS ${age === null ? 'never' : `${Math.round(age)} s ago`} (over ${p.ttlMultiple} × ttl ${ttl} s)`,
        details: { member: m.name, dcsLastSeen: m.dcsLastSeen, ageSeconds: age === null ? null : Math.round(age), limitSeconds: limit },
        forSeconds: 0,
      });
    }
  },
  no_failover_candidate(c, p, _now, emit) {
    const r = c.health.readiness;
    if (c.health.paused || c.members.length <= 1 || r.candidate !== null) return;
    emit({
      subject: '',
      severity: 'critical',
      summary: `${c.scope}: no eligible failover candidate: ${r.summary.replace(/^nobody would be promoted: /, '')}`,
      details: { leader: r.leader, why: r.summary },
      forSeconds: p.forSeconds,
    });
  },
  no_recent_backup(c, p, now, emit) {
    const b = clusterBackup(c.members);
    const f = backupFinding(b.status, now.getTime(), p.maxAgeHours);
    if (!b.status || f.level === 'ok' || f.level === 'unknown') return;
    emit({
      subject: '',
      severity: f.level === 'error' ? 'error' : 'warning',
      summary: `${c.scope}: ${f.level === 'error' ? 'the backup tool fails' : f.level === 'none' ? 'no backup' : 'no recent backup'}: ${f.text}`,
      details: {
        tool: b.status.tool,
        target: b.status.target,
        reportedBy: b.reportedBy,
        lastBackup: b.status.last?.label ?? null,
        lastBackupAt: b.status.last?.finishedAt ?? null,
        ageHours: f.ageSeconds === null ? null : Math.round(f.ageSeconds / 360) / 10,
        maxAgeHours: p.maxAgeHours,
        state: b.status.state,
        message: b.status.message,
      },
      forSeconds: p.forSeconds,
    });
  },
};

/** Every condition that holds now, for the enabled rules. */
export function evaluateRules(input: TAlertInput): TCondition[] {
  const out: TCondition[] = [];
  const push: Emit = (c) => out.push(c);
  const s = input.settings;
  for (const c of input.clusters) {
    for (const rule of Object.keys(clusterRules) as (keyof typeof clusterRules)[]) {
      if (!s[rule].enabled) continue;
      const fn = clusterRules[rule] as RuleFn<typeof rule>;
      fn(c, s[rule].params as TRuleParams<typeof rule>, input.now, (x) => push({ ...x, rule, cluster: c.scope }));
    }
  }
  if (s.approval_waiting.enabled) {
    for (const op of input.awaitingApproval) {
      push({
        rule: 'approval_waiting',
        cluster: op.cluster,
        subject: op.id,
        severity: 'info',
        summary: `${op.cluster}: ${op.type} requested by ${op.requestedBy} is waiting for approval`,
        details: { operation: op.id, type: op.type, requestedBy: op.requestedBy, requestedAt: op.createdAt.toISOString() },
        forSeconds: Math.max(0, s.approval_waiting.params.forSeconds - Math.floor((input.now.getTime() - op.createdAt.getTime()) / 1000)),
      });
    }
  }
  return out;
}
