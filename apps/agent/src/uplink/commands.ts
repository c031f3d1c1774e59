import { OPERATION_ERROR_HTTP, OPERATION_KINDS, type TOperationKind, type TOperationProgress, type TOperationResult } from '@keel/protocol';

/** An operation message before the buffer numbers it. */
export type TOperationBody = Omit<TOperationProgress, 'seq'> | Omit<TOperationResult, 'seq'>;

/** The id and op of a `command` frame that did not parse, so it can be refused by id; null otherwise. */
export function readCommandHeader(raw: string): { id: string; op: string | null } | null {
  try {
    const m = JSON.parse(raw) as { type?: unknown; command?: { id?: unknown; op?: unknown } };
    const id = m?.command?.id;
    if (m?.type !== 'command' || typeof id !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(id)) return null;
    return { id, op: typeof m.command?.op === 'string' ? m.command.op.slice(0, 64) : null };
  } catch {
    return null;
  }
}

/** The operation_result of a command that is refused before it runs (unreadable, or commands disabled). */
export function refusal(header: { id: string; op: string | null }, message: string, at: string): TOperationBody {
  const op = (OPERATION_KINDS as readonly string[]).includes(header.op ?? '') ? (header.op as TOperationKind) : null;
  return { type: 'operation_result', at, operationId: header.id, op, outcome: 'failed', code: 'invalid', httpStatus: OPERATION_ERROR_HTTP.invalid, message: message.slice(0, 4096), steps: [] };
}
