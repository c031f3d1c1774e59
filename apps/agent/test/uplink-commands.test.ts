import { OperationError, type TCommand } from '@keel/protocol';
import { describe, expect, it } from 'vitest';
import type { OperationMeta, Outcome, Running } from '../src/ops/operation.ts';
import { OperationRegistry } from '../src/ops/registry.ts';
import { CommandHandler, REMEMBERED_OPERATIONS, type CommandRunner } from '../src/uplink/commands.ts';
import type { TOperationBody } from '../src/uplink/operation-messages.ts';

const quiet = { info: () => undefined, warn: () => undefined };
const flush = () => new Promise((r) => setTimeout(r, 0));

/** A runner over a real registry whose operations the test finishes by hand. */
function harness() {
  const ops = new OperationRegistry();
  const sent: TOperationBody[] = [];
  const runs: Array<{ command: TCommand; meta: OperationMeta; resolve: (o: Outcome) => void; reject: (e: unknown) => void }> = [];
  let refuse: OperationError | null = null;
  const run: CommandRunner = async (command, meta) => {
    if (refuse) throw refuse;
    const op = ops.start(command.op, `${command.op} requested`, { id: meta.id, reason: meta.reason });
    let resolve!: (o: Outcome) => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<Outcome>((res, rej) => {
      resolve = (o) => {
        op.succeed(o.message);
        res(o);
      };
      reject = (e) => {
        op.fail((e as Error).message);
        rej(e);
      };
    });
    runs.push({ command, meta, resolve, reject });
    return { op, early: null, done } satisfies Running;
  };
  const handler = new CommandHandler(run, (b) => sent.push(b), quiet, () => Date.parse('2026-01-01T00:00:00Z'));
  return { ops, sent, runs, handler, refuseWith: (e: OperationError | null) => (refuse = e) };
}

const restart = (id: string, extra: Partial<TCommand> = {}): TCommand => ({ id, op: 'restart', request: { restart_pending: false }, ...extra }) as TCommand;

describe('CommandHandler', () => {
  it('runs a command once, streams its steps, and ends with one result carrying the data', async () => {
    const h = harness();
    h.handler.handle(restart('op-1', { reason: 'kernel update', requestedBy: 'alice' }));
    await flush();
    expect(h.runs).toHaveLength(1);
    expect(h.runs[0]!.meta).toEqual({ id: 'op-1', reason: 'kernel update', ticket: undefined, requestedBy: 'alice' });
    h.ops.handle('op-1')!.step('stopping PostgreSQL (fast)');
    h.runs[0]!.resolve({ httpStatus: 200, message: 'restarted successfully', data: { leader: 'pg0' } });
    await flush();
    const progress = h.sent.filter((m) => m.type === 'operation_progress');
    expect(progress.at(-1)).toMatchObject({ operationId: 'op-1', op: 'restart' });
    expect(progress[1]!.type === 'operation_progress' && progress[1]!.steps.map((s) => s.message)).toEqual(['restart requested', 'stopping PostgreSQL (fast)']);
    const results = h.sent.filter((m) => m.type === 'operation_result');
    expect(results).toEqual([
      expect.objectContaining({ operationId: 'op-1', op: 'restart', outcome: 'succeeded', message: 'restarted successfully', data: { leader: 'pg0' } }),
    ]);
    expect(h.sent.at(-1)!.type).toBe('operation_result');
  });

  it('never runs an id twice: a duplicate while running sends nothing, after the end it re-sends the result', async () => {
    const h = harness();
    h.handler.handle(restart('op-2'));
    await flush();
    const before = h.sent.length;
    h.handler.handle(restart('op-2'));
    await flush();
    expect(h.runs).toHaveLength(1);
    expect(h.sent.length).toBe(before);
    h.runs[0]!.reject(new OperationError('unavailable', 'restart failed: boom'));
    await flush();
    h.handler.handle(restart('op-2'));
    await flush();
    expect(h.runs).toHaveLength(1);
    const results = h.sent.filter((m) => m.type === 'operation_result');
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ outcome: 'failed', code: 'unavailable', httpStatus: 503, message: 'restart failed: boom' });
    expect(results[1]).toEqual(results[0]);
  });

  it('reports a refusal with its code, HTTP status and problems, and never runs a command past its deadline', async () => {
    const h = harness();
    h.refuseWith(new OperationError('invalid', 'invalid configuration, nothing was written', ['loop_wait: expected a number']));
    h.handler.handle({ id: 'op-3', op: 'patch_config', request: { loop_wait: 'x' } });
    await flush();
    expect(h.sent).toEqual([
      expect.objectContaining({ type: 'operation_result', operationId: 'op-3', outcome: 'failed', code: 'invalid', httpStatus: 400, problems: ['loop_wait: expected a number'], steps: [] }),
    ]);
    h.refuseWith(null);
    h.handler.handle(restart('op-4', { notAfter: '2025-12-31T23:59:00Z' }));
    await flush();
    expect(h.runs).toHaveLength(0);
    expect(h.sent.at(-1)).toMatchObject({ operationId: 'op-4', outcome: 'failed', code: 'unavailable', message: expect.stringMatching(/deadline/) });
  });

  it(`remembers the last ${REMEMBERED_OPERATIONS} finished ids`, async () => {
    const h = harness();
    h.refuseWith(new OperationError('conflict', 'no'));
    for (let i = 0; i <= REMEMBERED_OPERATIONS; i++) {
      h.handler.handle(restart(`op-${i}`));
      await flush(); // finished (refused): only finished ids are ever forgotten
    }
    h.refuseWith(null);
    h.handler.handle(restart(`op-${REMEMBERED_OPERATIONS}`)); // still remembered: not run
    h.handler.handle(restart('op-0')); // forgotten: runs
    await flush();
    expect(h.runs.map((r) => r.command.id)).toEqual(['op-0']);
  });
});
