import { OPERATION_ERROR_HTTP, type OperationError, type TCommand, type TOperationResult, type TOperationStep } from '@keel/protocol';
import { asOperationError, type OperationMeta, type Running } from '../ops/operation.ts';
import { patchConfig, putConfig, setPause } from '../ops/patch-config.ts';
import { reinitializeMember } from '../ops/reinitialize-member.ts';
import { reloadLocalConfig } from '../ops/reload-config.ts';
import { cancelSwitchover, requestSwitchover } from '../ops/request-switchover.ts';
import { cancelScheduledRestart, restartMember } from '../ops/restart-member.ts';
import type { OpsRuntime } from '../runtime.ts';
import type { TOperationBody } from './operation-messages.ts';

/** How many operation ids the agent remembers for deduplication (see agent-messages.ts, "Operations"). */
export const REMEMBERED_OPERATIONS = 1000;

type ResultBody = Omit<TOperationResult, 'seq'>;

/** The services a command can call: the same functions the REST routes call (ops/). */
export type CommandRunner = (command: TCommand, meta: OperationMeta) => Promise<Running>;

/** Dispatch a command to its service. */
export function runCommand(rt: OpsRuntime): CommandRunner {
  return (c, meta) => {
    switch (c.op) {
      case 'switchover':
      case 'failover':
        return requestSwitchover(rt, c.op, c.request, meta);
      case 'restart':
        return restartMember(rt, c.request, meta);
      case 'cancel_restart':
        return cancelScheduledRestart(rt, meta);
      case 'cancel_switchover':
        return cancelSwitchover(rt, meta);
      case 'reinitialize':
        return reinitializeMember(rt, c.request, meta);
      case 'reload':
        return reloadLocalConfig(rt, meta);
      case 'pause':
      case 'resume':
        return setPause(rt, c.op === 'pause', meta);
      case 'patch_config':
        return patchConfig(rt, c.request, meta);
      case 'put_config':
        return putConfig(rt, c.request, meta);
    }
  };
}

/**
 * The uplink's command handler: runs each control-plane command through the same service as the REST
 * API, at most once per operation id, and streams its steps (`operation_progress`) and its end
 * (`operation_result`) as sequenced messages through the outbound buffer, so they survive a reconnect.
 */
export class CommandHandler {
  /** id -> the result once finished (null while it runs); insertion order = age. */
  private readonly seen = new Map<string, ResultBody | null>();

  constructor(
    private readonly run: CommandRunner,
    private readonly send: (body: TOperationBody) => void,
    private readonly log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void },
    private readonly now: () => number = Date.now,
  ) {}

  /** Never throws and never waits (called from the socket's message handler). */
  handle(c: TCommand): void {
    if (this.seen.has(c.id)) {
      const result = this.seen.get(c.id);
      this.log.info({ operation: c.id, op: c.op, finished: result !== null }, 'duplicate command: not run again');
      if (result) this.send({ ...result, at: this.at() });
      return;
    }
    this.remember(c.id);
    this.log.info({ operation: c.id, op: c.op, reason: c.reason, ticket: c.ticket, requestedBy: c.requestedBy }, `command ${c.op} received`);
    if (c.notAfter && Date.parse(c.notAfter) < this.now()) {
      this.finish(c, { outcome: 'failed', code: 'unavailable', message: `the command arrived after its deadline (${c.notAfter}) and was not run` }, []);
      return;
    }
    void this.execute(c);
  }

  private async execute(c: TCommand): Promise<void> {
    const meta = { id: c.id, reason: c.reason, ticket: c.ticket, requestedBy: c.requestedBy };
    let running: Running;
    try {
      running = await this.run(c, meta);
    } catch (e) {
      const err = asOperationError(e, `${c.op} failed`);
      this.finish(c, failure(err), []);
      return;
    }
    const progress = (steps: TOperationStep[]) =>
      this.send({ type: 'operation_progress', at: this.at(), operationId: c.id, op: c.op, steps: steps.slice(-64) });
    progress(running.op.op.steps);
    const off = running.op.onChange((op) => progress(op.steps));
    try {
      const o = await running.done;
      off();
      this.finish(c, { outcome: 'succeeded', message: o.message, data: o.data }, running.op.op.steps);
    } catch (e) {
      off();
      this.finish(c, failure(asOperationError(e, `${c.op} failed`)), running.op.op.steps);
    }
  }

  private finish(c: TCommand, r: Pick<ResultBody, 'outcome' | 'message' | 'code' | 'problems' | 'data'>, steps: TOperationStep[]): void {
    const result: ResultBody = { type: 'operation_result', at: this.at(), operationId: c.id, op: c.op, ...r, steps: steps.slice(-64) };
    if (r.code) result.httpStatus = OPERATION_ERROR_HTTP[r.code];
    for (const k of ['code', 'problems', 'data'] as const) if (result[k] === undefined) delete result[k];
    if (this.seen.has(c.id)) this.seen.set(c.id, result);
    this.log.info({ operation: c.id, op: c.op, outcome: r.outcome }, r.message);
    this.send(result);
  }

  private remember(id: string): void {
    this.seen.set(id, null);
    if (this.seen.size <= REMEMBERED_OPERATIONS) return;
    // Forget the oldest finished operation; ones still running are kept whatever their age.
    for (const [k, v] of this.seen) {
      if (v !== null) {
        this.seen.delete(k);
        return;
      }
    }
  }

  private at(): string {
    return new Date(this.now()).toISOString();
  }
}

function failure(err: OperationError): Pick<ResultBody, 'outcome' | 'message' | 'code' | 'problems'> {
  return { outcome: 'failed', message: err.message.slice(0, 4096), code: err.code, ...(err.problems ? { problems: err.problems.slice(0, 64) } : {}) };
}
