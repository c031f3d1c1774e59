import type { AgentConfig } from './config.ts';
import { pinoLevel } from './log.ts';
import { rewriteCurrentConfig } from './pgconfig.ts';
import type { Runtime } from './runtime.ts';

/** Adopt a re-read local YAML (checked by the reload service): log level, pg_hba, tags, PostgreSQL parameters. */
export async function adoptLocalConfig(rt: Runtime, next: AgentConfig): Promise<void> {
  rt.config = next;
  rt.log.level = pinoLevel(next.log.level);
  if (next.postgresql.pg_hba ?? next.bootstrap.pg_hba.length) rt.pg.setPgHba(next.postgresql.pg_hba ?? next.bootstrap.pg_hba);
  rt.lastMemberJson = null; // tags may have changed
  if (rt.lastProbe?.running && !rt.memory.inFlight) {
    await rewriteCurrentConfig(rt);
    await rt.pg.reload();
    rt.appliedParametersJson = null;
  }
  rt.callbacks.fire('on_reload', rt.lastProbe?.role ?? 'replica');
  rt.wake();
}
