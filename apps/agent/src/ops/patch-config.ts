import { mergePatch, OperationError, type TConfigPatch, type TConfigPut, type TOperationKind } from '@keel/protocol';
import { writableRevision } from '@keel/dcs';
import { checkConfigUpdate, type ConfigCheck } from '../config/check-config.ts';
import type { OpsRuntime } from '../runtime.ts';
import { begin, type OperationMeta, type Running } from './operation.ts';
import { PG_SETTINGS_SQL, type PgSetting } from './pg-parameters.ts';

/** pg_settings of the running server (read here, not cached: the services do not write the agent's state). */
async function pgSettings(rt: OpsRuntime): Promise<Map<string, PgSetting> | null> {
  try {
    const rows = await rt.pg.query<PgSetting>(PG_SETTINGS_SQL);
    return new Map(rows.map((r) => [r.name, r]));
  } catch {
    return null;
  }
}

/** Validate a complete dynamic configuration (config/check-config.ts); `current`: the /config a PATCH merges into. */
async function checkConfig(rt: OpsRuntime, candidate: unknown, current?: unknown): Promise<ConfigCheck> {
  const settings = await pgSettings(rt);
  const check = checkConfigUpdate(candidate, { allowFromDcs: rt.config.postgresql.allow_from_dcs, pgSettings: settings, ...(current === undefined ? {} : { current }) });
  if (check.ok) for (const w of [...check.warnings, ...check.kept]) rt.log.warn({ config: '/config' }, w);
  return check;
}

function refuse(bad: { status: number; problems: string[] }): never {
  throw new OperationError(bad.status === 503 ? 'unavailable' : 'invalid', 'invalid configuration, nothing was written', bad.problems);
}

/** PATCH /config (patronictl edit-config, pause, resume): merge, validate completely, write with the read revision. */
export function patchConfig(rt: OpsRuntime, patch: TConfigPatch, meta: OperationMeta = {}, kind: TOperationKind = 'patch_config'): Promise<Running> {
  return begin(rt, kind, meta, `${kind === 'patch_config' ? 'PATCH /config' : kind} requested`, async () => {
    const snap = await rt.dcs.readCluster().catch(() => null);
    if (!snap) throw new OperationError('unavailable', 'the DCS is unreachable');
    // an unreadable /config (not JSON, wrong types) is patched as if empty: the write replaces it
    if (!snap.config && snap.unreadable?.config === undefined) throw new OperationError('unavailable', 'the cluster has no /config yet');
    const current = snap.config?.value ?? {};
    const check = await checkConfig(rt, mergePatch(current, patch), current);
    if (!check.ok) refuse(check);
    const merged = check.config as Record<string, unknown>;
    const ok = await rt.dcs.setConfig(check.config, writableRevision(snap, 'config')).catch(() => null);
    if (ok === null) throw new OperationError('unavailable', 'the DCS is unreachable');
    if (!ok) throw new OperationError('conflict', 'the configuration was changed concurrently; read it again and retry');
    rt.wake();
    const message = kind === 'pause' ? 'cluster management paused' : kind === 'resume' ? 'cluster management resumed' : 'configuration changed';
    return { httpStatus: 200, message, json: merged, data: { config: merged } };
  });
}

/** PUT /config: replace the whole dynamic configuration, validated like a patch. */
export function putConfig(rt: OpsRuntime, body: TConfigPut, meta: OperationMeta = {}): Promise<Running> {
  return begin(rt, 'put_config', meta, 'PUT /config requested', async () => {
    const check = await checkConfig(rt, body);
    if (!check.ok) refuse(check);
    const ok = await rt.dcs.setConfig(check.config).catch(() => null);
    if (!ok) throw new OperationError('unavailable', 'the DCS is unreachable');
    rt.wake();
    const config = check.config as Record<string, unknown>;
    return { httpStatus: 200, message: 'configuration replaced', json: config, data: { config } };
  });
}

/** patronictl pause / resume send PATCH /config {"pause": true | null}; the control plane's pause/resume do the same. */
export function setPause(rt: OpsRuntime, paused: boolean, meta: OperationMeta = {}): Promise<Running> {
  return patchConfig(rt, { pause: paused ? true : null }, meta, paused ? 'pause' : 'resume');
}
