import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '@keel/dcs';
import { editConfig } from '../src/commands/edit-config.ts';
import { unreachable } from '../src/errors.ts';
import { main } from '../src/main.ts';
import { FakeCtl, fixture, SnapshotBuilder, snapshotFromDump, type RecordedRequest } from './helpers.ts';
import type { RestResponse } from '../src/context.ts';

const cluster = () => new SnapshotBuilder().member('node1').member('node2').member('node3').leader('node1').status(1000);

async function keelctl(args: string[], ctl: FakeCtl): Promise<number> {
  return main(args, { io: ctl.io, env: {}, makeCtl: () => ctl });
}

function fake(snaps: ClusterSnapshot | ClusterSnapshot[], respond?: (r: RecordedRequest) => RestResponse | Error, opts?: ConstructorParameters<typeof FakeCtl>[2]) {
  return new FakeCtl(Array.isArray(snaps) ? snaps : [snaps], respond, opts);
}

describe('exit codes', () => {
  it('is 0 for --help, which documents the exit codes', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['--help'], ctl)).toBe(0);
    expect(ctl.out).toContain('Exit codes:');
    expect(ctl.out).toContain('3  cannot reach etcd');
  });

  it('is 2 for an unknown option or command', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['list', '--bogus'], ctl)).toBe(2);
    expect(await keelctl(['frobnicate'], ctl)).toBe(2);
    expect(ctl.errLines.join('\n')).toContain("unknown option '--bogus'");
  });

  it('is 3, with one line and no stack trace, when etcd cannot be reached', async () => {
    const ctl = fake(cluster().build());
    ctl.readCluster = async () => {
      throw unreachable('cannot reach etcd at 127.0.0.1:2379 (deadline 5 s exceeded)');
    };
    expect(await keelctl(['list'], ctl)).toBe(3);
    expect(ctl.errLines).toEqual(['Error: cannot reach etcd at 127.0.0.1:2379 (deadline 5 s exceeded)']);
  });
});

describe('switchover', () => {
  it('refuses without a terminal and without --force (exit 2), sending nothing', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['switchover', '--candidate', 'node2'], ctl)).toBe(2);
    expect(ctl.errLines).toEqual(['Error: refusing to switch over without confirmation: pass --force']);
    expect(ctl.requests).toEqual([]);
  });

  it('with --force, POSTs /switchover to the leader and prints its answer and the new topology', async () => {
    const after = new SnapshotBuilder().member('node1').member('node2').member('node3').leader('node2').build();
    const ctl = fake([cluster().build(), after], () => ({ status: 200, text: 'Successfully switched over to "node2"' }));
    expect(await keelctl(['switchover', '--force', '--candidate', 'node2'], ctl)).toBe(0);
    expect(ctl.requests).toEqual([{ member: 'node1', method: 'POST', endpoint: 'switchover', body: { leader: 'node1', candidate: 'node2' } }]);
    expect(ctl.outLines[0]).toBe('Current cluster topology');
    expect(ctl.out).toMatch(/\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{5} Successfully switched over to "node2"\n/);
    expect(ctl.outLines.at(-1)).toContain('| node2  | 127.0.0.1:5433 | Leader  |');
  });

  it("prints patronictl's line for a 412 and exits 1 (patronictl exits 0)", async () => {
    const ctl = fake(cluster().build(), () => ({ status: 412, text: 'candidate name does not match with sync_standby' }));
    expect(await keelctl(['switchover', '--force', '--leader', 'node1', '--candidate', 'node3'], ctl)).toBe(1);
    expect(ctl.outLines.at(-1)).toBe('Switchover failed, details: 412, candidate name does not match with sync_standby');
    expect(ctl.errLines).toEqual([]);
  });

  it('prints what patronictl printed for the refused switchover in the sync-mode sample, then exits 1', async () => {
    const ctl = fake(snapshotFromDump('dcs_keys_decoded.json'), () => ({ status: 412, text: 'candidate name does not match with sync_standby' }), { scope: 'bench' });
    expect(await keelctl(['switchover', '--force', '--leader', 'node3', '--candidate', 'node1'], ctl)).toBe(1);
    const expected = fixture('patronictl_switchover_refused_sync_mode.txt')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ctl.out).toBe(expected.join('\n'));
    expect(ctl.requests).toEqual([{ member: 'node3', method: 'POST', endpoint: 'switchover', body: { leader: 'node3', candidate: 'node1' } }]);
  });

  it('checks --leader and --candidate against the cluster before sending anything', async () => {
    const ctl = fake(cluster().member('node4', { tags: { nofailover: true } }).build());
    expect(await keelctl(['switchover', '--force', '--primary', 'node2'], ctl)).toBe(1);
    expect(await keelctl(['switchover', '--force', '--candidate', 'node9'], ctl)).toBe(1);
    expect(await keelctl(['switchover', '--force', '--candidate', 'node4'], ctl)).toBe(1);
    expect(await keelctl(['switchover', '--force', '--candidate', 'node1'], ctl)).toBe(1);
    expect(ctl.errLines).toEqual([
      'Error: Member node2 is not the leader of cluster demo',
      'Error: Member node9 does not exist in cluster demo',
      'Error: Member node4 is tagged nofailover: it cannot become the leader',
      'Error: Switchover target and source are the same.',
    ]);
    expect(ctl.requests).toEqual([]);
  });

  it('asks on a terminal for the leader, candidate, time and confirmation, as patronictl does', async () => {
    const ctl = fake(cluster().build(), () => ({ status: 202, text: 'Switchover scheduled' }), { interactive: true, answers: ['', 'node3', '2030-01-01T10:00+00:00', 'y'] });
    expect(await keelctl(['switchover'], ctl)).toBe(0);
    expect(ctl.outLines.filter((l) => l.endsWith(': '))).toEqual([
      'Primary [node1]: ',
      "Candidate ['node2', 'node3'] []: ",
      expect.stringMatching(/^When should the switchover take place \(e\.g\. .*\) {2}\[now\]: $/),
      'Are you sure you want to schedule switchover of cluster demo at 2030-01-01T10:00:00+00:00, demoting current leader node1? [y/N]: ',
    ]);
    expect(ctl.requests[0]!.body).toEqual({ leader: 'node1', candidate: 'node3', scheduled_at: '2030-01-01T10:00:00+00:00' });
  });

  it('will not schedule while the cluster is paused', async () => {
    const ctl = fake(cluster().config({ pause: true }).build());
    expect(await keelctl(['switchover', '--force', '--scheduled', '2030-01-01T10:00Z'], ctl)).toBe(1);
    expect(ctl.errLines).toEqual(["Error: Can't schedule switchover in the paused state"]);
  });

  it('names the leader whose REST API does not answer (exit 3)', async () => {
    const ctl = fake(cluster().build(), () => unreachable('cannot reach the agent of node1 at http://127.0.0.1:8008 (ECONNREFUSED)'));
    expect(await keelctl(['switchover', '--force'], ctl)).toBe(3);
    expect(ctl.errLines).toEqual(['Error: cannot reach the agent of node1 at http://127.0.0.1:8008 (ECONNREFUSED)']);
  });
});

describe('failover', () => {
  it('needs a candidate (exit 2)', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['failover', '--force'], ctl)).toBe(2);
    expect(ctl.errLines).toEqual(['Error: a failover needs a specific candidate: pass --candidate NAME']);
  });

  it('goes to the candidate when the cluster has no leader, with only the candidate in the body', async () => {
    const snap = new SnapshotBuilder().member('node1').member('node2').build();
    const ctl = fake(snap, () => ({ status: 200, text: 'Successfully failed over to "node2"' }));
    expect(await keelctl(['failover', '--force', '--candidate', 'node2'], ctl)).toBe(0);
    expect(ctl.requests).toEqual([{ member: 'node2', method: 'POST', endpoint: 'failover', body: { candidate: 'node2' } }]);
  });
});

describe('restart', () => {
  it('restarts every member with the role, sending Patroni\'s conditions, replicas before the leader', async () => {
    const ctl = fake(cluster().build(), () => ({ status: 200, text: 'restarted successfully' }));
    expect(await keelctl(['restart', '--force', '--pending', '--pg-version', '16.1', '--timeout', '60'], ctl)).toBe(0);
    expect(ctl.requests.map((r) => r.member)).toEqual(['node2', 'node3', 'node1']);
    expect(ctl.requests[0]!.body).toEqual({ restart_pending: true, postgres_version: '16.1', timeout: 60 });
    expect(ctl.outLines.slice(-3)).toEqual(['Success: restart on member node2', 'Success: restart on member node3', 'Success: restart on member node1']);
  });

  it('skips members whose conditions are not met without failing, and fails (exit 1) on other refusals', async () => {
    const ctl = fake(cluster().build(), (r) => (r.member === 'node3' ? { status: 503, text: 'restart conditions are not satisfied' } : r.member === 'node2' ? { status: 409, text: 'x' } : { status: 200, text: '' }));
    expect(await keelctl(['restart', '--force', '--pending'], ctl)).toBe(1);
    expect(ctl.outLines.slice(-3)).toEqual([
      'Failed: another restart is already scheduled on member node2',
      'Skipped: member node3 (restart conditions are not satisfied)',
      'Success: restart on member node1',
    ]);
  });

  it('retries a member refused with 412 (wrong order) once the others have restarted', async () => {
    let first = true;
    const ctl = fake(cluster().build(), (r) => {
      if (r.member === 'node2' && first) {
        first = false;
        return { status: 412, text: 'restart the primary first' };
      }
      return { status: 200, text: '' };
    });
    expect(await keelctl(['restart', '--force', 'node1', 'node2'], ctl)).toBe(0);
    expect(ctl.requests.map((r) => r.member)).toEqual(['node2', 'node1', 'node2']);
    expect(ctl.outLines.slice(-3)).toEqual(['Success: restart on member node1', 'Deferred: member node2 (restart the primary first); trying again', 'Success: restart on member node2']);
  });

  it('accepts patronictl\'s leading cluster name and rejects unknown members', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['restart', 'demo', 'node2', '--force'], ctl)).toBe(0);
    expect(ctl.requests.map((r) => r.member)).toEqual(['node2']);
    expect(await keelctl(['restart', 'node7', '--force'], ctl)).toBe(1);
    expect(ctl.errLines.at(-1)).toBe('Error: node7 is not a member of cluster demo');
  });

  it('refuses bad flag values before touching the cluster (exit 2)', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['restart', '--force', '--pg-version', 'fifteen'], ctl)).toBe(2);
    expect(await keelctl(['restart', '--force', '--role', 'boss'], ctl)).toBe(2);
    expect(ctl.requests).toEqual([]);
  });
});

describe('edit-config', () => {
  it('shows the diff and PATCHes only the change as a JSON merge patch', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['edit-config', '-p', 'max_connections=200', '-s', 'loop_wait=5', '--force'], ctl)).toBe(0);
    expect(ctl.requests).toEqual([{ member: 'node1', method: 'PATCH', endpoint: 'config', body: { loop_wait: 5, postgresql: { parameters: { max_connections: 200 } } } }]);
    expect(ctl.outLines).toEqual([
      ['--- ', '+++ ', '@@ -1,6 +1,6 @@', '-loop_wait: 10', '+loop_wait: 5', ' postgresql:', '   parameters:', '-    max_connections: 100', '+    max_connections: 200', ' retry_timeout: 10', ' ttl: 30'].join('\n'),
      'Configuration changed',
    ]);
  });

  it('says "Not changed" and sends nothing when the result equals the current configuration', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['edit-config', '-s', 'ttl=30', '--force'], ctl)).toBe(0);
    expect(ctl.outLines).toEqual(['Not changed']);
    expect(ctl.requests).toEqual([]);
  });

  it('refuses without a terminal and without --force (exit 2), after showing the diff', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['edit-config', '-s', 'ttl=40'], ctl)).toBe(2);
    expect(ctl.errLines).toEqual(['Error: refusing to change the configuration without confirmation: pass --force']);
    expect(ctl.requests).toEqual([]);
  });

  it('sends nothing when /config changed since it was read, and says so (exit 1)', async () => {
    const ctl = fake([cluster().build(), cluster().config({ ttl: 30 }, 99).build()]);
    expect(await keelctl(['edit-config', '-s', 'ttl=40', '--force'], ctl)).toBe(1);
    expect(ctl.errLines.at(-1)).toMatch(/^Error: the configuration was changed by someone else meanwhile; nothing was applied/);
    expect(ctl.requests).toEqual([]);
  });

  it('reports a 409 from the agent the same way', async () => {
    const ctl = fake(cluster().build(), () => ({ status: 409, text: 'Conflict' }));
    expect(await keelctl(['edit-config', '-s', 'ttl=40', '--force', '-q'], ctl)).toBe(1);
    expect(ctl.errLines.at(-1)).toMatch(/changed by someone else meanwhile/);
  });

  it('rejects a malformed -s as a usage error', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['edit-config', '-s', 'ttl', '--force'], ctl)).toBe(2);
    expect(ctl.errLines).toEqual(['Error: invalid setting "ttl": expected key=value']);
  });
});

describe('pause and resume', () => {
  it('PATCHes {"pause": true} through the leader, and {"pause": null} to resume', async () => {
    const ctl = fake(cluster().build());
    expect(await keelctl(['pause'], ctl)).toBe(0);
    const paused = fake(cluster().config({ pause: true }).build());
    expect(await keelctl(['resume'], paused)).toBe(0);
    expect([...ctl.requests, ...paused.requests]).toEqual([
      { member: 'node1', method: 'PATCH', endpoint: 'config', body: { pause: true } },
      { member: 'node1', method: 'PATCH', endpoint: 'config', body: { pause: null } },
    ]);
    expect(ctl.outLines).toEqual(['Success: cluster management is paused']);
    expect(paused.outLines).toEqual(['Success: cluster management is resumed']);
  });

  it('refuses to pause a paused cluster (exit 1)', async () => {
    const ctl = fake(cluster().config({ pause: true }).build());
    expect(await keelctl(['pause'], ctl)).toBe(1);
    expect(ctl.errLines).toEqual(['Error: Cluster is already paused']);
  });

  it('falls back to another member when the leader does not answer', async () => {
    const ctl = fake(cluster().build(), (r) => (r.member === 'node1' ? unreachable('cannot reach the agent of node1 at http://127.0.0.1:8008 (ECONNREFUSED)') : { status: 200, text: '{}' }));
    expect(await keelctl(['pause'], ctl)).toBe(0);
    expect(ctl.requests.map((r) => r.member)).toEqual(['node1', 'node2']);
  });

  it('waits with --wait until every member shows the pause', async () => {
    const notYet = cluster().config({ pause: true }).build();
    const seen = cluster().config({ pause: true }).build();
    for (const m of seen.members) m.value.pause = true;
    const ctl = fake([cluster().build(), notYet, seen]);
    expect(await main(['pause', '--wait'], { io: ctl.io, env: {}, makeCtl: () => ctl })).toBe(0);
    expect(ctl.outLines).toEqual(["'pause' request sent, waiting until it is recognized by all nodes", 'Success: cluster management is paused']);
  });
});

describe('reinit, reload, flush, version', () => {
  it('reinit only takes replicas, and sends force/from_leader', async () => {
    const ctl = fake(cluster().build(), () => ({ status: 200, text: 'reinitialize started' }));
    expect(await keelctl(['reinit', 'node1', '--force'], ctl)).toBe(1);
    expect(ctl.errLines).toEqual(['Error: No replica among provided members']);
    expect(await keelctl(['reinit', 'node2', '--force', '--from-leader'], ctl)).toBe(0);
    expect(ctl.requests).toEqual([{ member: 'node2', method: 'POST', endpoint: 'reinitialize', body: { force: true, from_leader: true } }]);
  });

  it('reload reports each member', async () => {
    const ctl = fake(cluster().build(), (r) => (r.member === 'node2' ? { status: 200, text: '' } : { status: 202, text: '' }));
    expect(await keelctl(['reload', '--force', 'node1', 'node2'], ctl)).toBe(0);
    expect(ctl.outLines.slice(-2)).toEqual(['Reload request received for member node1 and will be processed within 10 seconds', 'No changes to apply on member node2']);
  });

  it('flush switchover deletes a scheduled switchover through the leader', async () => {
    const snap = cluster().build();
    snap.failover = { value: { leader: 'node1', scheduled_at: '2030-01-01T00:00:00+00:00' }, modRevision: 3 };
    const ctl = fake(snap, () => ({ status: 200, text: 'scheduled switchover deleted' }));
    expect(await keelctl(['flush', 'switchover'], ctl)).toBe(0);
    expect(ctl.requests).toEqual([{ member: 'node1', method: 'DELETE', endpoint: 'switchover' }]);
    expect(ctl.outLines).toEqual(['Success: scheduled switchover deleted']);
  });

  it('version prints the client version and each member\'s agent and PostgreSQL versions', async () => {
    const ctl = fake(cluster().build(), (r) =>
      r.member === 'node3' ? unreachable('cannot reach the agent of node3') : { status: 200, text: JSON.stringify({ state: 'running', role: 'replica', patroni: { version: '0.1.0', scope: 'demo' }, server_version: 150018, keel: {} }) },
    );
    expect(await keelctl(['version'], ctl)).toBe(0);
    expect(ctl.outLines).toEqual(['keelctl version 0.1.0', '', 'node1: Keel 0.1.0 PostgreSQL 15.18', 'node2: Keel 0.1.0 PostgreSQL 15.18', 'node3: failed to get version: cannot reach the agent of node3']);
  });
});

describe('edit-config sources', () => {
  it('merges an --apply file and opens the editor when nothing else is given', async () => {
    const ctl = fake(cluster().build());
    const sources = {
      readFile: (f: string) => (f === 'patch.yml' || f === '-' ? 'postgresql:\n  parameters:\n    work_mem: 8MB\nretry_timeout: null\n' : ''),
      edit: (text: string) => text.replace('ttl: 30', 'ttl: 40'),
    };
    await editConfig(ctl, { apply: 'patch.yml', force: true, quiet: true }, sources);
    await editConfig(ctl, { force: true, quiet: true }, sources);
    expect(ctl.requests.map((r) => r.body)).toEqual([{ retry_timeout: null, postgresql: { parameters: { work_mem: '8MB' } } }, { ttl: 40 }]);
    await expect(editConfig(ctl, { force: true }, { ...sources, edit: () => null })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^nothing to change/) });
    await expect(editConfig(ctl, { apply: '-' }, sources)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/pass --force/) });
  });
});
