/** Alerts: rules, channels (admins), alerts and the delivery log (anyone signed in). */
import { z } from 'zod';
import { createChannel, deleteChannel, listAlerts, listChannels, listDeliveries, listRules, setChannelEnabled, setRule, ZCreateChannel, ZSetChannelEnabled, ZSetRule } from '../services/manage-alerts.ts';
import { authedProcedure, router } from '../trpc.ts';

const ZTake = z.number().int().min(1).max(500).optional();

export const alertsRouter = router({
  list: authedProcedure.input(z.object({ cluster: z.string().min(1).max(256).optional(), take: ZTake }).default({})).query(({ ctx, input }) => listAlerts(ctx, input)),
  deliveries: authedProcedure.input(z.object({ take: ZTake }).default({})).query(({ ctx, input }) => listDeliveries(ctx, input)),
  rules: authedProcedure.query(({ ctx }) => listRules(ctx)),
  setRule: authedProcedure.input(ZSetRule).mutation(({ ctx, input }) => setRule(ctx, ctx.actor, input)),
  channels: authedProcedure.query(({ ctx }) => listChannels(ctx, ctx.actor)),
  createChannel: authedProcedure.input(ZCreateChannel).mutation(({ ctx, input }) => createChannel(ctx, ctx.actor, input)),
  setChannelEnabled: authedProcedure.input(ZSetChannelEnabled).mutation(({ ctx, input }) => setChannelEnabled(ctx, ctx.actor, input)),
  deleteChannel: authedProcedure.input(z.object({ id: z.uuid() })).mutation(({ ctx, input }) => deleteChannel(ctx, ctx.actor, input)),
});
