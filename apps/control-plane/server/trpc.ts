/**
 * tRPC: the procedure builders the routers use, and nothing else.
 *   publicProcedure          anyone (health, auth.me)
 *   authedProcedure          any signed-in user (viewer and up)
 *   roleProcedure('admin')   a signed-in user with at least that role (viewer < operator < approver < admin)
 * A procedure that fails because the control plane's database is unreachable answers
 * SERVICE_UNAVAILABLE with a sentence saying so.
 */
import { TRPCError, initTRPC } from '@trpc/server';
import { ZodError } from 'zod';
import type { TContext, TCtxUser } from './context.ts';
import { hasRole, type TRole } from './lib/roles.ts';

export const DB_UNAVAILABLE_MESSAGE = "The control plane cannot reach its database right now. Clusters keep running; this page will recover when the database is back.";

const t = initTRPC.context<TContext>().create({
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        zodError: error.cause instanceof ZodError ? error.cause.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) : null,
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const databaseGuard = t.middleware(async ({ ctx, next }) => {
  const result = await next();
  if (!result.ok && !(result.error.code === 'SERVICE_UNAVAILABLE') && ctx.dbHealth.report(result.error.cause ?? result.error)) {
    throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: DB_UNAVAILABLE_MESSAGE, cause: result.error });
  }
  return result;
});

export const publicProcedure = t.procedure.use(databaseGuard);

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const user = await ctx.getUser();
  if (!user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  return next({ ctx: { user } });
});

export function roleProcedure(required: TRole) {
  return authedProcedure.use(({ ctx, next }) => {
    const user: TCtxUser = ctx.user;
    if (!hasRole(user.role, required)) {
      throw new TRPCError({ code: 'FORBIDDEN', message: `This needs the ${required} role; you are ${user.role}.` });
    }
    return next();
  });
}
