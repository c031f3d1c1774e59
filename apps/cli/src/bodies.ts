import { buildOperationRequest, OperationError } from '@keel/protocol';
import { usageError } from './errors.ts';

/**
 * Every body keelctl sends is built through the agent's own schema (packages/protocol ops.ts): what the
 * agent would refuse is a usage error here, before anything is sent.
 */
export function requestBody<S extends Parameters<typeof buildOperationRequest>[0], B extends Parameters<typeof buildOperationRequest<S>>[1]>(schema: S, body: B): B {
  try {
    return buildOperationRequest(schema, body) as B;
  } catch (e) {
    if (e instanceof OperationError) throw usageError(e.message);
    throw e;
  }
}
