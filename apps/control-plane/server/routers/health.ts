import { publicProcedure, router } from '../trpc.ts';

export const healthRouter = router({
  /** Is the control plane's own database reachable? (The page shows a banner when not.) */
  status: publicProcedure.query(({ ctx }) => ({
    database: ctx.dbHealth.current,
    staleAfterSeconds: ctx.env.KEEL_CP_STALE_AFTER_SECONDS,
    serverTime: new Date().toISOString(),
  })),
});
