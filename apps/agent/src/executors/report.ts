import type { Observation } from '@keel/ha-core';
import { decisionCause } from '../agent-events.ts';
import type { Runtime } from '../runtime.ts';

/**
 * The executors' events (lock, promotion, demotion, fencing, rewind, clone), each with the decision it
 * carried out as its cause. Reporting never throws (AgentEvents.emit), so it is safe on the failover path.
 */

function cause(rt: Runtime) {
  return decisionCause(rt.lastDecision);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function reportLockAcquired(rt: Runtime): void {
  rt.events.unlatch('lock_lost');
  if (!rt.events.latch('lock_held')) return;
  rt.events.emit('lock_acquired', `${rt.config.name} acquired the leader lock (ttl ${rt.settings.ttl} s)`, { ttlSeconds: rt.settings.ttl }, cause(rt));
}

/** Once per loss (a later acquisition re-arms it): every failed renewal after the first says nothing new. */
export function reportLockLost(rt: Runtime, error: string): void {
  rt.events.unlatch('lock_held');
  if (!rt.events.latch('lock_lost')) return;
  const renewed = rt.events.leaseRenewedAt;
  rt.events.emit('lock_lost', `${rt.config.name} lost the leader lock: ${error}`, { error: error.slice(0, 4096), lastRenewedAt: iso(renewed) }, cause(rt));
}

/**
 * The fencing proof: the lease was last renewed at R (expires at R + ttl), judged lost at `lostAt`,
 * and PostgreSQL was confirmed stopped now. `lastLsn`: the last WAL position the agent saw as primary.
 */
export function reportFenced(rt: Runtime, by: 'guard' | 'lock_lost' | 'dcs_unreachable', lostAt: number, lastLsn: number | null): void {
  const stoppedAt = Date.now();
  const renewed = rt.events.leaseRenewedAt;
  const expires = renewed === null ? null : renewed + rt.settings.ttl * 1000;
  const stopMs = Math.max(0, stoppedAt - lostAt);
  const me = rt.config.name;
  const lsn = lastLsn === null ? 'unknown' : String(lastLsn);
  rt.events.emit(
    'fenced',
    `${me} fenced (${by.replace('_', ' ')}): PostgreSQL stopped ${(stopMs / 1000).toFixed(1)} s after the lease was judged lost${expires === null ? '' : stoppedAt < expires ? `, ${((expires - stoppedAt) / 1000).toFixed(1)} s before it could expire` : ', AFTER it could expire'}; last WAL position ${lsn}`,
    { by, leaseRenewedAt: iso(renewed), leaseExpiresAt: iso(expires), lostAt: new Date(lostAt).toISOString(), stoppedAt: new Date(stoppedAt).toISOString(), stopMs, beforeExpiry: expires === null ? null : stoppedAt < expires, lastLsn },
    cause(rt),
  );
}

/** After a promotion: how far behind the previous leader's last known position this member was. */
export function reportPromoted(rt: Runtime, obs: Observation, timeline: number | null): void {
  const me = rt.config.name;
  const previousLeader = rt.events.lastLeader !== me ? rt.events.lastLeader : null;
  const lsn = obs.pg.lsn;
  let leaderLsn: number | null = null;
  if (obs.dcs.ok) {
    const old = obs.dcs.cluster.members.find((m) => m.name === previousLeader);
    const positions = [obs.dcs.cluster.optime, old?.xlogLocation ?? null].filter((x): x is number => typeof x === 'number');
    leaderLsn = positions.length ? Math.max(...positions) : null;
  }
  const behindBytes = lsn !== null && leaderLsn !== null ? Math.max(0, leaderLsn - lsn) : null;
  const behind = behindBytes === null ? 'lag unknown' : `${behindBytes} B behind ${previousLeader ?? 'the leader'}'s last published position`;
  rt.events.emit(
    'promoted',
    `${me} promoted to primary${previousLeader ? ` (was ${previousLeader}'s replica)` : ''}, ${behind}${timeline === null ? '' : `, timeline ${timeline}`}`,
    { previousLeader, timeline, lsn, leaderLsn, behindBytes },
    cause(rt),
  );
}

export function reportDemoted(rt: Runtime, mode: string, lastLsn: number | null): void {
  rt.events.emit('demoted', `${rt.config.name} demoted (${mode})`, { mode, lastLsn }, cause(rt));
}

/** Wrap a long action (rewind, clone, reinitialize) with its started/done events. */
export async function reported<T>(rt: Runtime, kind: 'rewind' | 'clone' | 'reinitialize', from: string, fn: () => Promise<T>): Promise<T> {
  const me = rt.config.name;
  const started = Date.now();
  const c = cause(rt);
  if (kind === 'rewind') rt.events.emit('rewind_started', `${me} started rejoining ${from} (pg_rewind if its WAL diverged)`, { from }, c);
  else rt.events.emit('reclone', `${me} started a ${kind} from ${from}`, { kind, from, phase: 'started', seconds: null, error: null }, c);
  try {
    const r = await fn();
    const seconds = (Date.now() - started) / 1000;
    const result = typeof r === 'object' && r !== null ? (r as { rewound?: unknown; reason?: unknown }) : {};
    const rewound = kind === 'rewind' && 'rewound' in result ? Boolean(result.rewound) : null;
    if (kind === 'rewind') {
      const how = rewound === false ? `without pg_rewind${typeof result.reason === 'string' ? ` (${result.reason})` : ''}` : 'by pg_rewind';
      rt.events.emit('rewind_done', `${me} rejoined ${from} ${how} in ${seconds.toFixed(1)} s`, { from, ok: true, rewound, seconds, error: null }, c);
    }
    else rt.events.emit('reclone', `${me} finished the ${kind} from ${from} in ${seconds.toFixed(1)} s`, { kind, from, phase: 'done', seconds, error: null }, c);
    return r;
  } catch (e) {
    const seconds = (Date.now() - started) / 1000;
    const error = (e as Error).message.slice(0, 4096);
    if (kind === 'rewind') rt.events.emit('rewind_done', `${me}: pg_rewind from ${from} failed after ${seconds.toFixed(1)} s: ${error}`, { from, ok: false, rewound: null, seconds, error }, c);
    else rt.events.emit('reclone', `${me}: ${kind} from ${from} failed after ${seconds.toFixed(1)} s: ${error}`, { kind, from, phase: 'failed', seconds, error }, c);
    throw e;
  }
}
