import { writableRevision } from '@keel/dcs';
import { rewriteCurrentConfig } from '../pgconfig.ts';
import type { Runtime } from '../runtime.ts';
import { syncValue, writeSync } from '../sync-state.ts';
import type { Executor } from './index.ts';

/** How long to wait for PostgreSQL to report a new synchronous standby as 'sync' (Patroni sleeps 2 s). */
const SYNC_WAIT_MS = 2000;

async function setStandbyNames(rt: Runtime, value: string | null): Promise<void> {
  if (rt.syncStandbyNames === value && rt.lastProbe?.synchronousStandbyNames === value) return;
  rt.syncStandbyNames = value;
  await rewriteCurrentConfig(rt);
  await rt.pg.reload();
}

/** The names PostgreSQL reports as synchronous, among `names`, waiting up to `ms` for all of them. */
async function confirmedSync(rt: Runtime, names: readonly string[], ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await rt.pg.probe();
    const sync = names.filter((n) => (p.replication ?? []).some((r) => r.application_name === n && r.sync_state === 'sync'));
    if (sync.length === names.length || Date.now() >= deadline) return sync.sort();
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Patroni's process_sync_replication, in its order: first drop from /sync whoever is no longer picked
 * (a member listed there may promote, so it must still be synchronous), then set
 * synchronous_standby_names, then add to /sync only the standbys PostgreSQL reports as 'sync'.
 */
const syncStandbys: Executor<'syncStandbys'> = async (rt, a) => {
  const me = rt.config.name;
  const sync = rt.lastCluster?.sync ?? null;
  const rev = { current: writableRevision(rt.lastCluster, 'sync') };
  const listed = sync?.value.leader === me ? (sync.value.sync_standby ?? '').split(',').filter((n) => n.length > 0) : [];

  if (a.standbyNames === null) {
    // synchronous_mode was switched off: stop managing the parameter, empty /sync.
    await setStandbyNames(rt, null);
    if (sync !== null && sync.value.leader) await writeSync(rt, { leader: null, sync_standby: null }, rev);
    rt.log.info('synchronous replication disabled');
    return;
  }

  const keep = listed.filter((n) => a.names.includes(n));
  if (sync === null || sync.value.leader !== me || keep.length !== listed.length) {
    await writeSync(rt, syncValue(me, keep), rev);
    if (keep.length !== listed.length) rt.log.info({ from: listed, to: keep }, 'synchronous standbys: removed from /sync');
  }
  if (rt.syncStandbyNames !== a.standbyNames || rt.lastProbe?.synchronousStandbyNames !== a.standbyNames) {
    await setStandbyNames(rt, a.standbyNames);
    rt.log.info({ synchronous_standby_names: a.standbyNames }, 'synchronous standbys: set synchronous_standby_names');
  }
  const confirmed = a.names.length > 0 ? await confirmedSync(rt, a.names, SYNC_WAIT_MS) : [];
  const now = [...keep].sort();
  if (confirmed.join(',') !== now.join(',')) {
    await writeSync(rt, syncValue(me, confirmed), rev);
    rt.log.info({ sync_standby: confirmed }, 'synchronous standbys: /sync updated');
  }
};

export const syncExecutors = { syncStandbys };
