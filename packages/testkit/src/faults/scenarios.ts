import type { Member, TestCluster } from '../cluster.ts';
import type { CheckOutcome } from './checkers.ts';
import fs from 'node:fs';
import { isAlive } from '../processes.ts';
import { waitFor } from '../wait.ts';

/** What a scenario gets: the cluster, the primary at the start, seeded choices, a clock of events. */
export interface FaultContext {
  c: TestCluster;
  primary: Member;
  replicas: Member[];
  mode: 'sync' | 'async';
  /** Seeded: [0, 1). */
  rand: () => number;
  /** Pick one of the items, seeded. */
  pick<T>(items: readonly T[]): T;
  /** Writers' acknowledgements after time t (ms): scenarios wait for load between steps. */
  ackedSince(t: number): number;
  /** The fault is injected now (after any jitter): failover and unavailability count from here. */
  injected(): void;
  /** Record a step (shown in the JSON line). */
  note(step: string): void;
  /** A member other than `exclude` answering /primary, polled by the runner (null if none yet). */
  newPrimary(exclude: string): Promise<Member>;
}

export interface Scenario {
  name: string;
  /** Needs an etcd TCP proxy per member. */
  proxies?: boolean;
  /**
   * Inject the fault and end it; returns when the fault has ended. `faults` counts injected faults;
   * `checks` are the scenario's own invariants, judged with the common ones.
   */
  run(ctx: FaultContext): Promise<{ faults: number; checks?: Record<string, CheckOutcome> }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the agent logs when it took the leader key over before the lease expired (synchronous mode). */
const TAKEOVER_LOG = 'took the leader key over before its lease expired';

/** The REST API's basic auth of a test cluster. */
export function restAuth(c: TestCluster): Record<string, string> {
  const { username, password } = c.credentials.restapi;
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

async function switchover(c: TestCluster, leader: Member, candidate: string | null): Promise<{ status: number; text: string }> {
  const body: Record<string, string> = { leader: leader.name };
  if (candidate) body.candidate = candidate;
  const res = await c.fetch(`${leader.apiUrl}/switchover`, {
    method: 'POST',
    headers: { ...restAuth(c), 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(90_000),
  });
  return { status: res.status, text: await res.text() };
}

/** Candidates a switchover may name: the sync standbys in synchronous mode, every replica otherwise. */
async function candidates(ctx: FaultContext, leader: Member): Promise<string[]> {
  const r = await leader.api<{ members: Array<{ name: string; role: string }> }>('/cluster');
  const want = ctx.mode === 'sync' ? ['sync_standby'] : ['replica', 'sync_standby'];
  return r.body.members.filter((m) => want.includes(m.role)).map((m) => m.name);
}

/** Let the leader sit at a seeded point of its loop relative to the fault. */
async function jitter(ctx: FaultContext): Promise<void> {
  await sleep(Math.floor(ctx.rand() * ctx.c.loopWait * 1000));
}

async function waitLoad(ctx: FaultContext, n = 50): Promise<void> {
  const t = Date.now();
  await waitFor(() => ctx.ackedSince(t) >= n, { timeoutMs: 60_000, message: `${n} writes acknowledged` });
}

function failoverWindow(c: TestCluster): number {
  return (c.ttl + c.loopWait) * 3000 + 60_000;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'kill9-node',
    async run(ctx) {
      await jitter(ctx);
      ctx.injected();
      const killedAt = Date.now();
      await ctx.primary.kill9Node();
      ctx.note(`kill -9 agent and postmaster of ${ctx.primary.name}`);
      const np = await ctx.newPrimary(ctx.primary.name);
      const tookS = (Date.now() - killedAt) / 1000;
      const early = fs.readFileSync(np.logPath, 'utf8').includes(TAKEOVER_LOG);
      ctx.note(`${np.name} leads after ${tookS.toFixed(1)} s (${early ? 'early takeover' : 'lease path'}); restarting ${ctx.primary.name}`);
      ctx.primary.start();
      if (ctx.mode !== 'sync') return { faults: 1 };
      // Synchronous mode: a crashed node takes its fence with it, but its sync standby takes the key
      // over once the heartbeat stopped, sooner than the lease path can ever be (ttl - loop_wait).
      const boundS = ctx.c.ttl - ctx.c.loopWait;
      return {
        faults: 1,
        checks: {
          early_takeover: {
            ok: early && tookS < boundS,
            detail: `${np.name} answered /primary ${tookS.toFixed(2)} s after the kill, ${early ? 'by the early takeover' : 'NOT by the early takeover'} (bound ${boundS} s)`,
          },
        },
      };
    },
  },
  {
    name: 'postmaster-crash',
    async run(ctx) {
      await jitter(ctx);
      ctx.injected();
      await ctx.primary.kill9Postgres();
      ctx.note(`kill -9 postmaster of ${ctx.primary.name}`);
      return { faults: 1 };
    },
  },
  {
    name: 'kill9-agent',
    async run(ctx) {
      await jitter(ctx);
      const postmaster = ctx.primary.postmasterPid();
      ctx.injected();
      const killedAt = Date.now();
      await ctx.primary.kill9Agent();
      ctx.note(`kill -9 agent of ${ctx.primary.name} (PostgreSQL left running)`);
      const np = await ctx.newPrimary(ctx.primary.name);
      const tookS = (Date.now() - killedAt) / 1000;
      // keel-fence's promise: the old postmaster is gone before anyone else may lead ...
      const oldAlive = postmaster !== null && isAlive(postmaster);
      ctx.note(`${np.name} leads after ${tookS.toFixed(1)} s (old postmaster ${oldAlive ? 'STILL RUNNING' : 'gone'}); restarting the agent of ${ctx.primary.name}`);
      ctx.primary.start();
      // ... and it hands over at once instead of at the lease's expiry: the lease was refreshed at
      // most loop_wait before the kill, so without the fence nobody could lead before
      // ttl - loop_wait; one second less is the bound (the promotion itself takes seconds on a loaded machine).
      const boundS = ctx.c.ttl - ctx.c.loopWait - 1;
      return {
        faults: 1,
        checks: {
          fenced_before_handover: { ok: !oldAlive, detail: oldAlive ? `postmaster ${postmaster} of ${ctx.primary.name} still ran when ${np.name} led` : `postmaster ${postmaster} of ${ctx.primary.name} was gone when ${np.name} led` },
          fast_handover: { ok: tookS <= boundS, detail: `${np.name} answered /primary ${tookS.toFixed(2)} s after the kill (bound ${boundS} s, ttl ${ctx.c.ttl})` },
        },
      };
    },
  },
  {
    name: 'sigstop-agent',
    async run(ctx) {
      const pid = ctx.primary.agentPid;
      if (!pid) throw new Error('no agent pid');
      await jitter(ctx);
      ctx.injected();
      process.kill(pid, 'SIGSTOP');
      ctx.note(`SIGSTOP agent of ${ctx.primary.name}`);
      try {
        const np = await ctx.newPrimary(ctx.primary.name);
        ctx.note(`${np.name} leads`);
        await sleep(ctx.c.loopWait * 1000);
      } finally {
        if (isAlive(pid)) process.kill(pid, 'SIGCONT');
      }
      ctx.note(`SIGCONT agent of ${ctx.primary.name}`);
      return { faults: 1 };
    },
  },
  {
    name: 'etcd-down',
    async run(ctx) {
      await jitter(ctx);
      ctx.injected();
      await ctx.c.etcd.kill9();
      ctx.note('etcd killed');
      await sleep(2 * ctx.c.ttl * 1000);
      await ctx.c.etcd.restart();
      ctx.note(`etcd back after 2 x ttl`);
      return { faults: 1 };
    },
  },
  {
    name: 'primary-etcd-partition',
    proxies: true,
    async run(ctx) {
      await jitter(ctx);
      ctx.injected();
      ctx.primary.proxy!.blackhole();
      ctx.note(`${ctx.primary.name} partitioned from etcd`);
      const np = await ctx.newPrimary(ctx.primary.name);
      ctx.note(`${np.name} leads`);
      await waitLoad(ctx, 20);
      ctx.primary.proxy!.heal({ reset: true });
      ctx.note('partition healed');
      return { faults: 1 };
    },
  },
  {
    name: 'primary-peer-partition',
    async run(ctx) {
      await jitter(ctx);
      ctx.injected();
      ctx.primary.partitionFromPeers();
      ctx.note(`${ctx.primary.name} partitioned from its peers (not from etcd)`);
      // It still holds etcd and heartbeats: nobody may take over, in either mode.
      const overtaken = new Set<string>();
      const until = Date.now() + 2 * ctx.c.ttl * 1000;
      try {
        while (Date.now() < until) {
          for (const m of ctx.replicas) if ((await m.api('/primary').catch(() => null))?.status === 200) overtaken.add(m.name);
          await sleep(250);
        }
      } finally {
        ctx.primary.healPeers();
      }
      ctx.note('partition healed');
      return {
        faults: 1,
        checks: {
          not_overtaken: {
            ok: overtaken.size === 0,
            detail: overtaken.size === 0 ? `no replica answered /primary during 2 x ttl` : `${[...overtaken].join(', ')} answered /primary while ${ctx.primary.name} held etcd`,
          },
        },
      };
    },
  },
  {
    name: 'replica-etcd-partition',
    proxies: true,
    async run(ctx) {
      const r = ctx.pick(ctx.replicas);
      ctx.injected();
      r.proxy!.blackhole();
      ctx.note(`${r.name} partitioned from etcd`);
      await sleep((ctx.c.ttl + ctx.c.loopWait) * 1000);
      r.proxy!.heal({ reset: true });
      ctx.note('partition healed');
      return { faults: 1 };
    },
  },
  {
    name: 'repeated-switchovers',
    async run(ctx) {
      let leader = ctx.primary;
      const n = 3;
      for (let k = 0; k < n; k++) {
        const cands = await candidates(ctx, leader);
        const to = ctx.pick(cands);
        const res = await switchover(ctx.c, leader, to);
        ctx.note(`switchover ${leader.name} -> ${to}: ${res.status}`);
        if (res.status !== 200) throw new Error(`switchover refused: ${res.status} ${res.text}`);
        leader = await ctx.newPrimary(leader.name);
        await ctx.c.waitForReplicas(ctx.c.members.filter((m) => m !== leader).map((m) => m.name), failoverWindow(ctx.c));
        await waitLoad(ctx, 20);
      }
      return { faults: n };
    },
  },
  {
    name: 'concurrent-switchovers',
    async run(ctx) {
      const cands = await candidates(ctx, ctx.primary);
      const pair = cands.length >= 2 ? [cands[0]!, cands[1]!] : [cands[0] ?? null, null];
      const results = await Promise.all(pair.map((to) => switchover(ctx.c, ctx.primary, to).catch((e: Error) => ({ status: 0, text: e.message }))));
      ctx.note(`two switchovers at once to ${pair.map((p) => p ?? 'any').join(' and ')}: ${results.map((r) => `${r.status} ${r.text}`).join(' | ')}`);
      if (!results.some((r) => r.status === 200)) throw new Error('neither switchover succeeded');
      await ctx.newPrimary(ctx.primary.name);
      return { faults: 1 };
    },
  },
  {
    name: 'restart-during-catchup',
    async run(ctx) {
      const r = ctx.pick(ctx.replicas);
      await r.kill9Node();
      ctx.note(`${r.name} killed`);
      await waitLoad(ctx, 100);
      r.start();
      ctx.note(`${r.name} restarted; killing it again during catch-up`);
      await sleep(500 + Math.floor(ctx.rand() * 2500));
      await r.kill9Node();
      await waitLoad(ctx, 50);
      r.start();
      ctx.note(`${r.name} restarted again`);
      return { faults: 2 };
    },
  },
];

export function scenarioByName(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario ${JSON.stringify(name)}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}
