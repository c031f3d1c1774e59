import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { ZCreateUser, UserExistsError, createUser } from '../services/create-user.ts';
import { listUsers } from '../services/list-users.ts';
import { LastAdminError, setUserRole } from '../services/set-user-role.ts';
import { ZRole } from '../lib/roles.ts';
import { roleProcedure, router } from '../trpc.ts';

const adminProcedure = roleProcedure('admin');

export const usersRouter = router({
  list: adminProcedure.query(({ ctx }) => listUsers(ctx.db)),

  create: adminProcedure.input(ZCreateUser).mutation(async ({ ctx, input }) => {
    try {
      return await createUser(ctx.db, input, { id: ctx.user.id, name: ctx.user.email });
    } catch (e) {
      if (e instanceof UserExistsError) throw new TRPCError({ code: 'CONFLICT', message: e.message });
      throw e;
    }
  }),

  setRole: adminProcedure.input(z.object({ userId: z.string().min(1), role: ZRole })).mutation(async ({ ctx, input }) => {
    try {
      const u = await setUserRole(ctx.db, input.userId, input.role, { id: ctx.user.id, name: ctx.user.email });
      if (!u) throw new TRPCError({ code: 'NOT_FOUND', message: 'There is no such user.' });
      return u;
    } catch (e) {
      if (e instanceof LastAdminError) throw new TRPCError({ code: 'BAD_REQUEST', message: e.message });
      throw e;
    }
  }),
});
