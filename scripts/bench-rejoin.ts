// Rejoin benchmark (not a test): a real 3-member cluster (built agents, pg_rewind on) under a
// small write load; kill -9 of the primary's node (agent + postmaster); once another member leads
// and has taken writes, the old node's agent starts again. One JSON line per run: seconds from the
// agent's start until the former primary is a streaming replica of the new leader, and the
// phases from the agent's log (start-up, first decision, the check whether pg_rewind is needed,
// rewind, PostgreSQL start). With --quiesce the write load stops and the replicas have received all
// the primary's WAL before the kill (nothing unreplicated: the old primary has not diverged and
// rejoins without pg_rewind); without it the kill lands under the load (it usually has diverged).
//
//   npm run bench:rejoin [-- --runs 3 --runtime built|tsx --quiesce --keep]
//   --keep leaves each run's directory (agent and PostgreSQL logs) and prints it
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { TestCluster, WriteWorkload, waitFor, type Member } from '@keel/testkit';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    runtime: { type: 'string', default: 'built' },
    quiesce: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const runtime = values.runtime === 'tsx' ? 'tsx' : 'built';
if (runtime === 'built') execFileSync(process.execPath, ['scripts/build.mjs', 'agent', '--if-needed'], { stdio: ['ignore', 'ignore', 'inherit'] });

/** Milliseconds from `since` to the first log line of `m` matching `re`, after `since`. */
function logAt(m: Member, since: number, re: RegExp): number | null {
  for (const l of m.logs()) {
    const t = Date.parse(String(l.time));
    if (t >= since && re.test(String(l.msg))) return t - since;
  }
  return null;
}

const sec = (ms: number | null) => (ms === null ? null : +(ms / 1000).toFixed(3));

for (let run = 1; run <= Number(values.runs); run++) {
  const c = await TestCluster.start({ members: 3, scope: 'rejoin', useRewind: true, agentRuntime: runtime, keepData: values.keep });
  const unhook = c.stopOnSignals();
  try {
    const old = await c.waitForPrimary(120_000);
    await c.waitForReplicas(c.members.filter((m) => m !== old).map((m) => m.name), 180_000);
    await old.sql('CREATE TABLE bench (id bigint primary key, at timestamptz default clock_timestamp())');
    const w = new WriteWorkload(c, 'bench', 5);
    w.start();
    await waitFor(() => w.acked.length > 100, { timeoutMs: 30_000, message: 'workload running' });
    if (values.quiesce) {
      await w.stop();
      const others = c.members.filter((m) => m !== old);
      await waitFor(
        async () => {
          const [row] = await old.sql<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
          const got = await Promise.all(others.map((m) => m.sql<{ ok: boolean }>('SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn AS ok', [row!.lsn])));
          return got.every((r) => r[0]?.ok === true);
        },
        { timeoutMs: 30_000, message: 'replicas have all of the primary\'s WAL' },
      );
    }
    await old.kill9Node();
    const killAt = Date.now();
    const next = await c.waitForPrimary((c.ttl + c.loopWait) * 3000, old.name);
    if (values.quiesce) await next.sql('INSERT INTO bench (id) VALUES (-1)');
    else {
      await waitFor(() => w.acked.some((a) => a.at > killAt + 500), { timeoutMs: 60_000, message: 'writes on the new primary' });
      await w.stop();
    }

    const startAt = Date.now();
    old.start();
    await waitFor(
      async () => (await old.api('/replica?replication_state=streaming').catch(() => null))?.status === 200,
      { timeoutMs: 120_000, intervalMs: 20, message: `${old.name} streaming from ${next.name}` },
    );
    const rejoinedMs = Date.now() - startAt;
    const check = old.logs().find((l) => Date.parse(String(l.time)) >= startAt && /^pg_rewind (not )?needed: /.test(String(l.msg)));
    console.log(
      JSON.stringify({
        bench: 'rejoin',
        run,
        runtime,
        quiesce: values.quiesce,
        load: os.loadavg().map((x) => +x.toFixed(2)),
        ttl: c.ttl,
        loop_wait: c.loopWait,
        rejoin_s: sec(rejoinedMs),
        agent_started_s: sec(logAt(old, startAt, /^keel-agent started/)),
        rewind_started_s: sec(logAt(old, startAt, /^rewind started/)),
        checked_s: sec(logAt(old, startAt, /^pg_rewind (not )?needed: /)),
        pg_rewind_ran: check ? check.rewind === true : null,
        check: check ? { local_end: check.localEnd, switchpoint: check.switchpoint, ms: check.ms } : null,
        rewound_s: sec(logAt(old, startAt, /^(rewound from the leader|no rewind required)/)),
        rewind_finished_s: sec(logAt(old, startAt, /^rewind finished/)),
        ...(values.keep ? { dir: c.dir } : {}),
        former_primary: old.name,
        leader: next.name,
      }),
    );
  } finally {
    unhook();
    await c.stop();
  }
}
