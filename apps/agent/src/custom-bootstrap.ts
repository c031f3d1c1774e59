/**
 * Patroni's custom bootstrap (bootstrap.method): a command from the local YAML creates the data
 * directory (e.g. `pgbackrest restore`) instead of initdb. Its recovery_conf, when given, is written
 * with recovery.signal for the first start (archive recovery, e.g. to a point in time); otherwise
 * recovery.signal/standby.signal are removed unless keep_existing_recovery_conf. Keel then waits for
 * PostgreSQL to leave recovery and rewrites its configuration without the recovery settings, so a
 * later restart never recovers to that target again.
 */

import type { BootstrapMethod } from './config.ts';
import { writePgConfig } from './pgconfig.ts';
import type { Runtime } from './runtime.ts';

/** The arguments after the command's own: --scope and --datadir unless no_params, then the options (Patroni's order). */
export function bootstrapMethodArgs(m: BootstrapMethod, ctx: { scope: string; dataDir: string }): string[] {
  const args = m.noParams ? [] : [`--scope=${ctx.scope}`, `--datadir=${ctx.dataDir}`];
  return [...args, ...m.options.map(([k, v]) => `--${k}=${v}`)];
}

/** Run the method and start PostgreSQL out of recovery, as a primary. */
export async function customBootstrap(rt: Runtime, m: BootstrapMethod, startTimeoutSec: number): Promise<void> {
  const { pg } = rt;
  await pg.ensureDataDir();
  rt.log.info({ method: m.name, command: m.argv[0] }, `running custom bootstrap script ${m.name}`);
  const r = await pg.runCommand([...m.argv, ...bootstrapMethodArgs(m, { scope: rt.config.scope, dataDir: pg.dataDir })]);
  if (r.code !== 0) {
    const out = (r.stderr + '\n' + r.stdout).trim().split('\n').slice(-8).join('\n');
    throw new Error(`custom bootstrap ${m.name} failed: ${m.argv[0]} exited with ${r.code === null ? `signal ${r.signal}` : `code ${r.code}`}: ${out}`);
  }
  if ((await pg.dataDirState().catch(() => 'unusable')) !== 'initialized') {
    throw new Error(`custom bootstrap ${m.name}: ${m.argv[0]} exited with code 0 but left no PostgreSQL data directory in ${pg.dataDir}`);
  }
  if (m.recoveryConf) {
    await pg.removeRecoverySignals();
    await writePgConfig(rt, null, { recovery: m.recoveryConf, recoverySignal: true });
  } else if (m.keepExistingRecoveryConf) {
    await writePgConfig(rt, null, { keepSignals: true });
  } else {
    await pg.removeRecoverySignals();
    await writePgConfig(rt, null);
  }
  await pg.start({ timeoutSec: startTimeoutSec, wait: true });
  // No deadline of Keel's own: recovering a large archive takes as long as it takes (as in Patroni).
  // A recovery target with recovery_target_action = pause never ends: that is the operator's choice.
  rt.log.info({ method: m.name }, 'waiting for the end of recovery after the custom bootstrap');
  while (!(await pg.waitForRecoveryEnd(60_000))) {
    if (!(await pg.isRunning())) throw new Error(`custom bootstrap ${m.name}: PostgreSQL stopped during recovery (see its log)`);
    rt.log.info({ method: m.name }, 'still in recovery after the custom bootstrap');
  }
  // The recovery target must not apply to any later start.
  await writePgConfig(rt, null);
  await pg.reload();
  rt.log.info({ method: m.name }, `bootstrapped the cluster using ${m.name}`);
}
