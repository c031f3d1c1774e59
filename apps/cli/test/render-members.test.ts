import { describe, expect, it } from 'vitest';
import { clusterView, visibleTags } from '../src/render/cluster.ts';
import { memberRows, pyRound, renderMembers, roleTitle, serviceInfo, topologyOrder } from '../src/render/members.ts';
import { fixture, SnapshotBuilder, snapshotFromDump } from './helpers.ts';

const syncOn = () => clusterView(snapshotFromDump('dcs_keys_decoded.json'), 'bench');
const syncOff = () => clusterView(snapshotFromDump('sync_off/dcs_keys_decoded.json'), 'bench');
const text = (name: string) => fixture(name).replace(/\n+$/, '');

describe('list, against real patronictl 3.0.2 output for the same etcd keys', () => {
  it('prints the sync-mode cluster exactly like patronictl list (Leader, Sync Standby, Replica)', () => {
    expect(renderMembers(syncOn())).toBe(text('patronictl_list.txt'));
  });

  it('prints the async cluster exactly like patronictl list', () => {
    expect(renderMembers(syncOff())).toBe(text('sync_off/patronictl_list.txt'));
  });

  it('prints the replication tree exactly like patronictl topology', () => {
    expect(renderMembers(syncOn(), { fmt: 'topology' })).toBe(text('patronictl_topology.txt'));
    expect(renderMembers(syncOff(), { fmt: 'topology' })).toBe(text('sync_off/patronictl_topology.txt'));
  });

  it('gives the same JSON as patronictl list -f json: empty fields left out, so the leader has no "Lag in MB"', () => {
    expect(JSON.parse(renderMembers(syncOn(), { fmt: 'json' }))).toEqual(JSON.parse(fixture('patronictl_list.json')));
    expect(JSON.parse(renderMembers(syncOff(), { fmt: 'json' }))).toEqual(JSON.parse(fixture('sync_off/patronictl_list.json')));
  });

  it('leaves empty extended columns out of the JSON, as patronictl list -e -f json does', () => {
    expect(JSON.parse(renderMembers(syncOn(), { fmt: 'json', extended: true }))).toEqual(JSON.parse(fixture('patronictl_list_extended.json')));
  });

  it('adds Pending restart, Scheduled restart and Tags with --extended', () => {
    const lines = renderMembers(syncOff(), { extended: true }).split('\n');
    expect(lines[0]).toBe('+ Cluster: bench ----------+---------+---------+----+-----------+-----------------+-------------------+------+');
    expect(lines[1]).toBe('| Member | Host            | Role    | State   | TL | Lag in MB | Pending restart | Scheduled restart | Tags |');
    expect(lines[4]).toBe('| node2  | 127.0.0.1:25433 | Leader  | running |  2 |           |                 |                   |      |');
  });

  it('prints tsv with the Cluster column and a header line', () => {
    expect(renderMembers(syncOff(), { fmt: 'tsv' }).split('\n')).toEqual([
      'Cluster\tMember\tHost\tRole\tState\tTL\tLag in MB',
      'bench\tnode1\t127.0.0.1:25432\tReplica\trunning\t2\t0',
      'bench\tnode2\t127.0.0.1:25433\tLeader\trunning\t2\t',
      'bench\tnode3\t127.0.0.1:25434\tReplica\trunning\t2\t0',
    ]);
  });

  it('prints yaml like patronictl (keys sorted, a list of mappings)', () => {
    expect(renderMembers(syncOff(), { fmt: 'yaml' }).split('\n').slice(0, 8)).toEqual([
      '- Cluster: bench',
      '  Host: 127.0.0.1:25432',
      "  Lag in MB: 0",
      '  Member: node1',
      '  Role: Replica',
      '  State: running',
      '  TL: 2',
      '- Cluster: bench',
    ]);
  });
});

describe('list, the shapes patronictl prints for other states', () => {
  it('shows a member without a WAL position as lag "unknown" and no TL (patronictl_switchover.txt, after the switchover)', () => {
    const snap = new SnapshotBuilder()
      .member('node1', { state: 'stopping', xlog_location: undefined, timeline: undefined }, 25432)
      .member('node2', { xlog_location: 5000, timeline: 1 }, 25433)
      .member('node3', { xlog_location: 5000, timeline: 1 }, 25434)
      .leader('node2')
      .status(5000)
      .build();
    delete snap.members[0]!.value.xlog_location;
    delete snap.members[0]!.value.timeline;
    const expected = fixture('sync_off/patronictl_switchover.txt').split('\n').slice(9, 16).join('\n');
    expect(renderMembers(clusterView(snap, 'bench'))).toBe(expected);
  });

  it('adds the maintenance-mode and scheduled-switchover footer lines, aligned as patronictl aligns them', () => {
    const snap = new SnapshotBuilder().member('node1').member('node2').leader('node1').config({ pause: true }).build();
    snap.failover = { value: { leader: 'node1', member: 'node2', scheduled_at: '2026-11-26T13:00:00+00:00' }, modRevision: 9 };
    const lines = renderMembers(clusterView(snap, 'demo')).split('\n');
    expect(lines.slice(-4)).toEqual([
      ' Maintenance mode: on',
      ' Switchover scheduled at: 2026-11-26T13:00:00+00:00',
      '                    from: node1',
      '                      to: node2',
    ]);
  });

  it('leaves the footer out of machine formats', () => {
    const snap = new SnapshotBuilder().member('node1').leader('node1').config({ pause: 'true' }).build();
    expect(serviceInfo(clusterView(snap, 'demo'))).toEqual(['Maintenance mode: on']);
    expect(renderMembers(clusterView(snap, 'demo'), { fmt: 'json' })).not.toContain('Maintenance');
  });

  it('renders tags as YAML in the table, closing every row with a rule (matches patronictl/PrettyTable output)', () => {
    const snap = new SnapshotBuilder()
      .member('n3', { state: 'stopped', timeline: undefined }, 5434)
      .member('node1', { tags: { nofailover: true, clonefrom: true, nosync: false }, pending_restart: true, timeline: 3 }, 5432)
      .member('node2', { scheduled_restart: { schedule: '2026-01-01T00:00:00+00:00', postgres_version: '15.3' }, timeline: 3 }, 5433)
      .leader('node1')
      .status(1000)
      .build();
    delete snap.members.find((m) => m.name === 'n3')!.value.xlog_location;
    delete snap.members.find((m) => m.name === 'n3')!.value.timeline;
    // what patronictl's print_output printed for these rows (Python, prettytable 3.6)
    expect(renderMembers(clusterView(snap, 'b'))).toBe(
      [
        '+ Cluster: b -------------+---------+---------+----+-----------+-----------------+---------------------------------------------+------------------+',
        '| Member | Host           | Role    | State   | TL | Lag in MB | Pending restart | Scheduled restart                           | Tags             |',
        '+--------+----------------+---------+---------+----+-----------+-----------------+---------------------------------------------+------------------+',
        '| n3     | 127.0.0.1:5434 | Replica | stopped |    |   unknown |                 |                                             |                  |',
        '+--------+----------------+---------+---------+----+-----------+-----------------+---------------------------------------------+------------------+',
        '| node1  | 127.0.0.1:5432 | Leader  | running |  3 |           | *               |                                             | clonefrom: true  |',
        '|        |                |         |         |    |           |                 |                                             | nofailover: true |',
        '+--------+----------------+---------+---------+----+-----------+-----------------+---------------------------------------------+------------------+',
        '| node2  | 127.0.0.1:5433 | Replica | running |  3 |         0 |                 | 2026-01-01T00:00:00+00:00 if version < 15.3 |                  |',
        '+--------+----------------+---------+---------+----+-----------+-----------------+---------------------------------------------+------------------+',
      ].join('\n'),
    );
  });

  it('drops false standard tags as Patroni does before publishing (nofailover: false is no tag)', () => {
    expect(visibleTags({ nofailover: false, noloadbalance: false, clonefrom: false, nosync: false })).toBeUndefined();
    expect(visibleTags({ nofailover: true, replicatefrom: 'node2', nosync: false })).toEqual({ nofailover: true, replicatefrom: 'node2' });
  });

  it('shows the host without a port when everyone is on 5432 of a different host', () => {
    const snap = new SnapshotBuilder().member('a').member('b').leader('a').build();
    snap.members[0]!.value.conn_url = 'postgres://10.0.0.1:5432/postgres';
    snap.members[1]!.value.conn_url = 'postgres://10.0.0.2:5432/postgres';
    const { rows } = memberRows(clusterView(snap, 'x'));
    expect(rows.map((r) => r[2])).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('calls sync standbys Quorum Standby in quorum mode and the leader Standby Leader in a standby cluster', () => {
    const snap = new SnapshotBuilder().member('a').member('b').leader('a').config({ synchronous_mode: 'quorum', standby_cluster: { host: 'x' } }).build();
    snap.sync = { value: { leader: 'a', sync_standby: 'b', quorum: 1 }, modRevision: 3 };
    expect(memberRows(clusterView(snap, 'x')).rows.map((r) => r[3])).toEqual(['Standby Leader', 'Quorum Standby']);
  });

  it('computes the lag in MB with Python rounding (halves to even) against the larger of /status and the leader position', () => {
    const mb = 1024 * 1024;
    const snap = new SnapshotBuilder().member('a', { xlog_location: 10 * mb }).member('b', { xlog_location: 7.5 * mb }).member('c', { xlog_location: 11 * mb }).leader('a').status(5 * mb).build();
    const { rows } = memberRows(clusterView(snap, 'x'));
    expect(rows.map((r) => r[6])).toEqual(['', 2, 0]);
    expect([0.5, 1.5, 2.5, 2.4, 2.6].map(pyRound)).toEqual([0, 2, 2, 2, 3]);
  });
});

describe('topology order', () => {
  it('puts a replica under the replica named by its replicatefrom tag, indented one more level', () => {
    const snap = new SnapshotBuilder()
      .member('a')
      .member('b')
      .member('c', { tags: { replicatefrom: 'b' } })
      .member('d', { tags: { replicatefrom: 'c' } })
      .member('e', { tags: { replicatefrom: 'nosuch' } })
      .leader('a')
      .build();
    const order = topologyOrder(clusterView(snap, 'x').members).map(({ member, level }) => `${level}:${member.name}`);
    expect(order).toEqual(['0:a', '1:b', '2:c', '3:d', '1:e']);
    const names = memberRows(clusterView(snap, 'x'), { fmt: 'topology' }).rows.map((r) => r[1]);
    expect(names).toEqual(['a', '+ b', '  + c', '    + d', '+ e']);
  });

  it('lists replicas at the first level when there is no leader', () => {
    const snap = new SnapshotBuilder().member('a').member('b').build();
    expect(memberRows(clusterView(snap, 'x'), { fmt: 'topology' }).rows.map((r) => r[1])).toEqual(['+ a', '+ b']);
  });
});

describe('roleTitle', () => {
  it("title-cases Patroni's role names", () => {
    expect(['leader', 'sync_standby', 'standby_leader', 'replica', 'quorum_standby'].map(roleTitle)).toEqual(['Leader', 'Sync Standby', 'Standby Leader', 'Replica', 'Quorum Standby']);
  });
});
