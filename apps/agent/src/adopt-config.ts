import type { ClusterSnapshot } from '@keel/dcs';
import { resolveSettingsExplained } from '@keel/ha-core';
import { adoptDynamicConfig } from './config/check-config.ts';
import type { Runtime } from './runtime.ts';

/**
 * Adopt the DCS /config (each tick, after a successful read): the same checks as PATCH /config,
 * but a bad value is skipped with a logged reason and the last good value stays; a corrupt key is
 * treated as absent. Then the timing rule (ha-core) gives the effective settings. Each change is
 * judged and logged once (again when pg_settings first becomes known, for the value checks).
 */
export function adoptConfigFromDcs(rt: Runtime, snap: ClusterSnapshot): void {
  for (const w of snap.warnings) {
    if (!rt.dcsWarningsSeen?.has(w)) rt.log.warn({ dcs: true }, `ignored a DCS value: ${w}`);
  }
  rt.dcsWarningsSeen = new Set(snap.warnings);

  const source = `${snap.config?.modRevision ?? 'none'}/${rt.pgSettings ? 'pg' : 'grammar'}/${rt.config.postgresql.allow_from_dcs.join(',')}`;
  if (source === rt.dynamicConfigSource) return;
  rt.dynamicConfigSource = source;
  if (snap.config) {
    const { config, skipped } = adoptDynamicConfig(snap.config.value, rt.dynamicConfig, {
      allowFromDcs: rt.config.postgresql.allow_from_dcs,
      pgSettings: rt.pgSettings ?? null,
    });
    for (const why of skipped) rt.log.warn({ dcs: '/config' }, `skipped a /config value: ${why}`);
    rt.dynamicConfig = config;
  }
  const { settings, notes } = resolveSettingsExplained(rt.dynamicConfig ?? rt.config.bootstrap.dcs ?? null);
  for (const note of notes) rt.log.warn({ dcs: '/config' }, `timing: ${note}`);
  rt.settings = settings;
}
