/** Incidents: thin procedures over services/ (which check roles per cluster and audit changes). */
import { z } from 'zod';
import { getIncident, incidentPostmortem } from '../services/get-incident.ts';
import { ZListIncidents, listIncidents } from '../services/list-incidents.ts';
import { ZAnnotateIncident, ZIncidentAction, annotateIncident, setIncidentStatus } from '../services/manage-incident.ts';
import { authedProcedure, router } from '../trpc.ts';

const ZGet = z.object({ id: z.string().min(1).max(32) });

export const incidentsRouter = router({
  list: authedProcedure.input(ZListIncidents).query(({ ctx, input }) => listIncidents(ctx, ctx.actor, input)),
  get: authedProcedure.input(ZGet).query(({ ctx, input }) => getIncident(ctx, ctx.actor, input.id)),
  postmortem: authedProcedure.input(ZGet).query(({ ctx, input }) => incidentPostmortem(ctx, ctx.actor, input.id)),
  acknowledge: authedProcedure.input(ZIncidentAction).mutation(({ ctx, input }) => setIncidentStatus(ctx, ctx.actor, 'acknowledge', input)),
  resolve: authedProcedure.input(ZIncidentAction).mutation(({ ctx, input }) => setIncidentStatus(ctx, ctx.actor, 'resolve', input)),
  annotate: authedProcedure.input(ZAnnotateIncident).mutation(({ ctx, input }) => annotateIncident(ctx, ctx.actor, input)),
});
