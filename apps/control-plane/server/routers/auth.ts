import { publicProcedure, router } from '../trpc.ts';

export const authRouter = router({
  /** The signed-in user, or null. */
  me: publicProcedure.query(({ ctx }) => ctx.getUser()),
});
