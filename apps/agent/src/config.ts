/**
 * Keel's configuration loader: reads a Patroni YAML file unchanged.
 *
 * - Keys Keel implements are typed and validated (see config/types.ts for the result).
 * - Keys Patroni knows but Keel does not implement yet are accepted with a warning
 *   ("<path>: accepted but not implemented by Keel yet; ignored"); the table is config/patroni-keys.ts.
 * - Anything else is an error with a did-you-mean suggestion.
 * - PATRONI_* environment variables override the file, as in Patroni (config/env.ts).
 * Every problem is reported at once in a ConfigError; no message ever carries a secret value.
 */

import { readFileSync } from 'node:fs';
import { applyEnvOverrides } from './config/env.ts';
import { ConfigError, Problems } from './config/problems.ts';
import { isObj } from './config/read.ts';
import { buildAgentConfig } from './config/validate.ts';
import { readYaml } from './config/yaml.ts';
import type { LoadedConfig } from './config/types.ts';

export type * from './config/types.ts';
export { ConfigError } from './config/problems.ts';
export { redactConfig, REDACTED } from './config/redact.ts';
export {
  DYNAMIC_DEFAULTS,
  DYNAMIC_MINIMUMS,
  KEEL_DYNAMIC_KEYS,
  validateDynamicConfig,
  withDynamicDefaults,
  type EffectiveDynamicConfig,
} from './config/dynamic.ts';
export { DEFAULT_NAMESPACE, defaultPgpass, normalizeNamespace } from './config/validate.ts';
export { formatHostPort, parseHostsPort } from './config/address.ts';

/** Parses YAML text; `sourceName` names the file in messages. Throws ConfigError listing every problem. */
export function parseConfig(yamlText: string, sourceName: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const yaml = readYaml(yamlText);
  if (yaml.errors.length > 0) throw new ConfigError(sourceName, yaml.errors);
  const root = yaml.value === undefined || yaml.value === null ? {} : yaml.value;
  const origins = isObj(root) ? applyEnvOverrides(root, env) : new Map<string, string>();
  const problems = new Problems(origins);
  const config = buildAgentConfig(problems, root);
  if (problems.errors.length > 0) throw new ConfigError(sourceName, problems.errors);
  return { config, warnings: [...yaml.warnings, ...problems.warnings] };
}

/** Reads and parses a configuration file. Throws ConfigError (also when the file cannot be read). */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(path, [`cannot read the configuration file${code ? ` (${code})` : ''}`]);
  }
  return parseConfig(text, path, env);
}
