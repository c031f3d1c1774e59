/** Operations: thin procedures over services/ (which check roles per cluster). */
import { z } from 'zod';
import { ZOperationRequest } from '../lib/operation-types.ts';
import { ZApproveOperation, approveOperation } from '../services/approve-operation.ts';
import { ZCloseOperation, closeOperation } from '../services/close-operation.ts';
import { getOperation } from '../services/get-operation.ts';
import { ZListOperations, listOperations } from '../services/list-operations.ts';
import { previewOperation } from '../services/preview-operation.ts';
import { requestOperation } from '../services/request-operation.ts';
import { ZReviewOperation, reviewOperation } from '../services/review-operation.ts';
import { authedProcedure, router } from '../trpc.ts';

export const operationsRouter = router({
  /** What the request would do, computed like the agents would (nothing is stored). */
  preview: authedProcedure.input(ZOperationRequest).query(async ({ ctx, input }) => {
    const { request: _r, access: _a, ...preview } = await previewOperation(ctx, ctx.actor, input);
    return preview;
  }),
  request: authedProcedure.input(ZOperationRequest).mutation(({ ctx, input }) => requestOperation(ctx, ctx.actor, input)),
  /** Admins only: run without approval (flagged for review). */
  breakGlass: authedProcedure.input(ZOperationRequest).mutation(({ ctx, input }) => requestOperation(ctx, ctx.actor, input, { breakGlass: true })),
  approve: authedProcedure.input(ZApproveOperation).mutation(({ ctx, input }) => approveOperation(ctx, ctx.actor, input)),
  reject: authedProcedure.input(ZCloseOperation).mutation(({ ctx, input }) => closeOperation(ctx, ctx.actor, 'reject', input)),
  cancel: authedProcedure.input(ZCloseOperation).mutation(({ ctx, input }) => closeOperation(ctx, ctx.actor, 'cancel', input)),
  review: authedProcedure.input(ZReviewOperation).mutation(({ ctx, input }) => reviewOperation(ctx, ctx.actor, input)),
  get: authedProcedure.input(z.object({ id: z.string().min(1) })).query(({ ctx, input }) => getOperation(ctx, ctx.actor, input.id)),
  list: authedProcedure.input(ZListOperations).query(({ ctx, input }) => listOperations(ctx, ctx.actor, input)),
});
