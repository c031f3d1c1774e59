// The fault suite (not a unit test): scenarios on a real 3-member cluster under a write workload
// pinned to every member, with the split-brain, lost-write and convergence checkers after each.
// One JSON line per scenario run on stdout, progress on stderr, a summary line last; exit 1 if any
// run failed a checker.
//
//   npm run faults -- [--scenario kill9-agent,...] [--mode sync|async|quorum|both|all] [--runs 1] [--seed 1]
//   (both: async and sync; all: async, sync and quorum)
//                     [--ttl 10] [--loop-wait 2] [--retry-timeout 3]
//
// Reproducible from a seed: run k of a scenario uses seed + k, which draws the fault's timing
// jitter and its targets (the replica, the switchover candidates); the cluster's own timing is not.
import { parseArgs } from 'node:util';
import { FaultCluster, SCENARIOS, scenarioByName, type FaultMode, type FaultRunResult } from '@keel/testkit';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: SCENARIOS.map((s) => s.name).join(',') },
    mode: { type: 'string', default: 'both' },
    runs: { type: 'string', default: '1' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    ttl: { type: 'string', default: '10' },
    'loop-wait': { type: 'string', default: '2' },
    'retry-timeout': { type: 'string', default: '3' },
  },
});

function num(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
}
if (!['sync', 'async', 'quorum', 'both', 'all'].includes(values.mode)) {
  console.error(`--mode must be sync, async, quorum, both or all, got ${JSON.stringify(values.mode)}`);
  process.exit(2);
}
let scenarios;
try {
  scenarios = values.scenario.split(',').filter(Boolean).map(scenarioByName);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const runs = num('runs', values.runs, 1);
const seed = num('seed', values.seed, 0);
const ttl = num('ttl', values.ttl, 5);
const loopWait = num('loop-wait', values['loop-wait'], 1);
const retryTimeout = num('retry-timeout', values['retry-timeout'], 1);
const modes: FaultMode[] = values.mode === 'both' ? ['async', 'sync'] : values.mode === 'all' ? ['async', 'sync', 'quorum'] : [values.mode as FaultMode];

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
const results: FaultRunResult[] = [];
let current: FaultCluster | null = null;
const onSignal = () => void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

for (const mode of modes) {
  for (const scenario of scenarios) {
    for (let k = 0; k < runs; k++) {
      if (!current || current.broken) {
        await current?.stop();
        log(`starting a 3-member ${mode} cluster (ttl ${ttl}, loop_wait ${loopWait})`);
        current = await FaultCluster.start({ mode, ttl, loopWait, retryTimeout, log });
      }
      log(`${scenario.name}/${mode} seed ${seed + k}`);
      const r = await current.run(scenario, seed + k);
      results.push(r);
      console.log(JSON.stringify(r));
    }
  }
  await current?.stop();
  current = null;
}

const failed = results.filter((r) => !r.ok);
console.log(JSON.stringify({
  summary: 'faults',
  runs: results.length,
  faults_injected: results.reduce((n, r) => n + r.faults, 0),
  split_brain_violations: results.filter((r) => !r.checks.split_brain.ok).length,
  sync_acked_writes_lost: results.filter((r) => r.mode === 'sync').reduce((n, r) => n + r.checks.lost_writes.lost, 0),
  quorum_acked_writes_lost: results.filter((r) => r.mode === 'quorum').reduce((n, r) => n + r.checks.lost_writes.lost, 0),
  async_acked_writes_lost: results.filter((r) => r.mode === 'async').reduce((n, r) => n + r.checks.lost_writes.lost, 0),
  not_converged: results.filter((r) => !r.checks.convergence.ok).length,
  failed: failed.map((r) => `${r.scenario}/${r.mode}/${r.seed}`),
}));
process.exit(failed.length ? 1 : 0);
