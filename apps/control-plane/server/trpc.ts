/**
 * tRPC: the procedure builders the routers use, and nothing else.
 *   publicProcedure          anyone (health, auth.me)
 *   authedProcedure          any signed-in user or API token (ctx.actor)
 *   roleProcedure('admin')   an actor with at least that global role (viewer < operator < approver < admin)
 * Cluster roles are checked by the services (services/authorize.ts), for tRPC and REST alike.
 * Domain errors (AppError) are mapped to tRPC codes here, once. A procedure that fails because the
 * control plane's database is unreachable answers SERVICE_UNAVAILABLE with a sentence saying so.
 */
import { TRPCError, initTRPC } from '@trpc/server';
import { ZodError } from 'zod';
import type { TContext } from './context.ts';
import type { TActor } from './lib/actor.ts';
import { AppError, TRPC_CODES } from './lib/app-error.ts';
import type { TRole } from './lib/roles.ts';
import { authorizeGlobal } from './services/authorize.ts';

export const DB_UNAVAILABLE_MESSAGE = "The control plane cannot reach its database right now. Clusters keep running; this page will recover when the database is back.";

const t = initTRPC.context<TContext>().create({
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        zodError: error.cause instanceof ZodError ? error.cause.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) : null,
        details: error.cause instanceof AppError ? (error.cause.details ?? null) : null,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const errorGuard = t.middleware(async ({ ctx, next }) => {
  const result = await next();
  if (result.ok) return result;
  const cause = result.error.cause;
  if (cause instanceof AppError) throw new TRPCError({ code: TRPC_CODES[cause.code], message: cause.message, cause });
  if (cause instanceof ZodError && result.error.code === 'INTERNAL_SERVER_ERROR') {
    // a service's own parse of its input
    throw new TRPCError({ code: 'BAD_REQUEST', message: cause.issues.map((i) => `${i.path.map(String).join('.') || 'input'}: ${i.message}`).join('; '), cause });
  }
  if (!(result.error.code === 'SERVICE_UNAVAILABLE') && ctx.dbHealth.report(cause ?? result.error)) {
    throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: DB_UNAVAILABLE_MESSAGE, cause: result.error });
  }
  return result;
});

export const publicProcedure = t.procedure.use(errorGuard);

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const actor: TActor | null = await ctx.getActor();
  if (!actor) throw new AppError('unauthorized', 'Sign in first.');
  return next({ ctx: { actor } });
});

export function roleProcedure(required: TRole) {
  return authedProcedure.use(({ ctx, next }) => {
    authorizeGlobal(ctx.actor, required);
    return next();
  });
}
