/**
 * DCS failsafe mode, the agent's half (the rules are ha-core's failsafe.ts):
 * - `FailsafeMemory`: what this member remembers, as Patroni's Failsafe object: the primary whose
 *   POST /failsafe it last accepted (a replica), and when it last held on as a primary in failsafe
 *   mode. Either, less than ttl old, is `failsafe_mode_is_active` in GET /patroni and /metrics.
 * - `checkFailsafe`: the primary's round of POST /failsafe to every other member listed in the last
 *   /failsafe it read, in parallel, each bounded like a peer call. Its result goes into the observation.
 * - `answerFailsafe`: the member's side of POST /failsafe.
 */

import type { FailsafeCheck } from '@keel/ha-core';
import type { Probe } from '@keel/postgres';
import type { TFailsafeRequest } from '@keel/protocol';
import type { AgentConfig } from './config.ts';
import type { PeerClient } from './peers.ts';

export class FailsafeMemory {
  private accepted: { name: string; at: number } | null = null;
  private heldAt: number | null = null;

  /** A replica accepted `name`'s POST /failsafe at `at` (ms). */
  accept(name: string, at: number): void {
    this.accepted = { name, at };
  }

  /** This primary keeps running in failsafe mode after a round that started at `since`. */
  hold(since: number): void {
    this.heldAt = since;
  }

  /** The DCS answered this leader again, or it stopped being a primary: failsafe no longer holds it. */
  endHold(): void {
    this.heldAt = null;
  }

  /** This member became a primary: it no longer follows the one it acknowledged. */
  forgetAccepted(): void {
    this.accepted = null;
  }

  /** The primary whose POST /failsafe this member accepted less than ttl ago, or null. */
  leaderWithin(ttlMs: number, now: number): string | null {
    return this.accepted !== null && now - this.accepted.at < ttlMs ? this.accepted.name : null;
  }

  /** Patroni's failsafe_is_active(): a hold or an acceptance less than ttl old. */
  isActive(ttlMs: number, now: number): boolean {
    return (this.heldAt !== null && now - this.heldAt < ttlMs) || this.leaderWithin(ttlMs, now) !== null;
  }
}

/** What the primary tells the members it asks (Patroni's body; slots are not shipped). */
export function failsafeRequestBody(config: AgentConfig): TFailsafeRequest {
  const c = config.postgresql.connect_address;
  return { name: config.name, conn_url: `postgres://${c.host}:${c.port}/postgres`, api_url: config.restapi.api_url };
}

/**
 * One round of POST /failsafe to the members of `failsafe` other than me, all at once, each within
 * `timeoutMs`. A member accepts only with 200 and the body "Accepted" (Patroni's call_failsafe_member).
 */
export async function checkFailsafe(
  peers: PeerClient,
  config: AgentConfig,
  failsafe: Readonly<Record<string, string>> | null,
  timeoutMs: number,
  now: () => number,
): Promise<FailsafeCheck> {
  const startedAt = now();
  const me = config.name;
  if (failsafe === null || Object.keys(failsafe).length === 0) {
    return { startedAt, problem: 'no /failsafe was read while the DCS was reachable', accepted: [], refused: [] };
  }
  if (!Object.hasOwn(failsafe, me)) return { startedAt, problem: `I am not listed in /failsafe`, accepted: [], refused: [] };
  const body = failsafeRequestBody(config);
  const auth = config.ctl.authentication ?? config.restapi.authentication;
  const others = Object.entries(failsafe).filter(([name]) => name !== me);
  const answers = await Promise.all(
    others.map(async ([name, apiUrl]) => ({ name, answer: await peers.postFailsafe(name, apiUrl, body, auth, timeoutMs) })),
  );
  return {
    startedAt,
    problem: null,
    accepted: answers.filter((a) => a.answer.accepted).map((a) => a.name),
    refused: answers.filter((a) => !a.answer.accepted).map((a) => ({ name: a.name, reason: a.answer.reason })),
  };
}

export type FailsafeAnswer = { code: 200; text: 'Accepted'; lsn: number | null } | { code: 500; text: string };

/**
 * A member's answer to POST /failsafe (failsafe_mode on): a running primary refuses ("Running as a
 * leader", Patroni's words: two primaries must not keep each other up); anyone else accepts, remembers
 * the caller as alive for ttl and reports its WAL position.
 */
export function answerFailsafe(memory: FailsafeMemory, request: TFailsafeRequest, probe: Probe | null, now: number): FailsafeAnswer {
  if (probe?.running === true && probe.role === 'primary') return { code: 500, text: 'Running as a leader' };
  memory.accept(request.name, now);
  const lsn = probe?.running ? Math.max(probe.receiveLsn ?? 0, probe.replayLsn ?? 0) : 0;
  return { code: 200, text: 'Accepted', lsn: lsn > 0 ? lsn : null };
}
