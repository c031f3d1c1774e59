// Idle footprint benchmark (not a test): a real 3-member cluster (ttl 30, loop_wait 10 by
// default) whose agents run from the built artifacts (`npm run build`, run first when needed),
// left idle. For each member: the RSS of the agent's process tree (the agent and every helper
// process it starts, e.g. the fence; PostgreSQL and the short-lived PostgreSQL tools excluded) from
// /proc/<pid>/status, and the CPU time of that tree over the measuring window after the settling
// time, from /proc/<pid>/stat. One JSON line: per member and the maximum of each figure, with the
// load average (1, 5, 15 min) at the end of the window: CPU figures are only comparable at like load.
//
//   npm run bench:footprint [-- --settle 30 --seconds 60 --ttl 30 --loop-wait 10]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { TestCluster } from '@keel/testkit';

const { values } = parseArgs({
  options: {
    settle: { type: 'string', default: '30' },
    seconds: { type: 'string', default: '60' },
    ttl: { type: 'string', default: '30' },
    'loop-wait': { type: 'string', default: '10' },
    'retry-timeout': { type: 'string', default: '10' },
    // synchronous_mode: the leader's 1 s heartbeat and the sync standby's 1 s look at it run.
    sync: { type: 'boolean', default: false },
  },
});
const settleS = Number(values.settle);
const windowS = Number(values.seconds);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cpuTicks: number;
}

function readProc(pid: number): Proc | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' '); // f[0] = state (field 3)
    return { pid, ppid: Number(f[1]), comm, cpuTicks: Number(f[11]) + Number(f[12]) }; // utime + stime
  } catch {
    return null;
  }
}

function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** PostgreSQL's processes and tools are not the agent's footprint. */
const isPostgres = (p: Proc) => p.comm === 'postgres' || p.comm === 'postmaster' || p.comm.startsWith('pg_') || p.comm === 'initdb' || p.comm === 'psql';

/** The agent and its descendants, PostgreSQL subtrees excluded. */
function agentTree(agentPid: number): Proc[] {
  const all = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is Proc => p !== null);
  const root = all.find((p) => p.pid === agentPid);
  if (!root) return [];
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    for (const p of all) if (p.ppid === out[i]!.pid && !isPostgres(p)) out.push(p);
  }
  return out;
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;

const started = Date.now();
execFileSync(process.execPath, ['scripts/build.mjs', 'agent', '--if-needed'], { stdio: ['ignore', 'ignore', 'inherit'] });
const c = await TestCluster.start({ members: 3, ttl: Number(values.ttl), loopWait: Number(values['loop-wait']), retryTimeout: Number(values['retry-timeout']), scope: 'footprint', agentRuntime: 'built', tweak: (cfg) => {
  if (values.sync) (cfg.bootstrap as { dcs: Record<string, unknown> }).dcs.synchronous_mode = true;
} });
const unhook = c.stopOnSignals();
try {
  const primary = await c.waitForPrimary(120_000);
  await c.waitForReplicas(c.members.filter((m) => m !== primary).map((m) => m.name), 180_000);
  await new Promise((r) => setTimeout(r, settleS * 1000));

  const pids = c.members.map((m) => m.agentPid!);
  const before = pids.map((pid) => new Map(agentTree(pid).map((p) => [p.pid, p.cpuTicks])));
  const peak = pids.map(() => 0);
  const sample = () =>
    pids.forEach((pid, i) => {
      peak[i] = Math.max(peak[i]!, agentTree(pid).reduce((s, p) => s + rssKiB(p.pid), 0));
    });
  sample();
  const t0 = Date.now();
  while (Date.now() - t0 < windowS * 1000) {
    await new Promise((r) => setTimeout(r, Math.min(5000, windowS * 1000 - (Date.now() - t0))));
    sample();
  }
  const minutes = (Date.now() - t0) / 60_000;
  // CPU figures follow the machine's load (a shared machine inflates them): reported with them.
  const loadAvg = os.loadavg().map((l) => Math.round(l * 100) / 100);

  const members = c.members.map((m, i) => {
    const tree = agentTree(pids[i]!);
    const procs = tree.map((p) => ({
      pid: p.pid,
      comm: p.comm,
      rssMiB: mib(rssKiB(p.pid)),
      // a helper started during the window counts from zero
      cpuSPerMin: Math.round(((p.cpuTicks - (before[i]!.get(p.pid) ?? 0)) / CLK_TCK / minutes) * 1000) / 1000,
    }));
    return {
      name: m.name,
      role: m === primary ? 'leader' : 'replica',
      rssMiB: Math.round(procs.reduce((s, p) => s + p.rssMiB, 0) * 10) / 10,
      peakRssMiB: mib(peak[i]!),
      cpuSPerMin: Math.round(procs.reduce((s, p) => s + p.cpuSPerMin, 0) * 1000) / 1000,
      processes: procs,
    };
  });
  console.log(
    JSON.stringify({
      bench: 'footprint',
      synchronous_mode: values.sync,
      ttl: Number(values.ttl),
      loop_wait: Number(values['loop-wait']),
      settleS,
      windowS,
      node: process.version,
      loadAvg,
      maxRssMiB: Math.max(...members.map((m) => m.peakRssMiB)),
      maxCpuSPerMin: Math.max(...members.map((m) => m.cpuSPerMin)),
      members,
      totalS: Math.round((Date.now() - started) / 1000),
    }),
  );
} finally {
  unhook();
  await c.stop();
}
