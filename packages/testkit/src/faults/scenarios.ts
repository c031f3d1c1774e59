import type { Member, TestCluster } from '../cluster.ts';
import type { CheckOutcome } from './checkers.ts';
import type { FaultMode } from './runner.ts';
import fs from 'node:fs';
import { isAlive } from '../processes.ts';
import { waitFor } from '../wait.ts';

/** What a scenario gets: the cluster, the primary at the start, seeded choices, a clock of events. */
export interface FaultContext {
  c: TestCluster;
  primary: Member;
  replicas: Member[];
  mode: FaultMode;
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
  // In synchronous mode only a member in /sync may take over, and right after a start or a
  // switchover the leader may not have named one yet (the switchover would be refused with 412 "can
  // not find sync_standby", correctly): wait for one, as an operator would.
  // Quorum mode restricts no candidate (Patroni): the switchover waits for the shutdown checkpoint.
  const want = ctx.mode === 'sync' ? ['sync_standby'] : ['replica', 'sync_standby', 'quorum_standby'];
  return waitFor(
    async () => {
      const r = await leader.api<{ members: Array<{ name: string; role: string }> }>('/cluster');
      const names = r.body.members.filter((m) => want.includes(m.role)).map((m) => m.name);
      return names.length > 0 ? names : null;
    },
    { timeoutMs: failoverWindow(ctx.c), message: `${leader.name}'s /cluster lists a ${want.join(' or ')}` },
  );
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
      // Asynchronous and quorum mode (no early takeover there): the lease path.
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
    // failsafe_mode off (the default): the primary demotes before its lease can expire.
    name: 'etcd-down',
    async run(ctx) {
      return etcdDown(ctx, false);
    },
  },
  {
    // failsafe_mode on: every member accepts the primary's POST /failsafe, so it stays the primary.
    name: 'etcd-down-failsafe',
    async run(ctx) {
      await setFailsafeMode(ctx, true);
      try {
        return await etcdDown(ctx, true);
      } finally {
        await setFailsafeMode(ctx, false);
      }
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

/** PATCH /config failsafe_mode on the primary, then wait until every member runs with it (its /metrics). */
async function setFailsafeMode(ctx: FaultContext, on: boolean): Promise<void> {
  const leader = (await ctx.c.primary()) ?? ctx.primary;
  const res = await ctx.c.fetch(`${leader.apiUrl}/config`, {
    method: 'PATCH',
    headers: { ...restAuth(ctx.c), 'content-type': 'application/json' },
    body: JSON.stringify({ failsafe_mode: on }),
    signal: AbortSignal.timeout(30_000),
  });
  if (res.status !== 200) throw new Error(`PATCH /config failsafe_mode=${on}: ${res.status} ${await res.text()}`);
  const want = `} ${on ? 1 : 0}`;
  await waitFor(
    async () => {
      for (const m of ctx.c.members) {
        const metrics = String((await m.api('/metrics').catch(() => ({ body: '' }))).body);
        if (!metrics.split('\n').some((l) => l.startsWith('patroni_failsafe_mode_enabled{') && l.endsWith(want))) return false;
      }
      // With it on, the leader has written /failsafe with every member.
      if (!on) return true;
      const key = await leader.api<Record<string, string>>('/failsafe').catch(() => null);
      return key?.status === 200 && ctx.c.members.every((m) => Object.hasOwn(key.body, m.name));
    },
    { timeoutMs: 60_000, message: `every member runs with failsafe_mode ${on}` },
  );
  ctx.note(`failsafe_mode ${on ? 'on' : 'off'}`);
}

/**
 * etcd killed for 2 x ttl. The scenario's own check, polled every 500 ms from the kill to the restart:
 * failsafe_mode off: the old primary stops answering /primary within ttl (it demotes before its lease
 * could expire); on: it answers /primary at every poll, keeps acknowledging writes, and no other member
 * ever answers /primary.
 */
async function etcdDown(ctx: FaultContext, failsafe: boolean): Promise<{ faults: number; checks: Record<string, CheckOutcome> }> {
  const { c, primary } = ctx;
  await jitter(ctx);
  ctx.injected();
  const killedAt = Date.now();
  await c.etcd.kill9();
  ctx.note('etcd killed');
  let polls = 0;
  let primaryDownAt: number | null = null;
  let primaryMissed = 0;
  const others = new Set<string>();
  const rest = c.members.filter((m) => m !== primary);
  while (Date.now() - killedAt < 2 * c.ttl * 1000) {
    polls++;
    const [mine, ...theirs] = await Promise.all([primary, ...rest].map((m) => m.api('/primary').then((r) => r.status).catch(() => 0)));
    if (mine !== 200) {
      primaryMissed++;
      primaryDownAt ??= Date.now();
    }
    theirs.forEach((status, i) => status === 200 && others.add(rest[i]!.name));
    await sleep(500);
  }
  const acked = ctx.ackedSince(killedAt);
  await c.etcd.restart();
  ctx.note(`etcd back after 2 x ttl (${acked} writes acknowledged meanwhile)`);
  if (failsafe) {
    const ok = primaryMissed === 0 && others.size === 0 && acked > 0;
    return {
      faults: 1,
      checks: {
        failsafe_held: {
          ok,
          detail: `${primary.name} answered /primary at ${polls - primaryMissed} of ${polls} polls over 2 x ttl without etcd, acknowledged ${acked} writes; other members answering /primary: ${others.size ? [...others].join(', ') : 'none'}`,
        },
      },
    };
  }
  const tookS = primaryDownAt === null ? null : (primaryDownAt - killedAt) / 1000;
  return {
    faults: 1,
    checks: {
      demoted_without_dcs: {
        ok: tookS !== null && tookS <= c.ttl && others.size === 0,
        detail: `${primary.name} stopped answering /primary ${tookS === null ? 'never' : `${tookS.toFixed(1)} s`} after etcd was killed (bound: ttl ${c.ttl} s); other members answering /primary: ${others.size ? [...others].join(', ') : 'none'}`,
      },
    },
  };
}

export function scenarioByName(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario ${JSON.stringify(name)}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}
