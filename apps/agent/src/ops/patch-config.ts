import { mergePatch, OperationError, type TConfigPatch, type TConfigPut, type TOperationKind } from '@keel/protocol';
import { validateDynamicConfig } from '../config.ts';
import type { OpsRuntime } from '../runtime.ts';
import { begin, type OperationMeta, type Running } from './operation.ts';
import { PG_SETTINGS_SQL, validateParameters, type PgSetting } from './pg-parameters.ts';

async function pgSettings(rt: OpsRuntime): Promise<Map<string, PgSetting> | null> {
  try {
    const rows = await rt.pg.query<PgSetting>(PG_SETTINGS_SQL);
    return new Map(rows.map((r) => [r.name, r]));
  } catch {
    return null;
  }
}

/** Validate a complete dynamic configuration: Keel's schema, the timing rule, PostgreSQL's catalogue. */
async function checkConfig(rt: OpsRuntime, candidate: unknown): Promise<{ status: number; problems: string[] } | null> {
  const { errors } = validateDynamicConfig(candidate);
  const problems = [...errors];
  const params = (candidate as { postgresql?: { parameters?: Record<string, unknown> } } | null)?.postgresql?.parameters;
  if (params && Object.keys(params).length) {
    const settings = await pgSettings(rt);
    if (!settings) return { status: 503, problems: [`cannot validate PostgreSQL parameters: PostgreSQL is not running on ${rt.config.name}; send the request to a running member`] };
    problems.push(...validateParameters(params, settings));
  }
  return problems.length ? { status: 400, problems } : null;
}

function refuse(bad: { status: number; problems: string[] }): never {
  throw new OperationError(bad.status === 503 ? 'unavailable' : 'invalid', 'invalid configuration, nothing was written', bad.problems);
}

/** PATCH /config (patronictl edit-config, pause, resume): merge, validate completely, write with the read revision. */
export function patchConfig(rt: OpsRuntime, patch: TConfigPatch, meta: OperationMeta = {}, kind: TOperationKind = 'patch_config'): Promise<Running> {
  return begin(rt, kind, meta, `${kind === 'patch_config' ? 'PATCH /config' : kind} requested`, async () => {
    const snap = await rt.dcs.readCluster().catch(() => null);
    if (!snap) throw new OperationError('unavailable', 'the DCS is unreachable');
    if (!snap.config) throw new OperationError('unavailable', 'the cluster has no /config yet');
    const merged = mergePatch(snap.config.value, patch) as Record<string, unknown>;
    const bad = await checkConfig(rt, merged);
    if (bad) refuse(bad);
    const ok = await rt.dcs.setConfig(merged as never, snap.config.modRevision).catch(() => null);
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
    const bad = await checkConfig(rt, body);
    if (bad) refuse(bad);
    const ok = await rt.dcs.setConfig(body as never).catch(() => null);
    if (!ok) throw new OperationError('unavailable', 'the DCS is unreachable');
    rt.wake();
    return { httpStatus: 200, message: 'configuration replaced', json: body, data: { config: body } };
  });
}

/** patronictl pause / resume send PATCH /config {"pause": true | null}; the control plane's pause/resume do the same. */
export function setPause(rt: OpsRuntime, paused: boolean, meta: OperationMeta = {}): Promise<Running> {
  return patchConfig(rt, { pause: paused ? true : null }, meta, paused ? 'pause' : 'resume');
}
