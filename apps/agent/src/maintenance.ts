import { effectiveParameters, rewriteCurrentConfig } from './pgconfig.ts';
import { readPgSettings } from './ops/pg-parameters.ts';
import { restartBlocker, runRestart } from './ops/restart-member.ts';
import type { Runtime } from './runtime.ts';

/**
 * Work the loop does after publishing, outside the HA decision: apply PostgreSQL parameter
 * changes from the DCS /config (reload; parameters that need a restart then show as
 * pending_restart), and start a scheduled restart when it is due.
 */
export async function maintain(rt: Runtime): Promise<void> {
  if (rt.memory.inFlight || !rt.lastProbe?.running || rt.stopping) return;
  // pg_settings, for checking the values of a /config read from etcd (adopt-config.ts), once per server start
  if (!rt.pgSettings || rt.pgSettingsStart !== rt.lastProbe.postmasterStartTime) {
    if (await readPgSettings(rt)) rt.pgSettingsStart = rt.lastProbe.postmasterStartTime;
  }
  const params = JSON.stringify(effectiveParameters(rt));
  if (params !== rt.appliedParametersJson) {
    const first = rt.appliedParametersJson === null;
    await rewriteCurrentConfig(rt);
    await rt.pg.reload();
    rt.appliedParametersJson = params;
    if (!first) rt.log.info('applied changed PostgreSQL parameters (reload)');
  }
  const s = rt.scheduledRestart;
  if (s && Date.parse(s.schedule) <= Date.now()) {
    rt.scheduledRestart = null;
    rt.lastMemberJson = null;
    const h = rt.ops.handle(s.operationId) ?? rt.ops.start('restart', 'scheduled restart', { id: s.operationId });
    const blocker = restartBlocker(rt, s);
    if (blocker) {
      rt.log.info({ reason: blocker }, 'scheduled restart skipped: conditions are not satisfied');
      h.cancel(`conditions are not satisfied: ${blocker}`);
      return;
    }
    h.setState('running');
    h.step('scheduled time reached');
    void runRestart(rt, s, h).then(
      () => h.succeed('restarted successfully'),
      (e: Error) => h.fail(e.message),
    );
  }
}
