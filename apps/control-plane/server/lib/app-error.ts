/**
 * The one domain error. Services throw AppError(code, sentence); the tRPC error formatter and the
 * REST layer map the code once (TRPC_CODES, HTTP_STATUS): routers and handlers never catch and
 * re-throw per case.
 */
export const APP_ERROR_CODES = ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'precondition_failed', 'too_many_requests', 'unavailable'] as const;
export type TAppErrorCode = (typeof APP_ERROR_CODES)[number];

export class AppError extends Error {
  constructor(
    readonly code: TAppErrorCode,
    message: string,
    /** Extra machine-readable facts (e.g. why each member is not eligible). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const TRPC_CODES = {
  bad_request: 'BAD_REQUEST',
  unauthorized: 'UNAUTHORIZED',
  forbidden: 'FORBIDDEN',
  not_found: 'NOT_FOUND',
  conflict: 'CONFLICT',
  precondition_failed: 'PRECONDITION_FAILED',
  too_many_requests: 'TOO_MANY_REQUESTS',
  unavailable: 'SERVICE_UNAVAILABLE',
} as const satisfies Record<TAppErrorCode, string>;

export const HTTP_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  too_many_requests: 429,
  unavailable: 503,
} as const satisfies Record<TAppErrorCode, number>;

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
