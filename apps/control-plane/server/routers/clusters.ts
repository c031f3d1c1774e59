import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { getCluster } from '../services/get-cluster.ts';
import { listClusters } from '../services/list-clusters.ts';
import { whatIfFailover } from '../services/what-if-failover.ts';
import type { TContext } from '../context.ts';
import { authedProcedure, router } from '../trpc.ts';

const viewOptions = (ctx: TContext) => ({ now: new Date(), staleAfterSeconds: ctx.env.KEEL_CP_STALE_AFTER_SECONDS, presence: ctx.presence });

export const clustersRouter = router({
  /** Every cluster with its health at a glance and its members. */
  list: authedProcedure.query(({ ctx }) => listClusters(ctx.db, viewOptions(ctx))),

  /** One cluster: members, health, recent events, failover/switchover history. */
  byScope: authedProcedure
    .input(z.object({ scope: z.string().min(1), events: z.number().int().min(1).max(500).optional() }))
    .query(async ({ ctx, input }) => {
      const c = await getCluster(ctx.db, input.scope, { ...viewOptions(ctx), ...(input.events ? { events: input.events } : {}) });
      if (!c) throw new TRPCError({ code: 'NOT_FOUND', message: `There is no cluster "${input.scope}".` });
      return c;
    }),

  /** What-if: member `dies` dies now. Who is promoted (or would be if the leader died next) and what it costs. */
  whatIf: authedProcedure
    .input(z.object({ scope: z.string().min(1).max(256), dies: z.string().min(1).max(256) }))
    .query(({ ctx, input }) => whatIfFailover(ctx.db, input.scope, input.dies, viewOptions(ctx))),
});
