import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '@keel/dcs';
import { main } from '../src/main.ts';
import { FakeCtl, SnapshotBuilder, type RecordedRequest } from './helpers.ts';
import type { RestResponse } from '../src/context.ts';

// keelctl demote-cluster / promote-cluster (Patroni 4's patronictl commands): a PATCH of standby_cluster.

const primary = () => new SnapshotBuilder().member('node1').member('node2').leader('node1');
const standbyCluster = () => ({
  build: (): ClusterSnapshot => {
    const snap = primary().config({ standby_cluster: { host: 'site-a', port: 5432 } }).build();
    snap.members.find((m) => m.name === 'node1')!.value.role = 'standby_leader';
    return snap;
  },
});

async function keelctl(args: string[], snaps: ClusterSnapshot[], respond: (r: RecordedRequest) => RestResponse | Error = () => ({ status: 200, text: '{}' })) {
  const ctl = new FakeCtl(snaps, respond);
  const code = await main(args, { io: ctl.io, env: {}, makeCtl: () => ctl });
  return { code, ctl };
}

describe('demote-cluster', () => {
  it('PATCHes standby_cluster through the leader and waits until the leader is a standby leader', async () => {
    const { code, ctl } = await keelctl(
      ['demote-cluster', '--force', '--host', 'site-a', '--port', '6432', '--primary-slot-name', 'site_b'],
      [primary().build(), primary().build(), standbyCluster().build()],
    );
    expect(code).toBe(0);
    expect(ctl.requests).toEqual([
      { member: 'node1', method: 'PATCH', endpoint: 'config', body: { standby_cluster: { host: 'site-a', port: 6432, primary_slot_name: 'site_b' } } },
    ]);
    expect(ctl.outLines.at(-1)).toMatch(/^Success: the .* cluster is a standby cluster following site-a:6432$/);
  });

  it('needs a host or a restore_command, and a valid port, sending nothing', async () => {
    const none = await keelctl(['demote-cluster', '--force'], [primary().build()]);
    expect(none.code).toBe(2);
    expect(none.ctl.errLines).toEqual(['Error: At least --host or --restore-command should be specified']);
    const port = await keelctl(['demote-cluster', '--force', '--host', 'a', '--port', '99999'], [primary().build()]);
    expect(port.code).toBe(2);
    expect([...none.ctl.requests, ...port.ctl.requests]).toEqual([]);
  });

  it('refuses a cluster that is already a standby cluster, and asks for confirmation without --force', async () => {
    const again = await keelctl(['demote-cluster', '--force', '--host', 'a'], [standbyCluster().build()]);
    expect(again.code).toBe(1);
    expect(again.ctl.errLines).toEqual(['Error: Cluster is already in the standby mode']);
    const noTty = await keelctl(['demote-cluster', '--host', 'a'], [primary().build()]);
    expect(noTty.code).toBe(2);
    expect([...again.ctl.requests, ...noTty.ctl.requests]).toEqual([]);
  });

  it('prints the agent refusal (a bad value never reaches the DCS) and exits 1', async () => {
    const { code, ctl } = await keelctl(['demote-cluster', '--force', '--host', 'a b'], [primary().build()], () => ({
      status: 400,
      text: 'standby_cluster.host: expected one host name or IP address, got "a b"',
    }));
    expect(code).toBe(1);
    expect(ctl.outLines.at(-1)).toBe('Failed: demote cluster status code=400, (standby_cluster.host: expected one host name or IP address, got "a b")');
  });
});

describe('promote-cluster', () => {
  it('PATCHes standby_cluster: null and waits until the leader is the primary', async () => {
    const { code, ctl } = await keelctl(['promote-cluster', '--force'], [standbyCluster().build(), primary().build()]);
    expect(code).toBe(0);
    expect(ctl.requests).toEqual([{ member: 'node1', method: 'PATCH', endpoint: 'config', body: { standby_cluster: null } }]);
  });

  it('refuses a cluster that is not a standby cluster', async () => {
    const { code, ctl } = await keelctl(['promote-cluster', '--force'], [primary().build()]);
    expect(code).toBe(1);
    expect(ctl.errLines).toEqual(['Error: Cluster is not in the standby mode']);
    expect(ctl.requests).toEqual([]);
  });
});
