import { TestCluster, type Member } from '../cluster.ts';
import { waitFor } from '../wait.ts';
import { checkConvergence, checkLostWrites, checkSplitBrain, isConverged, prng, unavailableMs, type CheckOutcome, type ClusterShape } from './checkers.ts';
import type { FaultContext, Scenario } from './scenarios.ts';
import { PinnedWriters } from './writers.ts';

/** async, sync (priority mode: synchronous_mode on), quorum (synchronous_mode: quorum). */
export type FaultMode = 'sync' | 'async' | 'quorum';

export interface FaultClusterOptions {
  mode: FaultMode;
  ttl?: number;
  loopWait?: number;
  retryTimeout?: number;
  /** Convergence bound after a fault ends (default 2 x ttl + 60 s: a rewind or re-clone on a loaded machine). */
  convergeBoundMs?: number;
  /** Progress lines (stderr in the command). */
  log?: (line: string) => void;
}

/** One JSON line of the suite. */
export interface FaultRunResult {
  scenario: string;
  mode: FaultMode;
  seed: number;
  ttl: number;
  loop_wait: number;
  ok: boolean;
  faults: number;
  checks: {
    split_brain: CheckOutcome;
    lost_writes: CheckOutcome & { lost: number };
    convergence: CheckOutcome & { seconds: number | null; bound_s: number };
    /** The scenario's own invariants (e.g. kill9-agent: fenced_before_handover, fast_handover). */
    [scenarioCheck: string]: CheckOutcome;
  };
  /** Seconds from the fault until another member answered /primary (null: the leader did not change). */
  failover_s: number | null;
  /** Longest stretch without an acknowledged write from the fault until convergence. */
  unavailable_s: number;
  acked_writes: number;
  /** Commits PostgreSQL acknowledged with "might not have been replicated" (not counted as acknowledged). */
  unsafe_acks: number;
  old_primary: string;
  final_primary: string | null;
  steps: string[];
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A 3-member cluster (etcd TCP proxy per member) in one replication mode, reused by consecutive
 * scenario runs: each run starts from a converged cluster, injects its fault under a pinned write
 * workload, waits for convergence and judges the history with the checkers.
 */
export class FaultCluster {
  private tableSeq = 0;
  broken = false;

  private constructor(
    readonly c: TestCluster,
    readonly opts: FaultClusterOptions,
  ) {}

  static async start(opts: FaultClusterOptions): Promise<FaultCluster> {
    const c = await TestCluster.start({
      members: 3,
      ttl: opts.ttl ?? 10,
      loopWait: opts.loopWait ?? 2,
      retryTimeout: opts.retryTimeout ?? 3,
      etcdProxies: true,
      // Peers reach each member's PostgreSQL and REST API through proxies (primary-peer-partition).
      peerProxies: true,
      scope: `faults-${opts.mode}`,
      tweak: (cfg) => {
        const dcs = (cfg.bootstrap as { dcs: Record<string, unknown> & { postgresql: { parameters: Record<string, unknown> } } }).dcs;
        if (opts.mode === 'sync') dcs.synchronous_mode = true;
        if (opts.mode === 'quorum') dcs.synchronous_mode = 'quorum';
        // A replica cut off from its primary stops streaming within seconds rather than after 60 s.
        dcs.postgresql.parameters.wal_receiver_timeout = '5s';
        dcs.postgresql.parameters.wal_sender_timeout = '5s';
      },
    });
    const fc = new FaultCluster(c, opts);
    try {
      await fc.converged(240_000);
    } catch (e) {
      await c.stop();
      throw e;
    }
    return fc;
  }

  get boundMs(): number {
    return this.opts.convergeBoundMs ?? 2 * this.c.ttl * 1000 + 60_000;
  }

  stop(): Promise<void> {
    return this.c.stop();
  }

  /** Who answers /primary and who is a streaming replica right now (short timeouts: a stopped agent must not stall the poll). */
  async shape(): Promise<ClusterShape> {
    const status = async (m: Member, p: string) => {
      try {
        const res = await this.c.fetch(`${m.apiUrl}${p}`, { signal: AbortSignal.timeout(1500) });
        await res.arrayBuffer();
        return res.status === 200;
      } catch {
        return false;
      }
    };
    const at = Date.now();
    const rows = await Promise.all(this.c.members.map(async (m) => ({ m: m.name, p: await status(m, '/primary'), s: await status(m, '/replica?replication_state=streaming') })));
    return { at, members: rows.map((r) => r.m), primaries: rows.filter((r) => r.p).map((r) => r.m), streaming: rows.filter((r) => r.s).map((r) => r.m) };
  }

  async converged(timeoutMs: number): Promise<ClusterShape> {
    return waitFor(async () => {
      const s = await this.shape();
      return isConverged(s) ? s : null;
    }, { timeoutMs, intervalMs: 250, message: `one leader and all others streaming (logs:\n${this.c.members.map((m) => `--- ${m.name}\n${m.logTail(6)}`).join('\n')})` });
  }

  async run(scenario: Scenario, seed: number): Promise<FaultRunResult> {
    const c = this.c;
    const log = this.opts.log ?? (() => undefined);
    const rand = prng(seed);
    const steps: string[] = [];
    const start = await this.converged(this.boundMs);
    const primary = c.member(start.primaries[0]!);
    const table = `faults_${++this.tableSeq}_${Date.now()}`;
    await PinnedWriters.createTable(primary, table);
    const writers = new PinnedWriters(c, table);
    writers.start();
    const polls: ClusterShape[] = [];
    let polling = true;
    let otherPrimaryAt: number | null = null;
    let injectAt = Infinity;
    const poller = (async () => {
      while (polling) {
        const s = await this.shape();
        polls.push(s);
        if (otherPrimaryAt === null && s.primaries.some((p) => p !== primary.name) && s.at >= injectAt) otherPrimaryAt = s.at;
        await sleep(300);
      }
    })();
    let faults = 0;
    let own: Record<string, CheckOutcome> = {};
    let error: string | undefined;
    let faultEndedAt = Date.now();
    let finalPrimary: string | null = null;
    let present: number[] = [];
    try {
      await waitFor(() => writers.acked.length >= 50, { timeoutMs: 60_000, message: 'the workload running' });
      const ctx: FaultContext = {
        c,
        primary,
        replicas: c.members.filter((m) => m !== primary),
        mode: this.opts.mode,
        rand,
        pick: (items) => {
          if (items.length === 0) throw new Error('nothing to pick from');
          return items[Math.floor(rand() * items.length)]!;
        },
        ackedSince: (t) => writers.ackedSince(t),
        injected: () => {
          injectAt = Date.now();
        },
        note: (step) => {
          const line = `+${((Date.now() - (Number.isFinite(injectAt) ? injectAt : Date.now())) / 1000).toFixed(1)}s ${step}`;
          steps.push(line);
          log(`  ${scenario.name}/${this.opts.mode}: ${line}`);
        },
        newPrimary: (exclude) =>
          waitFor(async () => {
            const res = await Promise.all(c.members.filter((m) => m.name !== exclude).map(async (m) => ((await m.api('/primary').catch(() => null))?.status === 200 ? m : null)));
            const m = res.find((x) => x !== null);
            if (m && otherPrimaryAt === null && exclude === primary.name) otherPrimaryAt = Date.now();
            return m ?? null;
          }, { timeoutMs: (c.ttl + c.loopWait) * 3000 + 60_000, intervalMs: 100, message: `a primary other than ${exclude}` }),
      };
      injectAt = Date.now();
      const out = await scenario.run(ctx);
      faults = out.faults;
      own = out.checks ?? {};
      faultEndedAt = Date.now();
      // The poller is the one judge of convergence (the same polls the checker reads).
      const done = await waitFor(() => {
        const last = polls.at(-1);
        return last && last.at >= faultEndedAt && isConverged(last) ? last : null;
      }, { timeoutMs: this.boundMs, intervalMs: 100, message: 'convergence' }).catch(() => null);
      if (!done) log(`  ${scenario.name}/${this.opts.mode}: not converged; agents' last lines:\n${c.members.map((m) => `--- ${m.name}\n${m.logTail(12)}`).join('\n')}`);
      if (done) {
        finalPrimary = done.primaries[0]!;
        const t = Date.now();
        await waitFor(() => writers.ackedSince(t) >= 20, { timeoutMs: 30_000, message: 'writes on the final primary' }).catch(() => undefined);
      }
    } catch (e) {
      error = (e as Error).message.split('\n')[0];
    } finally {
      await writers.stop();
      polling = false;
      await poller;
    }
    if (finalPrimary) {
      present = (await c.member(finalPrimary).sql<{ id: string }>(`SELECT id FROM ${table}`).catch(() => [])).map((r) => Number(r.id));
    }
    const history = writers.acked;
    const split = checkSplitBrain(history);
    const lostW = finalPrimary
      ? checkLostWrites(history, present, this.opts.mode === 'async' ? 'async' : 'sync')
      : { outcome: { ok: false, detail: 'no final primary to check against' }, lost: history.map((w) => w.id) };
    const conv = checkConvergence(polls, faultEndedAt, this.boundMs);
    const end = conv.seconds !== null ? faultEndedAt + conv.seconds * 1000 : Date.now();
    if (error || !conv.ok) this.broken = true;
    const lostWrites: CheckOutcome & { lost: number } = { ...lostW.outcome, lost: lostW.lost.length };
    const convergence: CheckOutcome & { seconds: number | null; bound_s: number } = { ok: conv.ok, detail: conv.detail, seconds: conv.seconds, bound_s: this.boundMs / 1000 };
    const result: FaultRunResult = {
      scenario: scenario.name,
      mode: this.opts.mode,
      seed,
      ttl: c.ttl,
      loop_wait: c.loopWait,
      ok: !error && split.ok && lostW.outcome.ok && conv.ok && Object.values(own).every((x) => x.ok),
      faults,
      checks: { split_brain: split, lost_writes: lostWrites, convergence, ...own },
      failover_s: otherPrimaryAt !== null && Number.isFinite(injectAt) ? +(((otherPrimaryAt as number) - injectAt) / 1000).toFixed(3) : null,
      unavailable_s: Number.isFinite(injectAt) ? +(unavailableMs(history, injectAt, end) / 1000).toFixed(3) : 0,
      acked_writes: history.length,
      unsafe_acks: writers.unsafeAcks,
      old_primary: primary.name,
      final_primary: finalPrimary,
      steps,
      ...(error ? { error } : {}),
    };
    return result;
  }
}
