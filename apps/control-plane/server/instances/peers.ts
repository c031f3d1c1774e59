/**
 * What one control-plane instance knows of the others (all against one PostgreSQL, behind any load
 * balancer), over the peer bus (peer-bus.ts, LISTEN/NOTIFY):
 *
 * - presence: which instance holds each agent's WebSocket. Incremental `presence` messages, and a
 *   `heartbeat` every HEARTBEAT_MS with the full list (so a missed NOTIFY heals); an instance not
 *   heard from for PEER_TIMEOUT_MS is gone, and so are its agents (they reconnect elsewhere).
 * - commands: an operation started on B whose agent is connected to A is sent to A, which hands it
 *   to the agent (or answers `undeliverable`); the agent's result comes back on A and is forwarded
 *   to whoever waits for it. Operations still run once: the claim is a conditional UPDATE in the
 *   database (operation-runner.ts), whichever instance approves.
 * - live updates: what an instance publishes to its browsers it also forwards to the others, which
 *   publish it to theirs (never forwarded again).
 * - security: a revoked agent token or a disabled user is disconnected on every instance.
 * - operations of a vanished instance: each heartbeat names the operations the instance is running;
 *   when it times out, the survivors fail those (outcome unknown), as a restarted server does.
 */
import { ZCommand, ZOperationResult, type TCommandInput, type TOperationResult } from '@keel/protocol';
import { z } from 'zod';
import type { TLiveMessage } from '../live/messages.ts';

export const HEARTBEAT_MS = 5_000;
export const PEER_TIMEOUT_MS = 15_000;

const ZId = z.string().min(1).max(200);
export const ZPeerMessage = z.discriminatedUnion('t', [
  /** A new (or reconnected) instance: send your heartbeat now. */
  z.object({ t: z.literal('hello') }),
  z.object({ t: z.literal('heartbeat'), members: z.array(ZId), operations: z.array(ZId) }),
  z.object({ t: z.literal('presence'), member: ZId, connected: z.boolean() }),
  /** For the receivers' browsers (live/messages.ts; produced by our own code on another instance). */
  z.object({ t: z.literal('live'), m: z.looseObject({ type: z.string() }) }),
  z.object({ t: z.literal('notice'), users: z.array(ZId), m: z.looseObject({ type: z.literal('notice') }) }),
  z.object({ t: z.literal('command'), to: ZId, member: ZId, command: ZCommand }),
  z.object({ t: z.literal('undeliverable'), to: ZId, member: ZId, commandId: ZId }),
  z.object({ t: z.literal('operation_result'), member: ZId, m: ZOperationResult }),
  z.object({ t: z.literal('disconnect_token'), tokenId: ZId, reason: z.string().max(500) }),
  z.object({ t: z.literal('disconnect_user'), userId: ZId, reason: z.string().max(500) }),
]);
export type TPeerMessage = z.infer<typeof ZPeerMessage>;

export interface TPeersDeps {
  send(m: TPeerMessage): void;
  /** This instance's agent connections. */
  local: {
    connectedMembers(): string[];
    isConnected(memberId: string): boolean;
    sendCommand(memberId: string, command: TCommandInput): boolean;
    disconnectToken(tokenId: string, reason: string): number;
    /** The member's agent now speaks to another instance: close a connection left here, stop watching it. */
    movedAway(memberId: string): void;
  };
  /** This instance's browsers. */
  live: {
    publish(m: TLiveMessage): void;
    notifyUsers(userIds: string[], m: TLiveMessage): void;
    disconnectUser(userId: string, reason: string): number;
  };
  runner: {
    runningOperations(): string[];
    /** A result for a command this instance may be waiting for; true when it was. */
    claimResult(memberId: string, m: TOperationResult): boolean;
    /** The instance holding the agent could not hand it the command. */
    undeliverable(commandId: string, memberId: string): void;
    /** Fail these operations if still running (their instance is gone). */
    failOrphaned(operationIds: string[], reason: string): Promise<void>;
  };
  log(event: string, fields: Record<string, unknown>): void;
  now?: () => number;
}

interface Peer {
  seen: number;
  members: Set<string>;
  operations: string[];
}

export class Peers {
  private readonly peers = new Map<string, Peer>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly instanceId: string,
    private readonly deps: TPeersDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** Start heartbeats (the bus is listening: ask the others for theirs). */
  start(): void {
    this.deps.send({ t: 'hello' });
    this.heartbeat();
    this.timer ??= setInterval(() => {
      this.heartbeat();
      this.expire();
    }, HEARTBEAT_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get count(): number {
    return this.peers.size;
  }

  /** The instance holding this member's agent, when it is another one. */
  holder(memberId: string): string | null {
    for (const [id, p] of this.peers) if (p.members.has(memberId)) return id;
    return null;
  }

  isConnected(memberId: string): boolean {
    return this.deps.local.isConnected(memberId) || this.holder(memberId) !== null;
  }

  /** Send a command to the member's agent, wherever it is connected; false when nowhere. */
  sendCommand(memberId: string, command: TCommandInput): boolean {
    if (this.deps.local.sendCommand(memberId, command)) return true;
    const to = this.holder(memberId);
    if (!to) return false;
    this.deps.send({ t: 'command', to, member: memberId, command: ZCommand.parse(command) });
    return true;
  }

  presence(memberId: string, connected: boolean): void {
    if (this.peers.size > 0) this.deps.send({ t: 'presence', member: memberId, connected });
  }

  /** Something this instance published to its browsers: the others' browsers get it too. */
  forwardLive(m: TLiveMessage): void {
    if (this.peers.size > 0 && m.type !== 'database' && m.type !== 'hello') this.deps.send({ t: 'live', m });
  }

  forwardNotice(userIds: string[], m: TLiveMessage & { type: 'notice' }): void {
    if (this.peers.size > 0) this.deps.send({ t: 'notice', users: userIds, m });
  }

  /** A result no local waiter claimed: the operation may run on another instance. */
  forwardResult(memberId: string, m: TOperationResult): void {
    if (this.peers.size > 0) this.deps.send({ t: 'operation_result', member: memberId, m });
  }

  disconnectToken(tokenId: string, reason: string): number {
    this.deps.send({ t: 'disconnect_token', tokenId, reason });
    return this.deps.local.disconnectToken(tokenId, reason);
  }

  disconnectUser(userId: string, reason: string): number {
    this.deps.send({ t: 'disconnect_user', userId, reason });
    return this.deps.live.disconnectUser(userId, reason);
  }

  /** Operations that live peers say they are running (recovery at start must not fail them). */
  peerOperations(): Set<string> {
    return new Set([...this.peers.values()].flatMap((p) => p.operations));
  }

  onMessage(from: string, raw: unknown): void {
    const parsed = ZPeerMessage.safeParse(raw);
    if (!parsed.success) {
      this.deps.log('peer_message_invalid', { from, error: parsed.error.issues[0]?.message ?? 'invalid' });
      return;
    }
    const m = parsed.data;
    const peer = this.touch(from);
    switch (m.t) {
      case 'hello':
        return this.heartbeat();
      case 'heartbeat':
        peer.members = new Set(m.members);
        peer.operations = m.operations;
        for (const id of m.members) if (this.deps.local.isConnected(id)) this.settleConflict(from, id);
        return;
      case 'presence':
        if (m.connected) {
          peer.members.add(m.member);
          for (const [id, p] of this.peers) if (id !== from) p.members.delete(m.member);
          this.deps.local.movedAway(m.member);
        } else peer.members.delete(m.member);
        return;
      case 'live':
        return this.deps.live.publish(m.m as TLiveMessage);
      case 'notice':
        return this.deps.live.notifyUsers(m.users, m.m as TLiveMessage);
      case 'command':
        if (m.to !== this.instanceId) return;
        if (!this.deps.local.sendCommand(m.member, m.command)) this.deps.send({ t: 'undeliverable', to: from, member: m.member, commandId: m.command.id });
        return;
      case 'undeliverable':
        if (m.to === this.instanceId) this.deps.runner.undeliverable(m.commandId, m.member);
        return;
      case 'operation_result':
        this.deps.runner.claimResult(m.member, m.m);
        return;
      case 'disconnect_token':
        this.deps.local.disconnectToken(m.tokenId, m.reason);
        return;
      case 'disconnect_user':
        this.deps.live.disconnectUser(m.userId, m.reason);
        return;
    }
  }

  /** A heartbeat lists a member connected here too: the newer connection wins, and presence says which. */
  private settleConflict(_from: string, _memberId: string): void {
    // Both claim it: keep ours (a presence message from the other side would have moved it away
    // already, so theirs is the stale view); our next heartbeat corrects them.
    this.peers.get(_from)?.members.delete(_memberId);
  }

  private touch(id: string): Peer {
    let p = this.peers.get(id);
    if (!p) {
      p = { seen: this.now(), members: new Set(), operations: [] };
      this.peers.set(id, p);
      this.deps.log('peer_joined', { peer: id });
    }
    p.seen = this.now();
    return p;
  }

  private heartbeat(): void {
    this.deps.send({ t: 'heartbeat', members: this.deps.local.connectedMembers(), operations: this.deps.runner.runningOperations() });
  }

  /** Forget peers not heard from for PEER_TIMEOUT_MS; fail the operations they were running. */
  expire(): void {
    const limit = this.now() - PEER_TIMEOUT_MS;
    for (const [id, p] of this.peers) {
      if (p.seen >= limit) continue;
      this.peers.delete(id);
      this.deps.log('peer_gone', { peer: id, agents: p.members.size, operations: p.operations.length });
      if (p.operations.length > 0) {
        void this.deps.runner.failOrphaned(p.operations, 'the control-plane instance running this operation stopped answering; its outcome is unknown: check the cluster').catch((e: unknown) =>
          this.deps.log('peer_orphans_failed', { peer: id, error: e instanceof Error ? e.message : String(e) }),
        );
      }
    }
  }
}
