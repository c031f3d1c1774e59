import { ackLsn, nextPriorityStep, nextQuorumStep, parseStandbyNames, quorumStandbyNamesFor, type QuorumState } from '@keel/ha-core';
import { writableRevision } from '@keel/dcs';
import { syncStandbyList } from '@keel/protocol';
import type { Probe as ProbeResult } from '@keel/postgres';
import { rewriteCurrentConfig } from '../pgconfig.ts';
import type { Runtime } from '../runtime.ts';
import { syncValue, writeSync } from '../sync-state.ts';
import type { Executor } from './index.ts';

/**
 * How long one action keeps stepping while it waits for standbys to become synchronous and catch up
 * (Patroni sleeps 2 s after changing synchronous_standby_names); the next tick goes on from there.
 */
const SYNC_WAIT_MS = 3000;
const POLL_MS = 200;
const MAX_STEPS = 12;

/**
 * Since when a standby counts as caught up: the primary's WAL position taken once PostgreSQL runs with
 * the current synchronous_standby_names (Patroni's _primary_flush_lsn). A standby whose acknowledged
 * position passed it has every commit acknowledged before the change; later ones wait for the new
 * setting. A value this agent did not set (a restart) starts the count from the first look at it.
 */
const since = new WeakMap<Runtime, { value: string | null; lsn: number }>();

function readyAfterChange(rt: Runtime, p: ProbeResult): string[] {
  let mark = since.get(rt);
  if (mark === undefined || mark.value !== p.synchronousStandbyNames) {
    mark = { value: p.synchronousStandbyNames, lsn: p.lsn ?? Number.MAX_SAFE_INTEGER };
    since.set(rt, mark);
  }
  const from = mark.lsn;
  return (p.replication ?? [])
    .filter((r) => r.application_name !== null && r.state === 'streaming')
    .filter((r) => {
      const lsn = ackLsn({ name: '', state: r.state, syncState: r.sync_state, flushLsn: r.flush_lsn, writeLsn: r.write_lsn, replayLsn: r.replay_lsn }, p.synchronousCommit);
      return lsn !== null && lsn >= from;
    })
    .map((r) => r.application_name as string);
}

async function setStandbyNames(rt: Runtime, value: string | null): Promise<void> {
  if (rt.syncStandbyNames === value && rt.lastProbe?.synchronousStandbyNames === value) return;
  rt.syncStandbyNames = value;
  await rewriteCurrentConfig(rt);
  await rt.pg.reload();
  // Wait until PostgreSQL runs with it (Patroni gives the reload 100 ms), then mark the position.
  for (let i = 0; i < 20; i++) {
    await sleep(50);
    const p = await rt.pg.probe();
    if (p.synchronousStandbyNames === value) {
      await sleep(100);
      const q = await rt.pg.probe();
      since.set(rt, { value, lsn: q.lsn ?? p.lsn ?? Number.MAX_SAFE_INTEGER });
      return;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function streamingNames(p: ProbeResult): string[] {
  return (p.replication ?? []).filter((r) => r.state === 'streaming' && r.application_name !== null).map((r) => r.application_name as string);
}

/**
 * Priority mode (Patroni's process_sync_replication), one nextPriorityStep at a time: a standby enters
 * synchronous_standby_names first and /sync once PostgreSQL reports it synchronous and caught up; it
 * leaves /sync first. A standby swapped out while it still streams (maximum_lag_on_syncnode) stays in
 * both until its replacement is in /sync.
 */
const syncStandbys: Executor<'syncStandbys'> = async (rt, a) => {
  const me = rt.config.name;
  const rev = { current: writableRevision(rt.lastCluster, 'sync') };

  if (a.standbyNames === null) {
    // synchronous_mode was switched off: stop managing the parameter, empty /sync.
    const sync = rt.lastCluster?.sync ?? null;
    await setStandbyNames(rt, null);
    if (sync !== null && sync.value.leader) await writeSync(rt, { leader: null, sync_standby: null }, rev);
    rt.log.info('synchronous replication disabled');
    return;
  }
  const deadline = Date.now() + SYNC_WAIT_MS;
  for (let i = 0; i < MAX_STEPS; i++) {
    const p = await rt.pg.probe();
    const sync = rt.lastCluster?.sync?.value ?? null;
    const owned = sync?.leader === me;
    const step = nextPriorityStep({
      listed: owned ? syncStandbyList(sync) : [],
      owned,
      standbyNames: p.synchronousStandbyNames,
      picked: a.names,
      streaming: streamingNames(p),
      ready: readyAfterChange(rt, p).filter((n) => (p.replication ?? []).some((r) => r.application_name === n && r.sync_state === 'sync')),
      strict: rt.settings.synchronousModeStrict,
    });
    if (step.kind === 'done') return;
    if (step.kind === 'wait') {
      if (Date.now() >= deadline) return;
      await sleep(POLL_MS);
      continue;
    }
    if (step.kind === 'writeSync') {
      await writeSync(rt, syncValue(me, step.names), rev);
      rt.log.info({ sync_standby: step.names, why: step.why }, 'synchronous standbys: /sync updated');
    } else {
      await setStandbyNames(rt, step.value);
      rt.log.info({ synchronous_standby_names: step.value, why: step.why }, 'synchronous standbys: set synchronous_standby_names');
    }
  }
};

/** The quorum state as PostgreSQL and /sync show it now. */
function quorumState(rt: Runtime, p: ProbeResult): QuorumState | null {
  const v = rt.lastCluster?.sync?.value ?? null;
  if (v?.leader !== rt.config.name) return null;
  const ssn = parseStandbyNames(p.synchronousStandbyNames);
  // An unreadable value or '*': nobody is known to have anything (the placeholder counts as 1 of none).
  const sync = ssn === null || ssn.star ? [] : ssn.names;
  const numsync = ssn === null ? 1 : ssn.kind === 'off' ? 0 : sync.length === 0 ? 1 : Math.min(ssn.num, sync.length);
  const ready = readyAfterChange(rt, p);
  return { quorum: v.quorum ?? 0, voters: syncStandbyList(v), numsync, sync, confirmed: sync.filter((n) => ready.includes(n)) };
}

/**
 * Quorum mode (Patroni's _process_quorum_replication): nextQuorumStep one step at a time, each step
 * safe on its own (quorum.ts), re-reading PostgreSQL and /sync between steps.
 */
const quorumSync: Executor<'quorumSync'> = async (rt, a) => {
  const me = rt.config.name;
  const rev = { current: writableRevision(rt.lastCluster, 'sync') };
  const deadline = Date.now() + SYNC_WAIT_MS;
  for (let i = 0; i < MAX_STEPS; i++) {
    const p = await rt.pg.probe();
    const state = quorumState(rt, p);
    if (state === null) {
      // No /sync of mine (first enabled, or left by another leader): no voters, only I may promote.
      await writeSync(rt, syncValue(me, [], 0), rev);
      rt.log.info('quorum commit: /sync claimed with no voters');
      continue;
    }
    const step = nextQuorumStep(state, { active: a.active, wanted: a.wanted, strict: a.strict });
    if (step.kind === 'done') return;
    if (step.kind === 'wait') {
      if (Date.now() >= deadline) return;
      await sleep(POLL_MS);
      continue;
    }
    if (step.kind === 'writeSync') {
      await writeSync(rt, syncValue(me, step.voters, step.quorum), rev);
      rt.log.info({ quorum: step.quorum, voters: step.voters, why: step.why }, 'quorum commit: /sync updated');
    } else {
      const value = quorumStandbyNamesFor(step.numsync, step.sync, a.strict);
      await setStandbyNames(rt, value);
      rt.log.info({ synchronous_standby_names: value, why: step.why }, 'quorum commit: set synchronous_standby_names');
    }
  }
};

export const syncExecutors = { syncStandbys, quorumSync };
