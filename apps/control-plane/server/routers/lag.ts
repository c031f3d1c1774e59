import { TRPCError } from '@trpc/server';
import { ZLagSeriesInput, getLagSeries } from '../services/get-lag-series.ts';
import { authedProcedure, router } from '../trpc.ts';

export const lagRouter = router({
  /** Lag over [from, to) for a cluster or one member: raw samples for short recent ranges, one-minute buckets beyond. */
  series: authedProcedure.input(ZLagSeriesInput).query(async ({ ctx, input }) => {
    const s = await getLagSeries(ctx.db, input, { now: new Date(), rawRetentionHours: ctx.env.KEEL_CP_RAW_RETENTION_HOURS });
    if (!s) throw new TRPCError({ code: 'NOT_FOUND', message: `There is no cluster "${input.scope}".` });
    return s;
  }),
});
