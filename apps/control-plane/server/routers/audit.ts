import { ZAuditFilter, listAudit } from '../services/list-audit.ts';
import { verifyAudit } from '../services/verify-audit.ts';
import { roleProcedure, router } from '../trpc.ts';

const adminProcedure = roleProcedure('admin');

export const auditRouter = router({
  /** Newest first, filtered by cluster, actor, actions, operation, time. */
  list: adminProcedure.input(ZAuditFilter.optional()).query(({ ctx, input }) => listAudit(ctx.db, ctx.actor, input ?? {})),

  /** Walk the hash chain and the signed digests; names the first broken entry. */
  verify: adminProcedure.query(({ ctx }) => verifyAudit(ctx.db, ctx.auditKey)),
});
