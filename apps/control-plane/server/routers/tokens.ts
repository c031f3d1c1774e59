import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { ZCreateAgentToken, createAgentToken } from '../services/create-agent-token.ts';
import { listAgentTokens } from '../services/list-agent-tokens.ts';
import { revokeAgentToken } from '../services/revoke-agent-token.ts';
import { roleProcedure, router } from '../trpc.ts';

const adminProcedure = roleProcedure('admin');

export const tokensRouter = router({
  list: adminProcedure.input(z.object({ scope: z.string().optional() }).optional()).query(({ ctx, input }) => listAgentTokens(ctx.db, input?.scope)),

  /** Returns the token itself once; only its hash is kept. */
  create: adminProcedure.input(ZCreateAgentToken).mutation(({ ctx, input }) => createAgentToken(ctx.db, input, { id: ctx.actor.userId, name: ctx.actor.email })),

  revoke: adminProcedure.input(z.object({ id: z.uuid() })).mutation(async ({ ctx, input }) => {
    const r = await revokeAgentToken(ctx.db, input.id, { id: ctx.actor.userId, name: ctx.actor.email });
    if (!r) throw new TRPCError({ code: 'NOT_FOUND', message: 'There is no such token.' });
    // A revoked token stops working at once, not at the agent's next reconnect.
    const disconnected = ctx.presence.disconnectToken?.(input.id, `the agent token was revoked at ${r.revokedAt}`) ?? 0;
    return { ...r, disconnected };
  }),
});
