/** What the admin routers answer, as the browser sees it. */
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../lib/trpc.ts';

type TOutputs = inferRouterOutputs<AppRouter>;

export type TAgentToken = TOutputs['tokens']['list'][number];
export type TCreatedToken = TOutputs['tokens']['create'];
export type TUser = TOutputs['users']['list'][number];
export type TRole = TUser['role'];
export type TClusterGrant = TOutputs['users']['grants'][number];
export type TClusterPolicy = TOutputs['policies']['get'];

/** The token as lists show it: its prefix, never its secret. */
export function tokenPrefixLabel(prefix: string): string {
  return `keel_at_${prefix}_…`;
}
