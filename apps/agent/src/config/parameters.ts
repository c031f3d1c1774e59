/**
 * Rules for PostgreSQL parameters that come from the DCS (bootstrap.dcs, /config, PATCH/PUT /config):
 * the GUC grammar, values that fit on one line, and the parameters that run commands, load code or
 * name files, which Keel takes only from the local YAML unless `postgresql.allow_from_dcs` lists them.
 * Whoever can write /config (the REST API, patronictl edit-config, etcdctl) must not be able to run
 * a command on every member (Patroni's PATCH /config command execution, patroni#1734).
 */

import { gucNameProblem, gucValueProblem } from '@keel/postgres';

export type PrivilegedKind = 'runs a command' | 'loads code' | 'names a file or directory';

const COMMANDS = new Set([
  'archive_command',
  'restore_command',
  'archive_cleanup_command',
  'recovery_end_command',
  'ssl_passphrase_command',
]);
const CODE = new Set([
  'archive_library',
  'shared_preload_libraries',
  'session_preload_libraries',
  'local_preload_libraries',
  'dynamic_library_path',
  'extension_control_path',
  'extension_destdir',
  'jit_provider',
]);
const PATHS = new Set([
  'data_directory',
  'config_file',
  'hba_file',
  'ident_file',
  'external_pid_file',
  'log_directory',
  'stats_temp_directory',
  'unix_socket_directories',
  'promote_trigger_file',
  'trigger_file',
  'krb_server_keyfile',
  'ssl_cert_file',
  'ssl_key_file',
  'ssl_ca_file',
  'ssl_crl_file',
  'ssl_crl_dir',
  'ssl_dh_params_file',
]);
/** Names that look like the patterns below but are harmless. */
const HARMLESS = new Set(['search_path', 'ssl_passphrase_command_supports_reload']);

/**
 * Why a parameter must come from the local YAML, or null. Known names first, then the patterns any
 * similar (or extension, `prefix.name`) parameter follows: *_command, *_library/*_libraries,
 * *_file, *_dir/*_directory/*_directories, *_path. log_filename is a path when it has a "/".
 */
export function privilegedKind(name: string, value?: unknown): PrivilegedKind | null {
  const lower = name.toLowerCase();
  if (HARMLESS.has(lower)) return null;
  if (COMMANDS.has(lower)) return 'runs a command';
  if (CODE.has(lower)) return 'loads code';
  if (PATHS.has(lower)) return 'names a file or directory';
  if (lower === 'log_filename') return typeof value === 'string' && value.includes('/') ? 'names a file or directory' : null;
  const last = lower.slice(lower.lastIndexOf('.') + 1);
  if (/_command$/.test(last)) return 'runs a command';
  if (/_librar(y|ies)$/.test(last)) return 'loads code';
  if (/(_file|_dir|_directory|_directories|_path)$/.test(last)) return 'names a file or directory';
  return null;
}

/** The message for a privileged parameter that came from the DCS without being allowed. */
export function notFromDcs(kind: PrivilegedKind, name: string): string {
  return `${kind}; Keel takes it only from the local YAML (postgresql.parameters), unless postgresql.allow_from_dcs lists "${name}"`;
}

/** Why a parameter name/value pair cannot be written to postgresql.conf, or null. */
export function parameterSyntaxProblem(name: string, value: unknown): string | null {
  return gucNameProblem(name) ?? gucValueProblem(value);
}

/**
 * Dynamic postgresql keys that run commands or name files in Patroni (a /config value would be
 * applied where the local YAML does not set it). Keel reads them only from the local YAML and
 * refuses them in the dynamic configuration.
 */
export const LOCAL_ONLY_COMMAND_KEYS = ['bin_dir', 'bin_name', 'callbacks', 'pre_promote', 'before_stop', 'custom_conf', 'config_base_name'] as const;
