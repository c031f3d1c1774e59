/** The dashboard's pure logic: formatters, live-message cache updates, staleness, topology, lag chart rows. */
import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatLsn, formatSeconds, roleLabel } from '../components/format.ts';
import { applyToDetail, applyToList, listKnows, withFreshness, type TClusterDetail, type TClusterListItem } from '../components/live-cache.ts';
import { buildTopology, chartRows, syncStandbys, visibleTags } from '../components/view-model.ts';
import { summarizeCluster } from '../server/lib/cluster-health.ts';
import { memberView, type TMemberView } from '../server/lib/member-view.ts';
import { snapshot } from './support/builders.ts';

const now = new Date('2026-11-26T12:00:00Z');

function member(name: string, over: Parameters<typeof snapshot>[1] = {}, opts: { ageSeconds?: number; seq?: number } = {}): TMemberView {
  const seq = opts.seq ?? 1;
  return memberView(
    { name, snapshot: snapshot(seq, over), lastSeenAt: new Date(now.getTime() - (opts.ageSeconds ?? 1) * 1000), lastSeq: BigInt(seq), agentVersion: '0.1.0' },
    { now, staleAfterSeconds: 30, connected: true },
  );
}

function detail(members: TMemberView[]): TClusterDetail {
  return {
    scope: 'pg',
    name: 'pg',
    createdAt: now.toISOString(),
    health: summarizeCluster(members),
    members,
    links: { standbyOf: null, followedBy: [] },
    recentEvents: [],
    history: [],
    staleAfterSeconds: 30,
    backupMaxAgeHours: 26,
  };
}

const threeMembers = () => [member('pg0', { role: 'primary' }), member('pg1'), member('pg2')];

describe('formatters', () => {
  it('prints WAL positions as PostgreSQL does', () => {
    expect(formatLsn(0x3000148)).toBe('0/3000148');
    expect(formatLsn(2 ** 32 + 0x60)).toBe('1/60');
    expect(formatLsn(null)).toBe('–');
  });

  it('prints bytes, seconds and ages for people', () => {
    expect([formatBytes(0), formatBytes(812), formatBytes(1536), formatBytes(23 * 1024 * 1024)]).toEqual(['0 B', '812 B', '1.5 kB', '23 MB']);
    expect([formatSeconds(0), formatSeconds(0.4), formatSeconds(12), formatSeconds(184), formatSeconds(7500)]).toEqual(['0 s', '0.4 s', '12 s', '3 min 4 s', '2 h 5 min']);
    expect(formatAgo(new Date(now.getTime() - 4000).toISOString(), now.getTime())).toBe('4 s ago');
    expect(formatAgo(null, now.getTime())).toBe('never');
  });

  it('calls the primary the Leader', () => {
    expect(roleLabel('primary')).toBe('Leader');
    expect(roleLabel('replica')).toBe('Replica');
    expect(roleLabel('replica', { sync: true })).toBe('Sync standby');
    expect(roleLabel(null)).toBe('Unknown');
  });
});

describe('live messages update the cached cluster in place', () => {
  it("a member's new snapshot replaces it and the health is recomputed: a promotion moves the leader", () => {
    const d = detail(threeMembers());
    const promoted = member('pg1', { role: 'primary' }, { seq: 5 });
    const stalePg0 = { type: 'stale' as const, cluster: 'pg', member: 'pg0', lastSeenAt: now.toISOString() };
    const next = applyToDetail(applyToDetail(d, stalePg0), { type: 'member', cluster: 'pg', member: { ...promoted, agentVersion: null } })!;
    expect(next.health.leader).toBe('pg1');
    expect(next.members.find((m) => m.name === 'pg1')?.agentVersion).toBe('0.1.0'); // kept from the stored row
    expect(next.members.find((m) => m.name === 'pg0')?.stale).toBe(true);
  });

  it('ignores an older snapshot than the one it has, and messages about other clusters', () => {
    const d = detail([member('pg0', { role: 'primary' }, { seq: 9 })]);
    expect(applyToDetail(d, { type: 'member', cluster: 'pg', member: member('pg0', { role: 'replica' }, { seq: 3 }) })).toBe(d);
    expect(applyToDetail(d, { type: 'presence', cluster: 'other', member: 'pg0', connected: false, at: now.toISOString() })).toBe(d);
  });

  it('prepends events, and takeovers to the history too, once', () => {
    const d = detail(threeMembers());
    const event = { id: '7', cluster: 'pg', member: 'pg1', seq: 2, type: 'failover', at: now.toISOString(), receivedAt: now.toISOString(), summary: 'failover from pg0 to pg1', details: {} };
    const once = applyToDetail(d, { type: 'event', cluster: 'pg', event })!;
    const twice = applyToDetail(once, { type: 'event', cluster: 'pg', event })!;
    expect(twice.recentEvents.map((e) => e.id)).toEqual(['7']);
    expect(twice.history.map((e) => e.id)).toEqual(['7']);
    const minor = applyToDetail(d, { type: 'event', cluster: 'pg', event: { ...event, id: '8', type: 'postgres_up' } })!;
    expect(minor.history).toEqual([]);
  });

  it('the clusters list: presence flips a flag; an unknown member means "refetch"', () => {
    const list: TClusterListItem[] = [{ scope: 'pg', name: 'pg', health: summarizeCluster(threeMembers()), members: threeMembers(), links: { standbyOf: null, followedBy: [] } }];
    const next = applyToList(list, { type: 'presence', cluster: 'pg', member: 'pg2', connected: false, at: now.toISOString() })!;
    expect(next[0]?.members.find((m) => m.name === 'pg2')?.connected).toBe(false);
    expect(listKnows(list, { type: 'member', cluster: 'pg', member: member('pg9') })).toBe(false);
    expect(listKnows(list, { type: 'member', cluster: 'new', member: member('pg0') })).toBe(false);
    expect(listKnows(list, { type: 'member', cluster: 'pg', member: member('pg1') })).toBe(true);
  });
});

describe('staleness on the client clock', () => {
  it('a member silent for longer than the threshold is stale, and no longer counts as the leader', () => {
    const d = detail(threeMembers());
    const later = withFreshness(d, now.getTime() + 5_000, 30);
    expect(later.members.every((m) => !m.stale)).toBe(true);
    const muchLater = withFreshness(
      { ...d, members: d.members.map((m) => (m.name === 'pg0' ? { ...m, lastSeenAt: new Date(now.getTime() - 60_000).toISOString() } : m)) },
      now.getTime(),
      30,
    );
    expect(muchLater.members.find((m) => m.name === 'pg0')?.stale).toBe(true);
    expect(muchLater.health.leader).toBeNull();
  });
});

describe('topology', () => {
  it('the leader at the root, replicas under it, cascading replicas under their upstream', () => {
    const ms = [member('pg0', { role: 'primary' }), member('pg1'), member('pg2', { tags: { replicatefrom: 'pg1' } })];
    const t = buildTopology(ms, { leader: 'pg0' });
    expect(t.root?.member.name).toBe('pg0');
    expect(t.root?.children.map((c) => c.member.name)).toEqual(['pg1']);
    expect(t.root?.children[0]?.children.map((c) => c.member.name)).toEqual(['pg2']);
    expect(t.apart).toEqual([]);
  });

  it('stale members and a replicatefrom to a stale member: apart, and under the leader', () => {
    const ms = [member('pg0', { role: 'primary' }), { ...member('pg1'), stale: true }, member('pg2', { tags: { replicatefrom: 'pg1' } })];
    const t = buildTopology(ms, { leader: 'pg0' });
    expect(t.root?.children.map((c) => c.member.name)).toEqual(['pg2']);
    expect(t.apart.map((m) => m.name)).toEqual(['pg1']);
  });

  it('a replicatefrom cycle never reaches the leader: both shown apart, nothing lost', () => {
    const ms = [member('pg0', { role: 'primary' }), member('pg1', { tags: { replicatefrom: 'pg2' } }), member('pg2', { tags: { replicatefrom: 'pg1' } })];
    const t = buildTopology(ms, { leader: 'pg0' });
    expect(t.root?.children).toEqual([]);
    expect(t.apart.map((m) => m.name).sort()).toEqual(['pg1', 'pg2']);
  });

  it('no leader: no root, everyone apart', () => {
    const t = buildTopology([member('pg1'), member('pg2')], { leader: null });
    expect(t.root).toBeNull();
    expect(t.apart).toHaveLength(2);
  });

  it('sync standbys as the fresh members read them from the DCS', () => {
    const dcs = [{ name: 'pg1', role: 'sync_standby', state: 'running', timeline: 1, lsn: 1, tags: {}, pendingRestart: false }];
    expect([...syncStandbys([member('pg0', { role: 'primary', members: dcs })])]).toEqual(['pg1']);
    expect([...syncStandbys([{ ...member('pg0', { role: 'primary', members: dcs }), stale: true }])]).toEqual([]);
  });

  it('shows true tags and valued tags, not false ones', () => {
    expect(visibleTags({ nofailover: true, noloadbalance: false, replicatefrom: 'pg1', failover_priority: 2 })).toEqual(['failover_priority: 2', 'nofailover', 'replicatefrom: pg1']);
  });
});

describe('lag chart rows', () => {
  const p = (t: string, bytes: number | null, seconds: number | null = 0) => ({
    t,
    samples: 1,
    receiveBytes: bytes,
    replayBytes: bytes,
    receiveSeconds: seconds,
    replaySeconds: seconds,
    replayBytesMax: bytes,
    replaySecondsMax: seconds,
  });

  it('one row per bucket, one column per member, the leader left out when it never lagged', () => {
    const series = [
      { member: 'pg0', points: [p('2026-11-26T12:00:00Z', 0), p('2026-11-26T12:00:10Z', 0)] },
      { member: 'pg1', points: [p('2026-11-26T12:00:00Z', 10), p('2026-11-26T12:00:10Z', 20)] },
      { member: 'pg2', points: [p('2026-11-26T12:00:10Z', 5)] },
      { member: 'pg3', points: [p('2026-11-26T12:00:10Z', null, null)] },
    ];
    const r = chartRows(series, 'bytes', 'pg0');
    expect(r.members).toEqual(['pg1', 'pg2']);
    expect(r.points).toBe(3);
    expect(r.rows).toEqual([
      { t: Date.parse('2026-11-26T12:00:00Z'), pg1: 10 },
      { t: Date.parse('2026-11-26T12:00:10Z'), pg1: 20, pg2: 5 },
    ]);
  });

  it('keeps a leader that lagged earlier in the range (it was a replica then)', () => {
    const r = chartRows([{ member: 'pg1', points: [p('2026-11-26T12:00:00Z', 300), p('2026-11-26T12:00:10Z', 0)] }], 'bytes', 'pg1');
    expect(r.members).toEqual(['pg1']);
  });
});
