/**
 * The agents' WebSocket endpoint (/agents/ws): accepts connections, authenticates their hello
 * against the per-cluster tokens, stores what they send, and tells browsers (through `publish`).
 * One live connection per member: a newer one replaces an older one.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { MAX_MESSAGE_BYTES, type TAgentEvent, type TCommandInput, type THello, type TOperationProgress, type TOperationResult, type TServerErrorCode, type TSnapshot } from '@keel/protocol';
import type pg from 'pg';
import type { TDb } from '../db.ts';
import type { DbHealthMonitor } from '../db-health.ts';
import { memberViewOf } from '../lib/member-view.ts';
import type { TLiveMessage } from '../live/messages.ts';
import { appendAudit } from '../services/append-audit.ts';
import { authenticateAgent } from '../services/authenticate-agent.ts';
import type { TJsonValue } from '../services/get-cluster.ts';
import type { TAgentPresence } from '../services/list-clusters.ts';
import { QUIET_MS } from '../lib/incident-grouping.ts';
import { groupEvents } from '../services/group-event.ts';
import { storeEvents, storeSnapshots } from '../services/store-agent-message.ts';
import { AgentConnection, type TAgentIdentity, type TConnectionHost, type TConnectionLimits } from './connection.ts';
import { EventBatcher, type TEventEntry } from './event-batcher.ts';
import { LiveMembers } from './live-members.ts';
import { SnapshotBatcher } from './snapshot-batcher.ts';

export interface TIngestOptions {
  db: TDb;
  /** The shared pg pool, for the hot path (storing snapshots and events). */
  pool: pg.Pool;
  dbHealth: DbHealthMonitor;
  publish: (msg: TLiveMessage) => void;
  staleAfterSeconds: number;
  log: (event: string, fields: Record<string, unknown>) => void;
  helloTimeoutMs?: number;
  /** Clock skew, rate limit (KEEL_CP_MAX_CLOCK_SKEW_SECONDS, KEEL_CP_AGENT_*). */
  limits: TConnectionLimits;
  /** KEEL_CP_INCIDENT_QUIET_SECONDS in ms (default lib/incident-grouping.ts QUIET_MS). */
  incidentQuietMs?: number;
  /** Operation progress and results (the operation runner records them). */
  onOperationMessage?: (id: TAgentIdentity, m: TOperationProgress | TOperationResult) => Promise<void>;
  /** An agent connected here or left (instances/peers.ts tells the other instances). */
  onPresence?: (memberId: string, connected: boolean) => void;
  /** How often queued snapshots are written (default 100 ms; tests may lower it). */
  batchIntervalMs?: number;
  /** How often queued events are written and grouped (default 50 ms). */
  eventBatchIntervalMs?: number;
  /** At most one browser update per member per this many ms (default LIVE_MIN_INTERVAL_MS). */
  liveMinIntervalMs?: number;
}

/**
 * Browsers get a member at most twice a second (agents send one snapshot per HA tick, at most one
 * a second; a replay after a reconnect is a burst, and only its newest snapshot matters to them).
 */
export const LIVE_MIN_INTERVAL_MS = 500;

/** Most members per snapshot statement. */
const MAX_BATCH = 1000;
/** Most events per batch (stored in one statement, grouped in one transaction). */
const MAX_EVENT_BATCH = 500;

const DB_DOWN = "the control plane cannot reach its database; keep the message and retry later";

interface Seen {
  cluster: string;
  member: string;
  at: number;
  staleAnnounced: boolean;
}

export class AgentIngest implements TAgentPresence, TConnectionHost {
  // Frames up to twice the protocol's limit are read so that the agent hears "too_large" with the
  // size; beyond that ws closes the socket itself (1009).
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES * 2, perMessageDeflate: false });
  private readonly byMember = new Map<string, AgentConnection>();
  private readonly all = new Set<AgentConnection>();
  private readonly seen = new Map<string, Seen>();
  private readonly sweeper: NodeJS.Timeout;
  private shuttingDown = false;
  readonly batcher: SnapshotBatcher;
  readonly events: EventBatcher;
  /** What browsers see, from memory, as snapshots arrive (before they are written). */
  readonly liveMembers: LiveMembers;

  constructor(private readonly opts: TIngestOptions) {
    this.sweeper = setInterval(() => this.sweepStale(), 1000);
    this.sweeper.unref();
    this.batcher = new SnapshotBatcher({
      intervalMs: opts.batchIntervalMs ?? 100,
      maxBatch: MAX_BATCH,
      store: async (entries) => {
        const stored = await storeSnapshots(opts.pool, entries);
        opts.dbHealth.reportOk();
        return stored;
      },
    });
    this.events = new EventBatcher({ intervalMs: opts.eventBatchIntervalMs ?? 50, maxBatch: MAX_EVENT_BATCH, store: (entries) => this.storeEvents(entries) });
    this.liveMembers = new LiveMembers({ minIntervalMs: opts.liveMinIntervalMs ?? LIVE_MIN_INTERVAL_MS, publish: (id, s, at) => this.publishMember(id, s, at) });
  }

  get connections(): number {
    return this.all.size;
  }

  /** `client`: the agent's address (server/lib/client-address.ts: the socket, or through trusted proxies). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, client: string): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const remote = client === req.socket.remoteAddress ? `${client}:${req.socket.remotePort ?? '?'}` : client;
      const conn = new AgentConnection(ws, this, remote, this.opts.helloTimeoutMs ?? 10_000, this.opts.limits);
      this.all.add(conn);
      ws.on('close', () => this.all.delete(conn));
      if (this.shuttingDown) conn.fail('shutting_down', 'the control plane is shutting down; reconnect later');
    });
  }

  isConnected(memberId: string): boolean {
    return this.byMember.has(memberId);
  }

  /** Members whose agent is connected to this instance. */
  connectedMembers(): string[] {
    return [...this.byMember.keys()];
  }

  /**
   * The member's agent now speaks to another instance: close a connection it left here (a newer
   * one replaces an older one, across instances too) and stop watching its staleness here.
   */
  movedAway(memberId: string): void {
    const conn = this.byMember.get(memberId);
    // forgotten first, so that closing it announces no disconnection (the agent is connected, elsewhere)
    this.byMember.delete(memberId);
    conn?.fail('replaced', 'a newer connection to another control-plane instance now speaks for this member');
    this.seen.delete(memberId);
    this.liveMembers.forget(memberId);
  }

  /** Send an operation to a member's agent; false when it has no open connection (nothing sent). */
  sendCommand(memberId: string, command: TCommandInput): boolean {
    return this.byMember.get(memberId)?.sendCommand(command) ?? false;
  }

  /** Close every connection that authenticated with this token (it was just revoked). */
  disconnectToken(tokenId: string, reason: string): number {
    let n = 0;
    for (const conn of this.all) {
      if (conn.identity?.tokenId !== tokenId) continue;
      conn.fail('unauthorized', reason);
      n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- TConnectionHost

  async authenticate(hello: THello, remote: string): Promise<{ ok: true; identity: TAgentIdentity; lastSeq: number } | { ok: false; code: TServerErrorCode; message: string }> {
    try {
      const r = await authenticateAgent(this.opts.pool, hello);
      this.opts.dbHealth.reportOk();
      if (!r.ok) {
        // a genuine token used beyond its rights is audited; garbage tokens are only logged (so
        // that nobody without a token can grow the audit log)
        if (r.token) this.audit(`agent:${r.token.prefix}`, `cluster:${hello.cluster}/member:${hello.member}`, { tokenId: r.token.id, prefix: r.token.prefix, remote, reason: r.reason });
        return { ok: false, code: 'unauthorized', message: r.reason };
      }
      return { ok: true, identity: { clusterId: r.clusterId, cluster: hello.cluster, memberId: r.memberId, member: hello.member, tokenId: r.tokenId, tokenPrefix: r.prefix }, lastSeq: r.lastSeq };
    } catch (e) {
      return { ok: false, ...this.describeStoreError(e) };
    }
  }

  register(conn: AgentConnection): void {
    const id = conn.identity;
    if (!id) return;
    const previous = this.byMember.get(id.memberId);
    this.byMember.set(id.memberId, conn);
    if (previous && previous !== conn) previous.fail('replaced', `a newer connection (${conn.remote}) now speaks for ${id.cluster}/${id.member}`);
    this.opts.log('agent_connected', { cluster: id.cluster, member: id.member, remote: conn.remote, ackedSeq: conn.lastSeq });
    this.opts.onPresence?.(id.memberId, true);
    this.opts.publish({ type: 'presence', cluster: id.cluster, member: id.member, connected: true, at: new Date().toISOString() });
  }

  unregister(conn: AgentConnection): void {
    const id = conn.identity;
    if (!id || this.byMember.get(id.memberId) !== conn) return;
    this.byMember.delete(id.memberId);
    this.opts.log('agent_disconnected', { cluster: id.cluster, member: id.member, remote: conn.remote });
    this.opts.onPresence?.(id.memberId, false);
    this.opts.publish({ type: 'presence', cluster: id.cluster, member: id.member, connected: false, at: new Date().toISOString() });
  }

  submitSnapshot(id: TAgentIdentity, s: TSnapshot): Promise<boolean> {
    // browsers hear it now, from memory; the database gets it with the next batch
    this.liveMembers.offer(id, s);
    return this.batcher.submit(id.memberId, s);
  }

  snapshotsSettled(id: TAgentIdentity): Promise<void> {
    return this.batcher.settled(id.memberId);
  }

  /** A member's newest snapshot for the browsers (and when it was last seen, for staleness). */
  private publishMember(id: TAgentIdentity, s: TSnapshot, receivedAt: Date): void {
    if (!this.byMember.has(id.memberId)) return; // held, and the agent left (or moved) meanwhile
    this.seen.set(id.memberId, { cluster: id.cluster, member: id.member, at: receivedAt.getTime(), staleAnnounced: false });
    this.opts.publish({
      type: 'member',
      cluster: id.cluster,
      member: memberViewOf(
        { name: id.member, lastSeenAt: receivedAt, lastSeq: BigInt(s.seq), agentVersion: null },
        s,
        { now: receivedAt, staleAfterSeconds: this.opts.staleAfterSeconds, connected: true },
      ),
    });
  }

  submitEvent(id: TAgentIdentity, e: TAgentEvent): Promise<boolean> {
    return this.events.submit(id, e);
  }

  eventsSettled(id: TAgentIdentity): Promise<void> {
    return this.events.settled(id.memberId);
  }

  /** A batch of events: stored in one statement, then grouped into incidents in one transaction, then told to browsers. */
  private async storeEvents(entries: TEventEntry[]): Promise<boolean[]> {
    const stored = await storeEvents(this.opts.pool, entries.map(({ id, event }) => ({ memberId: id.memberId, event })));
    this.opts.dbHealth.reportOk();
    const fresh = entries.flatMap(({ id, event: e }, k) => {
      const s = stored[k];
      return s ? [{ id, e, s }] : [];
    });
    // Grouping into incidents: the events are stored either way; a failure here leaves them ungrouped (logged).
    const grouped = await groupEvents(
      this.opts.pool,
      fresh.map(({ id, e, s }) => ({
        clusterId: s.clusterId,
        eventId: s.id,
        event: { member: id.member, type: e.event, at: Date.parse(e.at), receivedAt: s.receivedAt.getTime(), summary: e.summary, details: e.details, cause: e.cause },
      })),
      this.opts.incidentQuietMs ?? QUIET_MS,
    ).catch((err: unknown) => {
      this.opts.log('incident_grouping_failed', { events: fresh.length, error: err instanceof Error ? err.message : String(err) });
      return fresh.map(() => null);
    });
    const incidents = new Map<string, { cluster: string; id: string; status: string; opened: boolean }>();
    fresh.forEach(({ id, e, s }, k) => {
      this.opts.publish({
        type: 'event',
        cluster: id.cluster,
        event: {
          id: String(s.id),
          cluster: id.cluster,
          member: id.member,
          seq: e.seq,
          type: e.event,
          at: e.at,
          receivedAt: s.receivedAt.toISOString(),
          summary: e.summary,
          details: e.details as TJsonValue,
        },
      });
      const g = grouped[k];
      if (g) {
        const prev = incidents.get(g.incidentId);
        incidents.set(g.incidentId, { cluster: id.cluster, id: g.incidentId, status: g.status, opened: (prev?.opened ?? false) || g.opened });
      }
    });
    // one notice per incident per batch
    for (const i of incidents.values()) this.opts.publish({ type: 'incident', ...i });
    return stored.map((s) => s !== null);
  }

  async storeOperationMessage(id: TAgentIdentity, m: TOperationProgress | TOperationResult): Promise<void> {
    await this.opts.onOperationMessage?.(id, m);
    // the member's seq counter covers operation messages too (a replay after reconnect is a duplicate)
    await this.opts.pool.query('UPDATE members SET last_seq = GREATEST(last_seq, $2) WHERE id = $1', [id.memberId, m.seq]);
    this.opts.dbHealth.reportOk();
  }

  describeStoreError(error: unknown): { code: TServerErrorCode; message: string } {
    if (this.opts.dbHealth.report(error)) return { code: 'internal', message: DB_DOWN };
    const text = error instanceof Error ? error.message.split('\n').filter(Boolean).slice(-1)[0] ?? error.message : String(error);
    this.opts.log('agent_store_failed', { error: text });
    return { code: 'internal', message: `the control plane could not store it (${text})` };
  }

  log(event: string, fields: Record<string, unknown>): void {
    this.opts.log(event, fields);
  }

  auditRefusal(conn: AgentConnection, reason: string): void {
    const id = conn.identity;
    if (!id) return;
    this.audit(`agent:${id.tokenPrefix}`, `cluster:${id.cluster}/member:${id.member}`, { tokenId: id.tokenId, prefix: id.tokenPrefix, remote: conn.remote, reason });
  }

  /** One `agent.refused` audit entry; written in the background (a refusal never waits for it). */
  private audit(actor: string, target: string, details: Record<string, unknown>): void {
    appendAudit(this.opts.db, { actorId: null, actor, action: 'agent.refused', target, channel: null, address: typeof details.remote === 'string' ? details.remote : null, cluster: null, outcome: 'refused', details }).catch((e: unknown) => {
      this.opts.dbHealth.report(e);
      this.opts.log('agent_audit_failed', { target, error: e instanceof Error ? e.message : String(e) });
    });
  }

  // ---------------------------------------------------------------- staleness

  private sweepStale(): void {
    const limit = Date.now() - this.opts.staleAfterSeconds * 1000;
    for (const s of this.seen.values()) {
      if (s.staleAnnounced || s.at > limit) continue;
      s.staleAnnounced = true;
      this.opts.publish({ type: 'stale', cluster: s.cluster, member: s.member, lastSeenAt: new Date(s.at).toISOString() });
    }
  }

  /** Tell every agent to come back later, and close. */
  close(): void {
    this.shuttingDown = true;
    clearInterval(this.sweeper);
    this.liveMembers.close();
    for (const conn of this.all) conn.fail('shutting_down', 'the control plane is shutting down; reconnect later');
    this.wss.close();
  }
}
