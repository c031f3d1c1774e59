import { z } from 'zod';
import { verifyAudit } from '../services/verify-audit.ts';
import { roleProcedure, router } from '../trpc.ts';

const adminProcedure = roleProcedure('admin');

export const auditRouter = router({
  /** Newest first. */
  list: adminProcedure
    .input(z.object({ limit: z.number().int().min(1).max(500).default(100), before: z.string().regex(/^\d+$/).optional() }).optional())
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.auditLog.findMany({
        where: input?.before ? { id: { lt: BigInt(input.before) } } : {},
        orderBy: { id: 'desc' },
        take: input?.limit ?? 100,
        select: { id: true, at: true, actor: true, action: true, target: true, details: true, hash: true },
      });
      return rows.map((r) => ({ ...r, id: String(r.id), at: r.at.toISOString() }));
    }),

  /** Walk the hash chain; names the first broken entry. */
  verify: adminProcedure.query(({ ctx }) => verifyAudit(ctx.db)),
});
