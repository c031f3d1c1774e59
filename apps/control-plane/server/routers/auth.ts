import { clusterRoles } from '../services/authorize.ts';
import { publicProcedure, router } from '../trpc.ts';

export const authRouter = router({
  /** The caller, or null: global role, the role on each cluster where a grant raises it, channel. */
  me: publicProcedure.query(async ({ ctx }) => {
    const a = await ctx.getActor();
    if (!a) return null;
    return { id: a.userId, email: a.email, name: a.email, role: a.role, channel: a.channel, clusterRoles: await clusterRoles(ctx.db, a) };
  }),
});
