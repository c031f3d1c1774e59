import { z } from 'zod';
import { MEMBER_STATES } from './member-status.ts';
import { ZTags } from './dcs-values.ts';
import { ZBackupStatus } from './backup.ts';
import { OPERATION_ERROR_CODES, OPERATION_KINDS, ZCommand, ZOperationId, ZOperationResultData, ZOperationStep } from './ops.ts';

/**
 * The WebSocket protocol between keel-agent and the control plane (version 1).
 *
 * Connection: the agent dials `agentSocketUrl(controlplane.url)` and sends `hello` first. The server
 * answers `welcome` (or `error` + close). Then the agent streams `snapshot` and `event` messages and
 * the server answers `ack`. JSON text frames, one message per frame, at most MAX_MESSAGE_BYTES.
 *
 * Sequence numbers and duplicates:
 * - Every snapshot and event carries `seq`, strictly increasing per member (cluster + member name).
 *   Gaps are allowed (the agent drops snapshots when its buffer overflows; see below).
 * - The server keeps, per member, the highest seq it has stored (`lastSeq`). A message with
 *   seq <= lastSeq is a duplicate: it is acknowledged and not stored again.
 * - `welcome.ackedSeq` is that lastSeq (0 when nothing was ever stored). The agent drops every
 *   buffered message with seq <= ackedSeq and sends the rest in order.
 * - seq keeps increasing across agent restarts without the agent writing anything to disk: it is a
 *   hybrid logical clock, seq = max(previous seq + 1, the agent's clock in epoch milliseconds). An
 *   agent sends far fewer than 1,000 messages a second, so a restarted agent starts above everything
 *   its previous run numbered. Should the clock have stepped back, a welcome with ackedSeq >= the
 *   agent's next seq makes the agent renumber its buffered, never-sent messages to continue after
 *   ackedSeq before sending any of them.
 * - The server therefore must not expect contiguous numbers: "seq > lastSeq" is new, anything else
 *   a duplicate (another connection of the same member may have stored it meanwhile).
 * - Within one connection the agent sends each seq once, in increasing order, all above
 *   welcome.ackedSeq; a seq that is not above the previous one on the connection (or ackedSeq) is a
 *   replay and refused (`invalid`). A seq more than the server's allowed clock skew ahead of the
 *   server's clock in epoch milliseconds, or an `at` that far in the future, is refused too (it
 *   would make everything after it look like a duplicate).
 * - `cluster` and `member` on a sequenced message are optional; when present they must name the
 *   hello's cluster and member (a token speaks only for the members it was issued for).
 * - `ack.seq` is cumulative: everything up to and including seq is stored.
 *
 * Errors: the server sends `error` and closes the connection; the agent reconnects with backoff.
 *
 * Operations (control plane -> agent `command`, agent -> server `operation_progress` / `operation_result`):
 * - The server sends `command` only on a streaming connection (after welcome). The command is not
 *   acknowledged by itself: the agent's first `operation_progress` for its id ("accepted", or the
 *   refusal as `operation_result` failed) is the answer. Progress and result are sequenced messages:
 *   they go through the agent's outbound buffer like events (never dropped for snapshots), are replayed
 *   after a reconnect and acknowledged with `ack` like everything else; the server stores each one
 *   once ("seq > lastSeq is new").
 * - `command.command.id` (the operation id) is the idempotency key. The agent runs an id at most once
 *   per agent process: a command whose id it has seen is never run again. If that operation has
 *   finished, the agent sends its `operation_result` again (a new seq, the same content) so a server
 *   that lost it converges; if it still runs, the agent sends nothing new (its progress continues).
 *   The agent remembers the last 1,000 ids.
 * - Across an agent restart the agent remembers nothing: the server must not resend a command to a new
 *   agent incarnation (hello.incarnation changed) and instead ends that operation as failed, "the agent
 *   restarted; the outcome is unknown" (then reads the cluster to see what happened).
 * - A command that arrives after its `notAfter` is refused (operation_result failed, code unavailable),
 *   so a command never runs later by surprise. A command that does not parse is refused with
 *   operation_result failed, code invalid, when its id can be read, and otherwise ignored (logged).
 * - Every operation ends with exactly one `operation_result` (succeeded or failed), except when the
 *   agent process dies first (see above). A scheduled switchover or restart "succeeds" when it is
 *   scheduled (result.data.scheduledAt); what happens later is reported by the usual events.
 */

export const AGENT_PROTOCOL_VERSION = 1;

/** Largest frame either side accepts (bytes of UTF-8 JSON). Larger frames are refused as too_large. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** Where the control plane accepts agent WebSockets, below its base URL. */
export const AGENT_SOCKET_PATH = '/agents/ws';

/**
 * The WebSocket URL for a control-plane base URL as written in the agent's YAML (`controlplane.url`,
 * http or https): http -> ws, https -> wss, AGENT_SOCKET_PATH appended to the base path unless the
 * URL already ends with it. Query and fragment are dropped (the token travels in `hello`, never in the URL).
 */
export function agentSocketUrl(base: string): string {
  const u = new URL(base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`controlplane.url must be http(s) or ws(s), got ${u.protocol}`);
  const path = u.pathname.replace(/\/+$/, '');
  if (!path.endsWith(AGENT_SOCKET_PATH)) u.pathname = `${path}${AGENT_SOCKET_PATH}`;
  u.search = '';
  u.hash = '';
  u.username = '';
  u.password = '';
  return u.toString();
}

const ZSeq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const ZAt = z.iso.datetime({ offset: true });
const ZName = z.string().min(1).max(256);
/** WAL positions as integers (bytes), like the DCS and Patroni's REST API. */
const ZLsn = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const ZBytes = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Tags and pending-restart reasons as the DCS has them, bounded for the wire (every string and collection of a message is). */
const MAX_TAGS = 64;
const MAX_PENDING_PARAMETERS = 512;
const ZWireTags = ZTags.refine((t) => Object.keys(t).length <= MAX_TAGS, `at most ${MAX_TAGS} tags`).refine(
  (t) => Object.entries(t).every(([k, v]) => k.length <= 256 && (typeof v !== 'string' || v.length <= 4096)),
  'tag names are at most 256 characters and tag values at most 4096',
);
const ZWirePendingRestartReason = z
  .record(z.string().max(256), z.object({ old_value: z.string().max(4096), new_value: z.string().max(4096) }))
  .refine((r) => Object.keys(r).length <= MAX_PENDING_PARAMETERS, `at most ${MAX_PENDING_PARAMETERS} parameters`);

export const ZMemberRole = z.enum(['primary', 'replica', 'standby_leader', 'uninitialized']);
export const ZMemberState = z.enum(MEMBER_STATES);

// ---------------------------------------------------------------------------------------------
// agent -> server

export const ZHello = z.object({
  type: z.literal('hello'),
  v: z.literal(AGENT_PROTOCOL_VERSION),
  /** The per-cluster agent token (plain text; the server stores only its hash). Never logged. */
  token: z.string().min(1).max(4096),
  /** The cluster: the agent's `scope`. */
  cluster: ZName,
  /** The member: the agent's `name`. */
  member: ZName,
  agentVersion: z.string().min(1).max(64),
  /** Random id of this agent process run; changes on every restart (informational). */
  incarnation: z.string().min(1).max(64).optional(),
  /** The lowest seq the agent still holds and will send after the welcome (absent: nothing buffered). */
  resumeFrom: ZSeq.optional(),
  /** Messages this agent run dropped from its full buffer so far (seq gaps alone do not mean drops). */
  dropped: z.object({ snapshots: z.number().int().nonnegative(), events: z.number().int().nonnegative() }).optional(),
});
export type THello = z.infer<typeof ZHello>;

/** One row of the cluster as this agent sees it in the DCS (members/<name>). */
export const ZClusterMemberSummary = z.object({
  name: ZName,
  role: z.string().max(64),
  state: z.string().max(64),
  timeline: z.number().int().nullable(),
  /** members/<name>.xlog_location. */
  lsn: ZLsn.nullable(),
  tags: ZWireTags,
  pendingRestart: z.boolean(),
});
export type TClusterMemberSummary = z.infer<typeof ZClusterMemberSummary>;

export const ZFailoverReadiness = z.object({
  /** Would this member be allowed to take over now (ha-core rankCandidates on this member)? */
  eligible: z.boolean(),
  /** Empty when eligible: "tagged nofailover", "lag 3.2 MB exceeds maximum_lag_on_failover 1 MB", ... */
  reasons: z.array(z.string().max(1024)).max(32),
});
export type TFailoverReadiness = z.infer<typeof ZFailoverReadiness>;

export const ZLag = z.object({
  /** The leader's WAL position the lag is measured against (max of /status.optime and the leader's member key). */
  leaderLsn: ZLsn.nullable(),
  receiveBytes: ZBytes.nullable(),
  replayBytes: ZBytes.nullable(),
  /** null when unknown (no leader position, or the member is not replicating). 0 on the primary. */
  receiveSeconds: z.number().nonnegative().nullable(),
  replaySeconds: z.number().nonnegative().nullable(),
});
export type TLag = z.infer<typeof ZLag>;

/**
 * WAL archiving as the member's PostgreSQL reports it (pg_stat_archiver since its last stats reset,
 * plus archive_mode). Reported by every running member; what matters is the primary's (and a
 * replica's with archive_mode = always).
 */
export const ZArchiveStatus = z.object({
  archiveMode: z.enum(['off', 'on', 'always']),
  archivedCount: z.number().int().nonnegative(),
  lastArchivedWal: z.string().max(64).nullable(),
  lastArchivedAt: ZAt.nullable(),
  failedCount: z.number().int().nonnegative(),
  lastFailedWal: z.string().max(64).nullable(),
  lastFailedAt: ZAt.nullable(),
});
export type TArchiveStatus = z.infer<typeof ZArchiveStatus>;

/**
 * What the control plane needs to rank every member the way the agents would and to estimate the
 * failover time (Keel addition; absent from older agents): the settings in force, the DCS facts the
 * ranking reads, and this member's fence. Only the leader's `fence` matters (the fast path on agent death).
 */
export const ZHaContext = z.object({
  ttl: z.number().positive().max(1e9),
  loopWait: z.number().positive().max(1e9),
  retryTimeout: z.number().positive().max(1e9),
  maximumLagOnFailover: ZBytes,
  checkTimeline: z.boolean(),
  synchronousMode: z.boolean(),
  /** /status.optime as last read from the DCS. */
  optime: ZLsn.nullable(),
  /** The cluster's timeline from /history (ha-core clusterTimeline); null: no history yet. */
  clusterTimeline: z.number().int().positive().nullable(),
  /** The /sync key: the last leader and its synchronous standbys; null: no key. */
  sync: z
    .object({
      leader: ZName.nullable(),
      syncStandby: z.array(ZName).max(1000),
      /** synchronous_mode: quorum: /sync's quorum (a candidate needs quorum + 1 votes of syncStandby ∪ {leader}); absent in priority mode. */
      quorum: z.number().int().min(0).max(1000).optional(),
    })
    .nullable(),
  /** This member's fencing process: armed (primary holding the lock) and whether it knows the lease to revoke on agent death. null: no fence. */
  fence: z.object({ armed: z.boolean(), leaseKnown: z.boolean() }).nullable(),
});
export type THaContext = z.infer<typeof ZHaContext>;

/** Optional on sequenced messages: when present, must be the hello's (the server refuses others). */
const ZSender = {
  cluster: ZName.optional(),
  member: ZName.optional(),
};

/** "host:port" (IPv6 hosts in brackets), as the control plane matches a standby cluster to the site it follows. */
const ZHostPort = z.string().min(3).max(300).regex(/^(?:\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):\d{1,5}$/);

export const ZSnapshot = z.object({
  type: z.literal('snapshot'),
  seq: ZSeq,
  ...ZSender,
  /** When the agent took the snapshot (end of an HA loop iteration), ISO 8601. */
  at: ZAt,
  role: ZMemberRole,
  state: ZMemberState,
  /** false when PostgreSQL does not accept connections (state says why). */
  pgRunning: z.boolean(),
  timeline: z.number().int().positive().nullable(),
  /** Primary: current WAL write position. Replica: max(received, replayed). Patroni's xlog location. */
  lsn: ZLsn.nullable(),
  receiveLsn: ZLsn.nullable(),
  replayLsn: ZLsn.nullable(),
  lag: ZLag,
  pendingRestart: z.boolean(),
  /** {parameter: {old_value, new_value}}, Patroni's pending_restart_reason. */
  pendingRestartReasons: ZWirePendingRestartReason,
  tags: ZWireTags,
  /** Epoch seconds of the last successful DCS operation (Patroni's dcs_last_seen); null: never. */
  dcsLastSeen: z.number().int().nonnegative().nullable(),
  /** The last DCS read of this loop succeeded. */
  dcsOk: z.boolean(),
  failoverReadiness: ZFailoverReadiness,
  /** The leader lock holder as last read from the DCS; null: no leader. */
  leader: ZName.nullable(),
  /** The cluster as this agent last read it from the DCS (empty before the first successful read). */
  members: z.array(ZClusterMemberSummary).max(1000),
  lastDecision: z
    .object({
      verdict: z.string().min(1).max(64),
      /** The loop's one human sentence. */
      reason: z.string().max(4096),
      /** The actions decided this loop, e.g. ["renewLock", "syncSlots(+pg2 -)"]. */
      actions: z.array(z.string().max(256)).max(64),
    })
    .nullable(),
  paused: z.boolean(),
  /** null while PostgreSQL is not running; absent from agents before it existed. */
  archive: ZArchiveStatus.nullable().optional(),
  /**
   * The last backups as the configured backup tool lists them (the leader's agent only, checked in the
   * background every backup.interval); null: this member does not check; absent from older agents.
   */
  backup: ZBackupStatus.nullable().optional(),
  /** This member's PostgreSQL address as other members reach it (postgresql.connect_address, "host:port"); absent from older agents. */
  connectAddress: ZHostPort.nullable().optional(),
  /**
   * A standby cluster's standby leader: the other site's PostgreSQL it replicates from (standby_cluster
   * host:port); null otherwise, or when it restores from the archive only. Absent from older agents.
   */
  follows: ZHostPort.nullable().optional(),
  ha: ZHaContext.optional(),
});
export type TSnapshot = z.infer<typeof ZSnapshot>;

export const AGENT_EVENT_TYPES = [
  'role_change',
  'failover',
  'switchover',
  'postgres_down',
  'postgres_up',
  'dcs_unreachable',
  'dcs_back',
  'lag_above_threshold',
  'lag_back',
  'pending_restart',
  // the HA loop's own account (issue 12): what it decided and did, as it happened
  'decision_changed',
  'lock_acquired',
  'lock_lost',
  'leader_key_gone',
  'promoted',
  'demoted',
  'fenced',
  'rewind_started',
  'rewind_done',
  'reclone',
] as const;
export type TAgentEventType = (typeof AGENT_EVENT_TYPES)[number];

const roleOrNull = ZMemberRole.nullable();
/** Typed details per event type; unknown extra keys are stripped (forward compatible). */
const eventDetails = {
  role_change: z.object({ from: roleOrNull, to: roleOrNull }),
  /** I promoted after winning a leaderless race (the old leader's lock expired or it released it). */
  failover: z.object({
    previousLeader: ZName.nullable(),
    timeline: z.number().int().nullable(),
    /** A /failover key named me (patronictl failover --candidate): requested, not automatic. */
    manual: z.boolean(),
  }),
  /** I promoted while a /failover key with a leader named me as the candidate. */
  switchover: z.object({ previousLeader: ZName.nullable(), timeline: z.number().int().nullable(), scheduledAt: z.string().max(64).nullable() }),
  postgres_down: z.object({ state: ZMemberState, wasRole: roleOrNull }),
  postgres_up: z.object({ role: roleOrNull, downSeconds: z.number().nonnegative().nullable() }),
  dcs_unreachable: z.object({ error: z.string().max(4096) }),
  dcs_back: z.object({ unreachableSeconds: z.number().nonnegative().nullable() }),
  lag_above_threshold: z.object({ lagBytes: ZBytes, thresholdBytes: ZBytes }),
  lag_back: z.object({ lagBytes: ZBytes, thresholdBytes: ZBytes }),
  pending_restart: z.object({ reasons: ZWirePendingRestartReason }),
  /** The loop's decision sentence changed (compared with digits ignored, so countdowns do not count). */
  decision_changed: z.object({
    verdict: z.string().min(1).max(64),
    reason: z.string().max(4096),
    actions: z.array(z.string().max(256)).max(64),
    previousReason: z.string().max(4096).nullable(),
  }),
  /** I took the leader lock (acquire transaction succeeded). */
  lock_acquired: z.object({ ttlSeconds: z.number().nonnegative() }),
  /** A renewal found the leader lock no longer mine, or could not reach the DCS while holding it. */
  lock_lost: z.object({ error: z.string().max(4096), lastRenewedAt: ZAt.nullable() }),
  /** The leader key of another member disappeared (its lease expired or was revoked, or it released it). */
  leader_key_gone: z.object({ previousLeader: ZName }),
  /**
   * PostgreSQL here was promoted. `lsn`: my WAL position when I promoted; `leaderLsn`: the best known
   * position of the previous leader (/status optime, its member key), `behindBytes` the difference
   * (null: unknown).
   */
  promoted: z.object({
    previousLeader: ZName.nullable(),
    timeline: z.number().int().nullable(),
    lsn: ZLsn.nullable(),
    leaderLsn: ZLsn.nullable(),
    behindBytes: ZBytes.nullable(),
  }),
  /** PostgreSQL here stopped being a primary (mode: graceful, immediate, immediate-nolock, offline). */
  demoted: z.object({ mode: z.string().max(32), lastLsn: ZLsn.nullable() }),
  /**
   * The old primary stopped taking writes because its lease was (about to be) lost. The proof: the
   * lease was last renewed at `leaseRenewedAt` (so it expires at `leaseExpiresAt`), the agent judged it
   * lost at `lostAt`, and the postmaster was confirmed stopped at `stoppedAt` (`stopMs` after lostAt,
   * before leaseExpiresAt when `beforeExpiry`). `lastLsn`: the last WAL position this primary reported
   * (its last commit/flush as far as the agent saw), null when unknown.
   */
  fenced: z.object({
    by: z.enum(['guard', 'lock_lost', 'dcs_unreachable']),
    leaseRenewedAt: ZAt.nullable(),
    leaseExpiresAt: ZAt.nullable(),
    lostAt: ZAt,
    stoppedAt: ZAt,
    stopMs: z.number().nonnegative(),
    beforeExpiry: z.boolean().nullable(),
    lastLsn: ZLsn.nullable(),
  }),
  rewind_started: z.object({ from: ZName }),
  /** `ok` false: pg_rewind failed (error says why; a re-clone usually follows). */
  rewind_done: z.object({ from: ZName, ok: z.boolean(), rewound: z.boolean().nullable(), seconds: z.number().nonnegative(), error: z.string().max(4096).nullable() }),
  /** A clone or reinitialize from another member: started, done or failed. */
  reclone: z.object({
    kind: z.enum(['clone', 'reinitialize']),
    from: ZName,
    phase: z.enum(['started', 'done', 'failed']),
    seconds: z.number().nonnegative().nullable(),
    error: z.string().max(4096).nullable(),
  }),
} satisfies Record<TAgentEventType, z.ZodType>;

/**
 * What caused an event, as far as the agent knows: the HA loop decision it acted on (verdict and
 * sentence) and/or the control-plane operation it was running (the command's operation id).
 */
export const ZEventCause = z.object({
  verdict: z.string().min(1).max(64).optional(),
  decision: z.string().max(4096).optional(),
  operationId: ZOperationId.optional(),
});
export type TEventCause = z.infer<typeof ZEventCause>;

function eventOf<K extends TAgentEventType>(event: K) {
  return z.object({
    type: z.literal('event'),
    seq: ZSeq,
    ...ZSender,
    at: ZAt,
    event: z.literal(event),
    /** One human sentence for the incident timeline, e.g. "pg1 promoted to primary (failover from pg0)". */
    summary: z.string().max(1024),
    details: eventDetails[event],
    cause: ZEventCause.optional(),
  });
}

export const ZAgentEvent = z.discriminatedUnion('event', [
  eventOf('role_change'),
  eventOf('failover'),
  eventOf('switchover'),
  eventOf('postgres_down'),
  eventOf('postgres_up'),
  eventOf('dcs_unreachable'),
  eventOf('dcs_back'),
  eventOf('lag_above_threshold'),
  eventOf('lag_back'),
  eventOf('pending_restart'),
  eventOf('decision_changed'),
  eventOf('lock_acquired'),
  eventOf('lock_lost'),
  eventOf('leader_key_gone'),
  eventOf('promoted'),
  eventOf('demoted'),
  eventOf('fenced'),
  eventOf('rewind_started'),
  eventOf('rewind_done'),
  eventOf('reclone'),
]);
export type TAgentEvent = z.infer<typeof ZAgentEvent>;
/** The details object of one event type. */
export type TAgentEventDetails<K extends TAgentEventType> = Extract<TAgentEvent, { event: K }>['details'];

const ZOperationKind = z.enum(OPERATION_KINDS);

/** The progress of an operation the agent accepted: every step so far (the latest last). */
export const ZOperationProgress = z.object({
  type: z.literal('operation_progress'),
  seq: ZSeq,
  ...ZSender,
  at: ZAt,
  operationId: ZOperationId,
  op: ZOperationKind,
  /** All steps so far, oldest first (a later progress message supersedes an earlier one). */
  steps: z.array(ZOperationStep).min(1).max(64),
});
export type TOperationProgress = z.infer<typeof ZOperationProgress>;

/** How an operation ended. Exactly one per operation (re-sent with a new seq for a duplicate command). */
export const ZOperationResult = z.object({
  type: z.literal('operation_result'),
  seq: ZSeq,
  ...ZSender,
  at: ZAt,
  operationId: ZOperationId,
  /** null only when refusing a command whose op could not be read. */
  op: ZOperationKind.nullable(),
  outcome: z.enum(['succeeded', 'failed']),
  /** Patroni's text: "Successfully switched over to \"pg1\"", "restart conditions are not satisfied: ...". */
  message: z.string().max(4096),
  /** Failed only: the domain error code (the HTTP status the REST API would have answered: httpStatus). */
  code: z.enum(OPERATION_ERROR_CODES).optional(),
  httpStatus: z.number().int().min(100).max(599).optional(),
  /** Failed config validation: every problem. */
  problems: z.array(z.string().max(1024)).max(64).optional(),
  data: ZOperationResultData.optional(),
  steps: z.array(ZOperationStep).max(64),
});
export type TOperationResult = z.infer<typeof ZOperationResult>;

export const ZAgentMessage = z.discriminatedUnion('type', [ZHello, ZSnapshot, ZAgentEvent, ZOperationProgress, ZOperationResult]);
export type TAgentMessage = z.infer<typeof ZAgentMessage>;
/** The messages that carry a seq, are buffered by the agent and acknowledged by the server. */
export type TSequencedMessage = TSnapshot | TAgentEvent | TOperationProgress | TOperationResult;

// ---------------------------------------------------------------------------------------------
// server -> agent

export const ZWelcome = z.object({
  type: z.literal('welcome'),
  v: z.literal(AGENT_PROTOCOL_VERSION),
  /** The highest seq stored for this member (0: none). The agent replays from ackedSeq + 1. */
  ackedSeq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type TWelcome = z.infer<typeof ZWelcome>;

export const ZAck = z.object({
  type: z.literal('ack'),
  /** Cumulative: every message with seq <= this one is stored (or was a duplicate). */
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type TAck = z.infer<typeof ZAck>;

export const SERVER_ERROR_CODES = [
  /** Unknown, revoked or wrong-cluster token, or a token not issued for this member; a message naming another member or cluster. */
  'unauthorized',
  /** Not JSON, unknown message type, or a field of the wrong shape. */
  'malformed',
  /** Well-formed but not allowed here: hello not first, a second hello, a sequenced message before welcome. */
  'invalid',
  /** hello.v is a protocol version the server does not speak. */
  'unsupported_version',
  /** A frame above MAX_MESSAGE_BYTES. */
  'too_large',
  /** Another connection now speaks for the same member; this one is closed. */
  'replaced',
  /** The agent did not say hello in time. */
  'timeout',
  /** The server is shutting down; reconnect later. */
  'shutting_down',
  /** The server could not store the message (its database is down, ...); reconnect later. */
  'internal',
  /** The connection sent more messages than the server's per-connection rate limit allows. */
  'rate_limited',
] as const;
export type TServerErrorCode = (typeof SERVER_ERROR_CODES)[number];

export const ZServerError = z.object({
  type: z.literal('error'),
  code: z.enum(SERVER_ERROR_CODES),
  /** A human sentence naming the problem (for a malformed message: the bad field). */
  message: z.string().max(4096),
});
export type TServerError = z.infer<typeof ZServerError>;

/** An operation the control plane asks this agent to run (see "Operations" above and ops.ts). */
export const ZCommandMessage = z.object({
  type: z.literal('command'),
  command: ZCommand,
});
export type TCommandMessage = z.infer<typeof ZCommandMessage>;

export const ZServerMessage = z.discriminatedUnion('type', [ZWelcome, ZAck, ZServerError, ZCommandMessage]);
export type TServerMessage = z.infer<typeof ZServerMessage>;

// ---------------------------------------------------------------------------------------------
// parsing

export type TParseResult<T> =
  | { ok: true; message: T }
  | {
      ok: false;
      /** The error code the server answers with. */
      code: Extract<TServerErrorCode, 'malformed' | 'too_large' | 'unsupported_version'>;
      /** A human sentence naming the bad field, e.g. "lag.replayBytes: expected a number, got a string". */
      error: string;
    };

/** Parse one text frame from an agent (the server decodes binary frames as UTF-8 first). */
export function parseAgentMessage(raw: string): TParseResult<TAgentMessage> {
  return parseWith(ZAgentMessage, raw, 'agent');
}

/** Parse one text frame from the server. */
export function parseServerMessage(raw: string): TParseResult<TServerMessage> {
  return parseWith(ZServerMessage, raw, 'server');
}

/** UTF-8 length of a string, without Node's Buffer (this package also runs in the browser). */
export function utf8Bytes(s: string): number {
  return new TextEncoder().encode(s).length;
}

function parseWith<T>(schema: z.ZodType<T>, raw: string, side: 'agent' | 'server'): TParseResult<T> {
  // Every UTF-16 code unit is 1 to 3 UTF-8 bytes: measure only when the answer is in doubt.
  const bytes = raw.length * 3 <= MAX_MESSAGE_BYTES ? 0 : raw.length > MAX_MESSAGE_BYTES ? raw.length : utf8Bytes(raw);
  if (bytes > MAX_MESSAGE_BYTES) {
    return { ok: false, code: 'too_large', error: `message of ${bytes} bytes exceeds the maximum of ${MAX_MESSAGE_BYTES} bytes` };
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    return { ok: false, code: 'malformed', error: `message is not valid JSON: ${(e as Error).message}` };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, code: 'malformed', error: 'message must be a JSON object with a "type" field' };
  }
  const v = (data as Record<string, unknown>).v;
  const type = (data as Record<string, unknown>).type;
  if ((type === 'hello' || type === 'welcome') && typeof v === 'number' && v !== AGENT_PROTOCOL_VERSION) {
    return { ok: false, code: 'unsupported_version', error: `protocol version ${v} is not supported (this ${side === 'agent' ? 'server' : 'agent'} speaks v${AGENT_PROTOCOL_VERSION})` };
  }
  const r = schema.safeParse(data);
  if (r.success) return { ok: true, message: r.data };
  return { ok: false, code: 'malformed', error: describeIssues(r.error, type) };
}

function describeIssues(error: z.ZodError, type: unknown): string {
  const parts = error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.map(String).join('.');
    const where = path === '' ? 'message' : path;
    return `${where}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  const typeIsBad = error.issues.some((issue) => issue.path.length === 1 && issue.path[0] === 'type');
  const prefix = typeof type === 'string' && !typeIsBad ? `${type} message: ` : '';
  return `${prefix}${parts.join('; ')}${more}`;
}

/** Serialize one message (the sending side's counterpart of parse*Message). */
export function encodeMessage(message: TAgentMessage | TServerMessage): string {
  return JSON.stringify(message);
}
