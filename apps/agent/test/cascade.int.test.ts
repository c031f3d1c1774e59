import { TestCluster, waitFor } from '@keel/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// node1 is the only member allowed to lead; node3 is tagged replicatefrom node2.
describe('cascading replication (replicatefrom)', () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await TestCluster.start({
      members: 3,
      ttl: 10,
      loopWait: 2,
      retryTimeout: 3,
      tags: [undefined, { nofailover: true }, { nofailover: true, replicatefrom: 'node2' }],
    });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('streams node3 from node2 through a slot on node2, and the leader keeps no slot for node3', async () => {
    const leader = await c.waitForPrimary(90_000);
    expect(leader.name).toBe('node1');
    await c.waitForReplicas(['node2', 'node3'], 120_000);
    const node2 = c.member('node2');
    const node3 = c.member('node3');
    await waitFor(
      async () => (await node3.sql<{ sender_port: number; status: string }>('SELECT sender_port, status FROM pg_stat_wal_receiver'))[0]?.sender_port === node2.pgPort,
      { timeoutMs: 30_000, message: 'node3 streams from node2' },
    );
    await waitFor(
      async () => (await node2.sql<{ application_name: string }>('SELECT application_name FROM pg_stat_replication')).some((r) => r.application_name === 'node3'),
      { timeoutMs: 30_000, message: 'node2 has node3 as a downstream' },
    );
    await waitFor(async () => (await node2.sql<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = 'node3'"))[0]?.active === true, {
      timeoutMs: 30_000,
      message: 'node3 uses its slot on node2',
    });
    await waitFor(async () => (await leader.sql("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'node3'")).length === 0, {
      timeoutMs: 30_000,
      message: 'the leader has no slot for node3',
    });
    await leader.sql('CREATE TABLE cas (v text)');
    await leader.sql("INSERT INTO cas VALUES ('through node2')");
    await waitFor(async () => (await node3.sql('SELECT v FROM cas').catch(() => []))[0]?.v === 'through node2', {
      timeoutMs: 30_000,
      message: 'a row written on the leader reaches node3 through node2',
    });
  });
});
