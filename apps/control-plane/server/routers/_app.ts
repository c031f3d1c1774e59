/** The root router. The dashboard imports only `type AppRouter`; tests and scripts use createCaller. */
import { createCallerFactory, router } from '../trpc.ts';
import { alertsRouter } from './alerts.ts';
import { auditRouter } from './audit.ts';
import { authRouter } from './auth.ts';
import { clustersRouter } from './clusters.ts';
import { healthRouter } from './health.ts';
import { lagRouter } from './lag.ts';
import { tokensRouter } from './tokens.ts';
import { usersRouter } from './users.ts';
import { operationsRouter } from './operations.ts';
import { apiTokensRouter } from './api-tokens.ts';
import { policiesRouter } from './policies.ts';
import { incidentsRouter } from './incidents.ts';

export const appRouter = router({
  health: healthRouter,
  auth: authRouter,
  clusters: clustersRouter,
  lag: lagRouter,
  tokens: tokensRouter,
  users: usersRouter,
  audit: auditRouter,
  operations: operationsRouter,
  apiTokens: apiTokensRouter,
  policies: policiesRouter,
  incidents: incidentsRouter,
  alerts: alertsRouter,
});

export type AppRouter = typeof appRouter;

/** const caller = createCaller(createContext(deps, headers)); await caller.clusters.list() */
export const createCaller = createCallerFactory(appRouter);
