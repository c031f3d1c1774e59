import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { ZCreateUser, UserExistsError, createUser } from '../services/create-user.ts';
import { listUsers } from '../services/list-users.ts';
import { LastAdminError, setUserRole } from '../services/set-user-role.ts';
import { ZRole } from '../lib/roles.ts';
import { ZGrantClusterRole, ZSetUserDisabled, grantClusterRole, listClusterGrants, setUserDisabled } from '../services/manage-users.ts';
import { roleProcedure, router } from '../trpc.ts';

const adminProcedure = roleProcedure('admin');

export const usersRouter = router({
  list: adminProcedure.query(({ ctx }) => listUsers(ctx.db)),

  create: adminProcedure.input(ZCreateUser).mutation(async ({ ctx, input }) => {
    try {
      return await createUser(ctx.db, input, { id: ctx.actor.userId, name: ctx.actor.email });
    } catch (e) {
      if (e instanceof UserExistsError) throw new TRPCError({ code: 'CONFLICT', message: e.message });
      throw e;
    }
  }),

  setRole: adminProcedure.input(z.object({ userId: z.string().min(1), role: ZRole })).mutation(async ({ ctx, input }) => {
    try {
      const u = await setUserRole(ctx.db, input.userId, input.role, { id: ctx.actor.userId, name: ctx.actor.email });
      if (!u) throw new TRPCError({ code: 'NOT_FOUND', message: 'There is no such user.' });
      return u;
    } catch (e) {
      if (e instanceof LastAdminError) throw new TRPCError({ code: 'BAD_REQUEST', message: e.message });
      throw e;
    }
  }),

  /** Disable (sessions, API tokens and live feeds stop at once) or enable a user. */
  setDisabled: adminProcedure.input(ZSetUserDisabled).mutation(({ ctx, input }) => setUserDisabled(ctx, ctx.actor, input)),

  /** Grant a role on one cluster (role null: remove the grant). */
  grantClusterRole: adminProcedure.input(ZGrantClusterRole).mutation(({ ctx, input }) => grantClusterRole(ctx, ctx.actor, input)),
  grants: adminProcedure.query(({ ctx }) => listClusterGrants(ctx, ctx.actor)),
});
