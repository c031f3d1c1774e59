// Switchover benchmark (not a test). On one 3-member cluster, under a write workload:
//  - planned switchovers (POST /switchover to the leader, alternating candidates): write
//    unavailability as seen by the client (longest gap between acknowledged writes), acknowledged
//    writes lost, and the API's answer time;
//  - a restart of a replica (POST /restart): the longest write gap on the primary meanwhile and how
//    long the replica was out of /replica.
// One JSON line per run.   npm run bench:switchover -- --runs 5 --ttl 30 --loop-wait 10 --retry-timeout 10
import { parseArgs } from 'node:util';
import { TestCluster, WriteWorkload, waitFor, type Member } from '@keel/testkit';

const { values } = parseArgs({
  options: {
    ttl: { type: 'string', default: '30' },
    'loop-wait': { type: 'string', default: '10' },
    'retry-timeout': { type: 'string', default: '10' },
    runs: { type: 'string', default: '5' },
  },
});
const ttl = Number(values.ttl);
const loopWait = Number(values['loop-wait']);
const retryTimeout = Number(values['retry-timeout']);
const runs = Number(values.runs);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
}

const c = await TestCluster.start({ members: 3, ttl, loopWait, retryTimeout, scope: 'bench-sw' });
const auth = { authorization: `Basic ${Buffer.from(`${c.credentials.restapi.username}:${c.credentials.restapi.password}`).toString('base64')}`, 'content-type': 'application/json' };
c.stopOnSignals();
try {
  let leader = await c.waitForPrimary(120_000);
  await c.waitForReplicas(c.members.filter((m) => m !== leader).map((m) => m.name), 180_000);
  await leader.sql('CREATE TABLE bench (id bigint primary key)');
  const w = new WriteWorkload(c, 'bench');
  w.start();
  await waitFor(() => w.acked.length > 200, { timeoutMs: 30_000, message: 'workload running' });
  const gaps: number[] = [];
  for (let run = 1; run <= runs; run++) {
    await c.waitForReplicas(c.members.filter((m) => m !== leader).map((m) => m.name), 120_000);
    await new Promise((r) => setTimeout(r, 1000));
    const candidate: Member = c.members.filter((m) => m !== leader)[run % 2]!;
    const t0 = Date.now();
    const res = await fetch(`${leader.apiUrl}/switchover`, { method: 'POST', headers: auth, body: JSON.stringify({ leader: leader.name, candidate: candidate.name }) });
    const answer = await res.text();
    const t1 = Date.now();
    await waitFor(() => w.acked.some((a) => a.at > t1 + 500), { timeoutMs: 60_000, message: 'writes after the switchover' });
    const gapMs = w.maxGap(t0, t1 + 500);
    gaps.push(gapMs);
    const lost = w.lost((await candidate.sql<{ id: string }>('SELECT id FROM bench')).map((r) => Number(r.id)), t1).length;
    console.log(JSON.stringify({ bench: 'switchover', run, ttl, loop_wait: loopWait, retry_timeout: retryTimeout, status: res.status, answer, api_s: (t1 - t0) / 1000, write_unavailable_s: gapMs / 1000, acked_lost: lost, from: leader.name, to: candidate.name }));
    leader = candidate;
  }
  console.log(JSON.stringify({ bench: 'switchover_summary', runs, median_write_unavailable_s: median(gaps) / 1000, max_write_unavailable_s: Math.max(...gaps) / 1000 }));

  for (let run = 1; run <= runs; run++) {
    const replica = c.members.find((m) => m !== leader)!;
    await c.waitForReplicas([replica.name], 60_000);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    let outSince: number | null = null;
    let outMs = 0;
    const watcher = (async () => {
      while (Date.now() - t0 < 30_000) {
        const ok = (await replica.api('/replica').catch(() => ({ status: 0 }))).status === 200;
        if (!ok && outSince === null) outSince = Date.now();
        if (ok && outSince !== null) {
          outMs += Date.now() - outSince;
          outSince = null;
          if (Date.now() - t0 > 500) break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const res = await fetch(`${replica.apiUrl}/restart`, { method: 'POST', headers: auth, body: '{}' });
    const t1 = Date.now();
    await watcher;
    console.log(JSON.stringify({ bench: 'replica_restart', run, status: res.status, api_s: (t1 - t0) / 1000, replica_out_s: outMs / 1000, primary_max_write_gap_s: w.maxGap(t0, t1) / 1000, replica: replica.name }));
  }
  await w.stop();
} finally {
  await c.stop();
}
