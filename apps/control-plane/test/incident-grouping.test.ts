import { describe, expect, it } from 'vitest';
import { QUIET_MS, describeIncident, groupDecision, groupEvents, triggerSeverity, type TGroupEvent } from '../server/lib/incident-grouping.ts';
import { postmortemMarkdown } from '../server/lib/postmortem.ts';

const T = Date.UTC(2026, 11, 4, 3, 12, 4);
let n = 0;
function ev(member: string, type: string, offsetS: number, details: Record<string, unknown> = {}, cause?: Record<string, unknown>): TGroupEvent {
  n++;
  return { member, type, at: T + offsetS * 1000, receivedAt: T + offsetS * 1000 + 50, summary: `${member} ${type} #${n}`, details, cause };
}

/** A kill -9 of node1's whole node (its agent says nothing), node2 takes over, node1 comes back by pg_rewind. */
function killedPrimary(): TGroupEvent[] {
  return [
    ev('node2', 'leader_key_gone', 0, { previousLeader: 'node1' }),
    ev('node3', 'leader_key_gone', 0.4, { previousLeader: 'node1' }),
    ev('node2', 'decision_changed', 0.5, { verdict: 'race_won', reason: 'promoted self to leader by acquiring session lock', actions: [], previousReason: null }),
    ev('node2', 'lock_acquired', 0.6, { ttlSeconds: 10 }),
    ev('node2', 'promoted', 10, { previousLeader: 'node1', timeline: 2, lsn: 5000, leaderLsn: 5000, behindBytes: 0 }),
    ev('node3', 'decision_changed', 12, { verdict: 'replica_ok', reason: 'following node2', actions: [], previousReason: null }),
    ev('node1', 'rewind_started', 58, { from: 'node2' }),
    ev('node1', 'rewind_done', 58.2, { from: 'node2', ok: true, rewound: true, seconds: 0.2, error: null }),
    ev('node1', 'postgres_up', 60, { role: 'replica', downSeconds: null }),
  ];
}

describe('incident grouping', () => {
  it('opens on a triggering event, not on a routine one, and joins what follows within the quiet period', () => {
    expect(groupDecision(null, ev('node2', 'decision_changed', 0))).toBe('none');
    expect(groupDecision(null, ev('node2', 'lag_back', 0))).toBe('none');
    expect(groupDecision(null, ev('node2', 'leader_key_gone', 0, { previousLeader: 'node1' }))).toBe('open');
    const open = { startedReceivedAt: T, lastReceivedAt: T };
    expect(groupDecision(open, { ...ev('node2', 'decision_changed', 0), receivedAt: T + QUIET_MS })).toBe('join');
    expect(groupDecision(open, { ...ev('node2', 'decision_changed', 0), receivedAt: T + QUIET_MS + 1 })).toBe('none');
    expect(groupDecision(open, { ...ev('node2', 'postgres_down', 0), receivedAt: T + QUIET_MS + 1 })).toBe('open');
  });

  it('a failover and everything around it is one incident; an unrelated one later is another', () => {
    const later = [ev('node3', 'lag_above_threshold', 600, { lagBytes: 3 << 20, thresholdBytes: 1 << 20 }), ev('node3', 'lag_back', 640, { lagBytes: 0, thresholdBytes: 1 << 20 })];
    const before = [ev('node2', 'decision_changed', -400, { verdict: 'replica_ok', reason: 'x', actions: [], previousReason: null })];
    const groups = groupEvents([...before, ...killedPrimary(), ...later]);
    expect(groups.map((g) => g.length)).toEqual([9, 2]);
    expect(groups[0]![0]!.type).toBe('leader_key_gone');
    expect(describeIncident(groups[1]!)).toMatchObject({ severity: 'minor', title: 'Replication lag above the threshold', members: ['node3'] });
  });

  it('a planned switchover opens nothing', () => {
    const cause = { verdict: 'promote', decision: 'switchover: promoting (node2) after the leader released the lock' };
    const events = [
      ev('node1', 'lock_lost', 0, { error: 'released for a switchover', lastRenewedAt: null }),
      ev('node1', 'demoted', 0.1, { mode: 'graceful', lastLsn: 10 }),
      ev('node2', 'promoted', 1, { previousLeader: 'node1', timeline: 3, lsn: 10, leaderLsn: 10, behindBytes: 0 }, cause),
      ev('node2', 'switchover', 1.2, { previousLeader: 'node1', timeline: 3, scheduledAt: null }),
    ];
    expect(events.map(triggerSeverity)).toEqual([null, null, null, null]);
    expect(groupEvents(events)).toEqual([]);
  });
});

describe('incident summary', () => {
  it('says what happened in order, with the bytes behind, and that lost writes are unknown when the old primary could not report', () => {
    const f = describeIncident(killedPrimary());
    expect(f.title).toBe('Failover from node1 to node2');
    expect(f.severity).toBe('critical');
    expect(f.members).toEqual(['node1', 'node2', 'node3']);
    expect(f.summary).toBe(
      "node1's leader key was gone at 03:12:04 (seen by node2; its agent said nothing: unreachable or dead); node2 (0 B behind) promoted at 03:12:14; node1 rejoined by pg_rewind at 03:13:02; acknowledged writes lost: unknown (the old primary's last WAL position was not reported; 0 B behind its last published position)",
    );
  });

  it('with the fencing proof of the old primary: its own account, and the writes lost from both positions', () => {
    const events = [
      ev('node1', 'lock_lost', 0, { error: 'deadline exceeded', lastRenewedAt: new Date(T - 3000).toISOString() }),
      ev('node1', 'fenced', 0.3, { by: 'lock_lost', leaseRenewedAt: new Date(T - 3000).toISOString(), leaseExpiresAt: new Date(T + 7000).toISOString(), lostAt: new Date(T).toISOString(), stoppedAt: new Date(T + 300).toISOString(), stopMs: 300, beforeExpiry: true, lastLsn: 9000 }),
      ev('node2', 'promoted', 10, { previousLeader: 'node1', timeline: 2, lsn: 8000, leaderLsn: 8500, behindBytes: 500 }),
    ];
    const f = describeIncident(events);
    expect(f.summary).toBe(
      'node1 lost its lease at 03:12:04; node1 was fenced at 03:12:04 (PostgreSQL stopped 0.3 s after the lease was lost, before its lease could expire); node2 (500 B behind) promoted at 03:12:14; acknowledged writes lost: up to 1000 B of WAL',
    );
    const none = describeIncident([events[1]!, { ...events[2]!, details: { previousLeader: 'node1', timeline: 2, lsn: 9000, leaderLsn: 9000, behindBytes: 0 } }]);
    expect(none.summary).toMatch(/acknowledged writes lost: none/);
  });

  it('PostgreSQL down alone, a failed rewind, and the DCS lost and back', () => {
    expect(describeIncident([ev('node3', 'postgres_down', 0, { state: 'crashed', wasRole: 'replica' }), ev('node3', 'postgres_up', 20, { role: 'replica', downSeconds: 20 })])).toMatchObject({
      title: 'PostgreSQL down on node3',
      severity: 'major',
      summary: 'PostgreSQL on node3 went down at 03:12:04',
    });
    expect(describeIncident([ev('node1', 'rewind_done', 0, { from: 'node2', ok: false, rewound: null, seconds: 1, error: 'boom' })]).summary).toBe('pg_rewind on node1 failed at 03:12:04');
    expect(describeIncident([ev('node1', 'rewind_done', 0, { from: 'node2', ok: true, rewound: false, seconds: 1, error: null })]).summary).toBe('node1 rejoined without pg_rewind (nothing to rewind) at 03:12:04');
    expect(describeIncident([ev('node1', 'dcs_unreachable', 0, { error: 'x' }), ev('node1', 'dcs_back', 31, { unreachableSeconds: 31 })]).summary).toBe(
      'node1 could not reach the DCS at 03:12:04; the DCS was reachable again at 03:12:35',
    );
  });
});

describe('postmortem draft', () => {
  it('has the facts, the summary, a timeline table (escaped) and the notes', () => {
    const md = postmortemMarkdown({
      id: '7',
      cluster: 'prod',
      title: 'Failover from node1 to node2',
      severity: 'critical',
      status: 'resolved',
      startedAt: '2026-12-04T03:12:04.000Z',
      endedAt: '2026-12-04T03:13:02.500Z',
      members: ['node1', 'node2'],
      summary: 'node2 (0 B behind) promoted at 03:12:14',
      acknowledgedBy: 'oncall@example.com',
      resolvedBy: 'oncall@example.com',
      notes: [{ at: '2026-12-04T03:20:00.000Z', author: 'oncall@example.com', text: 'disk\nfull' }],
      timeline: [
        { at: '2026-12-04T03:12:14.000Z', receivedAt: '2026-12-04T03:12:14.100Z', source: 'agent', who: 'node2', type: 'promoted', summary: 'a | b', decision: 'promoted self to leader', operationId: null },
        { at: '2026-12-04T03:15:00.000Z', receivedAt: '2026-12-04T03:15:00.000Z', source: 'control-plane', who: 'oncall@example.com', type: 'incident.acknowledge', summary: 'incident.acknowledge incident:7', decision: null, operationId: null },
      ],
    });
    expect(md).toContain('# Postmortem (draft): Failover from node1 to node2');
    expect(md).toContain('- Ended: 2026-12-04 03:13:02 UTC');
    expect(md).toContain('node2 (0 B behind) promoted at 03:12:14.');
    expect(md).toContain('| 2026-12-04 03:12:14 UTC | agent | node2 | promoted: a \\| b | decision: promoted self to leader |');
    expect(md).toContain('| 2026-12-04 03:15:00 UTC | control-plane | oncall@example.com | incident.acknowledge: incident.acknowledge incident:7 |  |');
    expect(md).toContain('- 2026-12-04 03:20:00 UTC, oncall@example.com: disk full');
  });
});
