'use client';
/** The browser's tRPC client: `const trpc = useTRPC(); useQuery(trpc.clusters.list.queryOptions())`. */
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { AppRouter } from '../server/routers/_app.ts';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();
export type { AppRouter };
