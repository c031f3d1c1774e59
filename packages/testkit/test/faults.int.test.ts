/**
 * The CI subset of the fault suite (`npm run faults` runs all scenarios in both modes): the same
 * runner and checkers on one real 3-member asynchronous cluster, for a postmaster crash, a kill -9
 * of the primary's agent (keel-fence's fast path) and a replica cut off from etcd.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultCluster, scenarioByName, type FaultRunResult } from '../src/index.ts';

describe('fault suite (CI subset)', () => {
  let fc: FaultCluster;
  beforeAll(async () => {
    fc = await FaultCluster.start({ mode: 'async', ttl: 10, loopWait: 2, retryTimeout: 3 });
  });
  afterAll(async () => {
    await fc?.stop();
  });

  const expectPassed = (r: FaultRunResult) => {
    expect(r.error, JSON.stringify(r)).toBeUndefined();
    expect(r.checks.split_brain, JSON.stringify(r)).toMatchObject({ ok: true });
    expect(r.checks.convergence, JSON.stringify(r)).toMatchObject({ ok: true });
    expect(r.checks.lost_writes.ok).toBe(true);
    expect(r.acked_writes).toBeGreaterThan(50);
    expect(r.ok).toBe(true);
  };

  it('postmaster crash of the primary', async () => {
    const r = await fc.run(scenarioByName('postmaster-crash'), 11);
    expectPassed(r);
  });

  it('kill -9 of the primary agent: another member leads, the old PostgreSQL acknowledges nothing after', async () => {
    const r = await fc.run(scenarioByName('kill9-agent'), 12);
    expectPassed(r);
    expect(r.final_primary).not.toBe(r.old_primary);
    expect(r.failover_s).not.toBeNull();
    expect(r.checks.fenced_before_handover, JSON.stringify(r)).toMatchObject({ ok: true });
    expect(r.checks.fast_handover, JSON.stringify(r)).toMatchObject({ ok: true });
  });

  it('a replica partitioned from etcd', async () => {
    const r = await fc.run(scenarioByName('replica-etcd-partition'), 13);
    expectPassed(r);
  });
});
