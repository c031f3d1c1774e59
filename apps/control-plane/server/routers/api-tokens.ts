/** The caller's own API tokens (admins may list and revoke everyone's). */
import { z } from 'zod';
import { ZCreateApiToken, createApiToken, listApiTokens, revokeApiToken } from '../services/manage-api-tokens.ts';
import { authedProcedure, router } from '../trpc.ts';

export const apiTokensRouter = router({
  list: authedProcedure.input(z.object({ all: z.boolean().default(false) }).optional()).query(({ ctx, input }) => listApiTokens(ctx.db, ctx.actor, input?.all ?? false)),
  /** Returns the token itself once; only its hash is kept. */
  create: authedProcedure.input(ZCreateApiToken).mutation(({ ctx, input }) => createApiToken(ctx.db, ctx.actor, input)),
  revoke: authedProcedure.input(z.object({ id: z.uuid() })).mutation(({ ctx, input }) => revokeApiToken(ctx.db, ctx.actor, input.id)),
});
