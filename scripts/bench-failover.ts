// Failover benchmark (not a test): a write workload against the primary, kill -9 of the primary's
// node (agent + postmaster), then one JSON line per run with the settings, seconds until a new
// leader holds the lock, seconds until another member answers /primary, seconds of write
// unavailability, acknowledged writes lost, member promoted.
//
//   npm run bench:failover -- --ttl 30 --loop-wait 10 --retry-timeout 10 --runs 3 [--sync] [--agent-only]
//
// --agent-only kills only the primary's agent and leaves PostgreSQL running: keel-fence then stops
// PostgreSQL and revokes the agent's lease at once (ARCHITECTURE.md, "Fast failover on agent
// death"); `old_postmaster_alive_at_handover` must be false.
//
// `path` says how the new leader got the lock, from its log: `early_takeover` (synchronous mode: a
// sync standby took the key over before the lease expired, ARCHITECTURE.md "Early takeover in
// synchronous mode") or `race` (the key was gone: lease expiry, or keel-fence's revoke). In synchronous
// mode the kill waits until /sync names a standby: before that, only the dead leader may race (Patroni's
// rule), so no member would ever take over.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { TestCluster, WriteWorkload, isAlive, waitFor, type Member } from '@keel/testkit';

const { values } = parseArgs({
  options: {
    ttl: { type: 'string', default: '10' },
    'loop-wait': { type: 'string', default: '2' },
    'retry-timeout': { type: 'string', default: '4' },
    runs: { type: 'string', default: '1' },
    sync: { type: 'boolean', default: false },
    'agent-only': { type: 'boolean', default: false },
  },
});
const ttl = Number(values.ttl);
const loopWait = Number(values['loop-wait']);
const retryTimeout = Number(values['retry-timeout']);

async function leaderOf(c: TestCluster, exclude: Member): Promise<string | null> {
  for (const m of c.members) {
    if (m === exclude) continue;
    try {
      const r = await m.api<{ members: Array<{ name: string; role: string }> }>('/cluster');
      return r.body.members.find((x) => x.role === 'leader')?.name ?? null;
    } catch {
      /* next */
    }
  }
  return null;
}

for (let run = 1; run <= Number(values.runs); run++) {
  const c = await TestCluster.start({
    members: 3,
    ttl,
    loopWait,
    retryTimeout,
    scope: 'bench',
    tweak: (cfg) => {
      if (values.sync) (cfg.bootstrap as { dcs: Record<string, unknown> }).dcs.synchronous_mode = true;
    },
  });
  const unhook = c.stopOnSignals();
  try {
    const primary = await c.waitForPrimary(120_000);
    await c.waitForReplicas(c.members.filter((m) => m !== primary).map((m) => m.name), 180_000);
    if (values.sync) {
      await waitFor(async () => {
        const r = await primary.api<{ members: Array<{ name: string; role: string }> }>('/cluster').catch(() => null);
        return r?.body.members.some((m) => m.role === 'sync_standby') ?? false;
      }, { timeoutMs: 120_000, intervalMs: 200, message: '/sync naming a synchronous standby' });
    }
    await primary.sql('CREATE TABLE bench (id bigint primary key, at timestamptz default clock_timestamp())');
    const w = new WriteWorkload(c, 'bench', 5);
    w.start();
    await waitFor(() => w.acked.length > 200, { timeoutMs: 30_000, message: 'workload running' });
    // Let the leader renew at an arbitrary point of its loop relative to the kill.
    await new Promise((r) => setTimeout(r, Math.random() * loopWait * 1000));
    const postmaster = primary.postmasterPid();
    const agentOnly = values['agent-only'];
    await (agentOnly ? primary.kill9Agent() : primary.kill9Node());
    // Node: from here the old primary can acknowledge nothing more. Agent only: PostgreSQL runs on
    // until keel-fence stops it (so the write figures then include the fenced primary's last acks).
    const killAt = Date.now();
    const answeredAt = await waitFor(async () => {
      for (const m of c.members) {
        if (m !== primary && (await m.api('/primary').catch(() => null))?.status === 200) return Date.now();
      }
      return null;
    }, { timeoutMs: (ttl + loopWait) * 3000, intervalMs: 50, message: 'another member answering /primary' });
    const oldAlive = postmaster !== null && isAlive(postmaster);
    const lockAt = await waitFor(async () => {
      const l = await leaderOf(c, primary);
      return l && l !== primary.name ? { at: Date.now(), name: l } : null;
    }, { timeoutMs: (ttl + loopWait) * 3000, intervalMs: 50, message: 'a new leader' });
    const firstAckAfter = await waitFor(() => w.acked.find((a) => a.at > killAt)?.at, {
      timeoutMs: (ttl + loopWait) * 3000, intervalMs: 20, message: 'writes succeed again',
    });
    const lastAckBefore = [...w.acked].reverse().find((a) => a.at <= killAt)?.at ?? killAt;
    await waitFor(() => w.acked.filter((a) => a.at > firstAckAfter).length > 50, { timeoutMs: 30_000, message: 'more writes' });
    await w.stop();
    const newPrimary = c.member(lockAt.name);
    const lost = w.lost((await newPrimary.sql<{ id: string }>('SELECT id FROM bench')).map((r) => Number(r.id))).length;
    const path = fs.readFileSync(newPrimary.logPath, 'utf8').includes('took the leader key over before its lease expired') ? 'early_takeover' : 'race';
    console.log(JSON.stringify({
      bench: 'failover', run, kill: agentOnly ? 'agent' : 'node', synchronous_mode: values.sync, ttl, loop_wait: loopWait, retry_timeout: retryTimeout,
      path,
      lock_acquired_s: +((lockAt.at - killAt) / 1000).toFixed(3),
      primary_answered_s: +((answeredAt - killAt) / 1000).toFixed(3),
      ...(agentOnly ? { old_postmaster_alive_at_handover: oldAlive } : {}),
      write_unavailable_s: +((firstAckAfter - killAt) / 1000).toFixed(3),
      write_gap_s: +((firstAckAfter - lastAckBefore) / 1000).toFixed(3),
      acked_writes: w.acked.length, acked_lost: lost, killed: primary.name, promoted: lockAt.name,
    }));
  } finally {
    unhook();
    await c.stop();
  }
}
