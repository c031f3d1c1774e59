/** Per-cluster approval policies (admins change them; anyone may read them). */
import { z } from 'zod';
import { defaultApprovals } from '../lib/policy.ts';
import { OPERATION_TYPES } from '../lib/operation-types.ts';
import { ZSetPolicy, getClusterPolicy, setClusterPolicy } from '../services/manage-users.ts';
import { authorizeCluster } from '../services/authorize.ts';
import { authedProcedure, router } from '../trpc.ts';

export const policiesRouter = router({
  get: authedProcedure.input(z.object({ cluster: z.string().min(1) })).query(async ({ ctx, input }) => {
    await authorizeCluster(ctx.db, ctx.actor, input.cluster, 'viewer');
    const rules = await getClusterPolicy(ctx, input.cluster);
    const defaults = Object.fromEntries(OPERATION_TYPES.map((t) => [t, defaultApprovals(t, { touchesPrimary: true, needsRestart: true, changesTiming: true })]));
    return { cluster: input.cluster, rules, defaultsWhenRisky: defaults };
  }),
  set: authedProcedure.input(ZSetPolicy).mutation(({ ctx, input }) => setClusterPolicy(ctx, ctx.actor, input)),
});
