import { z } from 'zod';
import { parsePatroniBool, ZPendingRestartReason, ZTags } from './dcs-values.ts';
import { MEMBER_STATES } from './member-status.ts';
import { ZFailoverOutcome } from './peer.ts';

/**
 * Operations on a member: the request bodies of the agent's REST API (Patroni's paths and bodies),
 * the commands the control plane sends over the agent WebSocket, and their results. keelctl, the
 * agent's REST routes and its uplink command handler all parse with these schemas; nothing is parsed
 * by hand.
 *
 * Every request schema accepts exactly what Patroni 3.0.2's api.py accepts (and Patroni 3.x/4's newer
 * spellings): `leader` or `master`, `candidate` or `member`, role `master` or `primary`, any value of
 * `restart_pending` read with Python truthiness, `force` read with Patroni's parse_bool, and an empty
 * body where Patroni allows one (restart, reinitialize, reload). Outputs are normalised: `leader`,
 * `candidate`, role `primary`, booleans. Semantic checks that need the cluster (is the candidate
 * healthy, is the schedule in the future, is the cluster paused) belong to the agent's services, which
 * answer them with an `OperationError` (below) carrying Patroni's status code and text.
 */

// ---------------------------------------------------------------------------------------------
// Patroni's value readers

/** Python's truthiness, as Patroni applies it to `restart_pending`: "True", "false", 1 are all true. */
export function pythonTruthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (typeof v === 'number') return !Number.isNaN(v);
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** "15.4" -> 150004, "9.6.24" -> 90624 (Patroni's postgres_version_to_int); null when unparsable. */
export function postgresVersionNumber(v: string): number | null {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(v.trim());
  if (!m) return null;
  const major = Number(m[1]);
  if (major >= 10) return major * 10000 + Number(m[2] ?? 0);
  return major * 10000 + Number(m[2] ?? 0) * 100 + Number(m[3] ?? 0);
}

/** A body where Patroni allows none: absent, empty or whitespace-only reads as {}. */
function optionalBody<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === undefined || v === '' || (typeof v === 'string' && v.trim() === '') ? {} : v), schema);
}

const JSON_OBJECT = 'the body must be a JSON object';
/** Non-empty trimmed string, or undefined for "", whitespace and null (Python's `x or y`). */
const ZName = z
  .union([z.string().max(256), z.null()], { error: 'expected a member name (a string)' })
  .optional()
  .transform((s) => (typeof s === 'string' && s.trim() ? s.trim() : undefined));

/** Patroni's role filters: `master` (Patroni 3), `primary` (Patroni 3.1+, Keel) and `replica`. */
export const ZRoleFilter = z
  .enum(['master', 'primary', 'replica'], { error: 'PostgreSQL role should be either primary (master) or replica' })
  .transform((r): 'primary' | 'replica' => (r === 'replica' ? 'replica' : 'primary'));

// ---------------------------------------------------------------------------------------------
// requests

/**
 * POST /switchover and POST /failover. Patroni: `leader = request.get('leader') or request.get('master')`,
 * `candidate = request.get('candidate') or request.get('member')`; a body is required (an empty or
 * missing body is 400). `scheduled_at` is checked by the service (Patroni: no timezone 400, in the past
 * or unparsable 422). Unknown keys are ignored like Patroni does.
 */
export const ZSwitchoverRequest = z
  .looseObject(
    { leader: ZName, master: ZName, candidate: ZName, member: ZName, scheduled_at: z.union([z.string().max(64), z.null()]).optional() },
    { error: JSON_OBJECT },
  )
  .transform((b) => {
    const out: { leader?: string; candidate?: string; scheduled_at?: string } = {};
    const leader = b.leader ?? b.master;
    const candidate = b.candidate ?? b.member;
    if (leader) out.leader = leader;
    if (candidate) out.candidate = candidate;
    if (typeof b.scheduled_at === 'string' && b.scheduled_at.trim()) out.scheduled_at = b.scheduled_at.trim();
    return out;
  });
export type TSwitchoverRequest = z.output<typeof ZSwitchoverRequest>;
/** POST /failover: the same body (Patroni shares the handler); the candidate is required by the service. */
export const ZFailoverRequest = ZSwitchoverRequest;
export type TFailoverRequest = TSwitchoverRequest;

/**
 * POST /restart, Patroni's conditions. Empty body allowed. Unknown keys are refused (Patroni: "Unknown
 * filter for the scheduled restart"). `timeout` is seconds, a number or a string like "30" / "30s".
 * `restart_pending`: Patroni 3.0.2 restarts only when a restart is pending as soon as the key is present,
 * whatever its value (`"True"`, `true`, even `false`: ha.restart tests `'restart_pending' in data`);
 * Keel reads it the same way, so every body Patroni accepts means what it means there.
 */
export const ZRestartRequest = optionalBody(
  z
    .record(z.string(), z.unknown(), { error: JSON_OBJECT })
    .superRefine((b, ctx) => {
      for (const k of Object.keys(b))
        if (!['restart_pending', 'role', 'postgres_version', 'timeout', 'schedule'].includes(k))
          ctx.addIssue({ code: 'custom', path: [k], message: `unknown restart condition: ${k}` });
    })
    .transform((b) => ({ ...b, restart_pending: 'restart_pending' in b }))
    .pipe(
      z.object({
        restart_pending: z.boolean(),
        role: ZRoleFilter.optional(),
        postgres_version: z
          .string({ error: 'postgres_version: expected a version like "15.4"' })
          .refine((v) => postgresVersionNumber(v) !== null, { error: (i) => `postgres_version: expected a version like "15.4", got ${JSON.stringify(i.input)}` })
          .optional(),
        timeout: z
          .union([z.number(), z.string()])
          .transform((t) => (typeof t === 'string' ? Number(t.trim().replace(/s$/, '')) : t))
          .refine((t) => Number.isFinite(t) && t > 0, { error: 'timeout: expected a positive number of seconds' })
          .optional(),
        schedule: z.string({ error: 'schedule: expected an ISO 8601 timestamp' }).max(64).optional(),
      }),
    ),
);
export type TRestartRequest = z.output<typeof ZRestartRequest>;

/** POST /reinitialize. Empty body allowed; `force` and `from_leader` read with Patroni's parse_bool. */
export const ZReinitializeRequest = optionalBody(
  z
    .looseObject({ force: z.unknown().optional(), from_leader: z.unknown().optional() }, { error: JSON_OBJECT })
    .transform((b) => ({ force: parsePatroniBool(b.force) === true, from_leader: parsePatroniBool(b.from_leader) === true })),
);
export type TReinitializeRequest = z.output<typeof ZReinitializeRequest>;

/** POST /reload: Patroni never reads the body; any body (or none) is accepted. */
export const ZReloadRequest = z.unknown().transform((): Record<string, never> => ({}));
export type TReloadRequest = z.output<typeof ZReloadRequest>;

/**
 * PATCH /config: an RFC 7386 JSON merge patch of the dynamic configuration (null deletes a key).
 * What the merged document may contain is checked by the agent's config validation, not here.
 */
export const ZConfigPatch = z.record(z.string(), z.unknown(), { error: 'the body must be a JSON object (a JSON merge-patch of /config)' });
export type TConfigPatch = z.output<typeof ZConfigPatch>;
/** PUT /config: the whole dynamic configuration. */
export const ZConfigPut = z.record(z.string(), z.unknown(), { error: JSON_OBJECT });
export type TConfigPut = z.output<typeof ZConfigPut>;

/** Pause and resume (patronictl sends PATCH /config {"pause": true|null}); no parameters of their own. */
export const ZPauseRequest = z.object({}).loose().transform((): Record<string, never> => ({}));
export type TPauseRequest = z.output<typeof ZPauseRequest>;

/** RFC 7386 JSON merge patch (the one implementation: the agent and the control plane's preview). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// node status (GET /patroni, the body of every health check)

/**
 * GET /patroni as Keel answers and as peers read it. Role: Keel writes Patroni 3's `master` for the
 * primary (Patroni 3 clients do not know `primary`; Patroni 4 reads both), and reads both.
 */
export const ZNodeStatus = z.looseObject({
  state: z.union([z.enum(MEMBER_STATES), z.string()]),
  postmaster_start_time: z.string().optional(),
  role: z.string(),
  server_version: z.number().optional(),
  xlog: z
    .looseObject({
      location: z.number().optional(),
      received_location: z.number().optional(),
      replayed_location: z.number().optional(),
      replayed_timestamp: z.string().nullable().optional(),
      paused: z.boolean().optional(),
    })
    .optional(),
  sync_standby: z.boolean().optional(),
  quorum_standby: z.boolean().optional(),
  replication_state: z.string().optional(),
  timeline: z.number().optional(),
  replication: z.array(z.record(z.string(), z.unknown())).optional(),
  cluster_unlocked: z.boolean().optional(),
  failsafe_mode_is_active: z.boolean().optional(),
  pause: z.boolean().optional(),
  dcs_last_seen: z.number().optional(),
  tags: ZTags.optional(),
  database_system_identifier: z.string().optional(),
  pending_restart: z.boolean().optional(),
  pending_restart_reason: ZPendingRestartReason.optional(),
  watchdog_failed: z.boolean().optional(),
  patroni: z.looseObject({ version: z.string(), scope: z.string(), name: z.string().optional() }),
  keel: z
    .looseObject({
      verdict: z.string().optional(),
      reason: z.string().optional(),
      loop_at: z.string().optional(),
      last_failure: z.object({ action: z.string(), error: z.string(), at: z.string() }).optional(),
      failover_outcomes: z.array(ZFailoverOutcome).optional(),
    })
    .optional(),
});
export type TNodeStatusBody = z.output<typeof ZNodeStatus>;

/**
 * The role vocabulary. Inside Keel (and towards the control plane) the primary is `primary`. Where
 * Patroni's tools and scripts read it (GET /patroni and every health-check body, members/<name>, the
 * callbacks' second argument) Keel writes `master`, as Patroni 3.0.2 does: Patroni 3 clients do not
 * know `primary`, and Patroni 4 reads `master` from older members. Keel reads both spellings.
 */
export function patroniRole<R extends string>(role: R): R | 'master' {
  return role === 'primary' ? 'master' : role;
}

/** `primary` for both spellings of the primary's role (Patroni 3 `master`, Patroni 4 / Keel `primary`). */
export function normaliseRole(role: string): string {
  return role === 'master' ? 'primary' : role;
}

// ---------------------------------------------------------------------------------------------
// errors and results

/**
 * The domain errors of every operation, one closed vocabulary. The agent maps each to one HTTP status
 * (OPERATION_ERROR_HTTP, Patroni's codes); the control plane maps the same codes to tRPC and REST.
 */
export const OPERATION_ERROR_CODES = [
  /** The request is malformed or names something impossible (HTTP 400). */
  'invalid',
  /** Nothing to act on: no scheduled restart, no scheduled switchover (404). */
  'not_found',
  /** Another request or write got there first (409). */
  'conflict',
  /** The cluster's state does not allow it now: no healthy candidate, restart order (412). */
  'precondition_failed',
  /** Well-formed but unusable: a schedule in the past or unparsable (422). */
  'unprocessable',
  /** Patroni's 500 answers to a request refused by the mode: "Can't schedule restart in the pause mode" (500). */
  'refused',
  /** This member cannot do it now: PostgreSQL down, DCS unreachable, action in progress, timed out (503). */
  'unavailable',
] as const;
export type TOperationErrorCode = (typeof OPERATION_ERROR_CODES)[number];
export const OPERATION_ERROR_HTTP: Record<TOperationErrorCode, number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  unprocessable: 422,
  refused: 500,
  unavailable: 503,
};

/** A refused or failed operation: the code, Patroni's text, and for config validation every problem. */
export class OperationError extends Error {
  constructor(
    readonly code: TOperationErrorCode,
    message: string,
    readonly problems?: string[],
  ) {
    super(message);
    this.name = 'OperationError';
  }
  get httpStatus(): number {
    return OPERATION_ERROR_HTTP[this.code];
  }
}

/** The first problem of a zod error as one sentence (the text a 400 answers with). */
export function describeRequestError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  if (issue.code === 'custom' || issue.path.length === 0) return issue.message;
  const path = issue.path.map(String).join('.');
  return issue.message.startsWith(`${path}:`) ? issue.message : `${path}: ${issue.message}`;
}

/** Parse a request with its schema; a bad one is an OperationError('invalid') naming the problem. */
export function parseOperationRequest<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body);
  if (!r.success) throw new OperationError('invalid', describeRequestError(r.error));
  return r.data;
}

/**
 * Build a request body for a client (keelctl, the control plane): the body is checked with the same
 * schema the agent parses it with and returned as written (an OperationError('invalid') names a problem).
 */
export function buildOperationRequest<T extends z.ZodType>(schema: T, body: z.input<T>): z.input<T> {
  parseOperationRequest(schema, body);
  return body;
}

/** Parse a peer's GET /patroni body; null when it is not one. */
export function parseNodeStatus(text: string): TNodeStatusBody | null {
  try {
    const r = ZNodeStatus.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export const OPERATION_KINDS = [
  'switchover',
  'failover',
  'restart',
  'cancel_restart',
  'cancel_switchover',
  'reinitialize',
  'reload',
  'pause',
  'resume',
  'patch_config',
  'put_config',
] as const;
export type TOperationKind = (typeof OPERATION_KINDS)[number];

export const ZOperationStep = z.object({ at: z.iso.datetime({ offset: true }), message: z.string().max(1024) });
export type TOperationStep = z.infer<typeof ZOperationStep>;

/** What a finished operation says beyond its message (each field only where it applies). */
export const ZOperationResultData = z.object({
  /** switchover / failover: the member that now runs as the primary. */
  leader: z.string().max(256).optional(),
  /** A scheduled switchover or restart: when it will run (ISO 8601). */
  scheduledAt: z.string().max(64).optional(),
  /** patch_config / put_config: the /config now stored. */
  config: z.record(z.string(), z.unknown()).optional(),
  /** reload: warnings about the re-read YAML. */
  warnings: z.array(z.string().max(1024)).max(64).optional(),
});
export type TOperationResultData = z.infer<typeof ZOperationResultData>;

// ---------------------------------------------------------------------------------------------
// commands (control plane -> agent)

/**
 * Identifies one operation everywhere (control-plane row, command, progress, result, the agent's
 * dedup table): the idempotency key. The control plane generates it (a UUID) once per request.
 */
export const ZOperationId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'operation ids are letters, digits and . _ : -');

const commandBase = {
  id: ZOperationId,
  /** Why (required by the control plane's UI; optional in the protocol). Logged and shown in steps. */
  reason: z.string().max(2048).optional(),
  /** A ticket reference such as "CHG-1234". */
  ticket: z.string().max(256).optional(),
  /** Who asked (a control-plane user name or token name), for the agent's log. */
  requestedBy: z.string().max(256).optional(),
  /**
   * The agent refuses the command when it arrives after this time (ISO 8601): a command delayed in a
   * buffer or a slow socket never runs later by surprise.
   */
  notAfter: z.iso.datetime({ offset: true }).optional(),
};

/** One operation the control plane asks an agent to run, with the same request bodies as REST. */
export const ZCommand = z.discriminatedUnion('op', [
  z.object({ ...commandBase, op: z.literal('switchover'), request: ZSwitchoverRequest }),
  z.object({ ...commandBase, op: z.literal('failover'), request: ZFailoverRequest }),
  z.object({ ...commandBase, op: z.literal('restart'), request: ZRestartRequest }),
  z.object({ ...commandBase, op: z.literal('cancel_restart') }),
  z.object({ ...commandBase, op: z.literal('cancel_switchover') }),
  z.object({ ...commandBase, op: z.literal('reinitialize'), request: ZReinitializeRequest }),
  z.object({ ...commandBase, op: z.literal('reload') }),
  z.object({ ...commandBase, op: z.literal('pause') }),
  z.object({ ...commandBase, op: z.literal('resume') }),
  z.object({ ...commandBase, op: z.literal('patch_config'), request: ZConfigPatch }),
  z.object({ ...commandBase, op: z.literal('put_config'), request: ZConfigPut }),
]);
export type TCommand = z.output<typeof ZCommand>;
/** What the control plane builds before sending (request bodies in their input spelling). */
export type TCommandInput = z.input<typeof ZCommand>;

// compile-time: every command op is an operation kind and vice versa
type _OpsCovered = [TCommand['op']] extends [TOperationKind] ? ([TOperationKind] extends [TCommand['op']] ? true : never) : never;
const _opsCovered: _OpsCovered = true;
void _opsCovered;
