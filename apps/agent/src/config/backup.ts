/**
 * Keel's `backup:` section (local YAML only, like every command Keel runs): which backup tool lists
 * the cluster's backups, for the status the leader reports to the control plane
 * (apps/agent/src/backup-status/). Exactly one of `pgbackrest` (a stanza) and `barman` (a server).
 *
 *   backup:
 *     pgbackrest:
 *       stanza: main
 *       command: pgbackrest --config=/etc/pgbackrest/pgbackrest.conf   # default: pgbackrest
 *     interval: 300   # seconds between checks (30..86400), default 300
 *     timeout: 60     # seconds a check may take (1..interval), default 60
 */
import { readCommand } from './methods.ts';
import { got, join, type Problems } from './problems.ts';
import { checkKeys, int, section, str, type Obj } from './read.ts';
import type { BackupCheckConfig } from './types.ts';

const TOOL_TARGET = { pgbackrest: 'stanza', barman: 'server' } as const;
const DEFAULT_INTERVAL = 300;
const DEFAULT_TIMEOUT = 60;

/** A stanza or server name: passed as one argument, so no spaces and no leading dash (it must not read as an option). */
function targetName(p: Problems, s: Obj, path: string, key: string): string | undefined {
  const v = str(p, s, path, key, { required: true });
  if (v === undefined) return undefined;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}$/.test(v)) {
    p.error(join(path, key), `expected a name of letters, digits, '_', '.' and '-' (not starting with '-')${got(join(path, key), v)}`);
    return undefined;
  }
  return v;
}

export function readBackup(p: Problems, r: Obj): BackupCheckConfig | undefined {
  const s = section(p, r, '', 'backup');
  if (!s) return undefined;
  checkKeys(p, s, 'backup', ['pgbackrest', 'barman', 'interval', 'timeout'], undefined);
  const tools = (['pgbackrest', 'barman'] as const).filter((t) => s[t] !== undefined && s[t] !== null);
  if (tools.length !== 1) {
    p.error('backup', tools.length ? 'set one of pgbackrest and barman, not both' : 'expected pgbackrest or barman (the tool that lists the backups)');
    return undefined;
  }
  const tool = tools[0]!;
  const path = `backup.${tool}`;
  const t = section(p, s, 'backup', tool);
  if (!t) return undefined;
  const targetKey = TOOL_TARGET[tool];
  checkKeys(p, t, path, [targetKey, 'command'], undefined);
  const target = targetName(p, t, path, targetKey);
  const argv = readCommand(p, path, t['command'], tool);
  const interval = int(p, s, 'backup', 'interval', { min: 30, max: 86_400 }) ?? DEFAULT_INTERVAL;
  const timeout = int(p, s, 'backup', 'timeout', { min: 1, max: 86_400 }) ?? Math.min(DEFAULT_TIMEOUT, interval);
  if (timeout > interval) p.error('backup.timeout', `must not be longer than backup.interval (${interval})${got('backup.timeout', timeout)}`);
  if (target === undefined || argv.length === 0) return undefined;
  return { tool, target, argv, interval, timeout };
}
