import { parseNodeStatus } from '@keel/protocol';
import type { Command } from 'commander';
import type { Register } from '../command.ts';
import type { Ctl } from '../context.ts';
import { CliError } from '../errors.ts';
import { membersWithRole, splitClusterArg, target } from '../members.ts';

export const KEELCTL_VERSION = '0.1.0';

/** PostgreSQL's server_version_num as patronictl prints it: 150018 -> "15.18", 90624 -> "9.6.24". */
export function formatPgVersion(v: number): string {
  if (v < 100000) return `${Math.floor(v / 10000)}.${Math.floor(v / 100) % 100}.${v % 100}`;
  return `${Math.floor(v / 10000)}.${v % 100}`;
}

/** "keelctl version X", then, when a cluster is configured, each member's agent and PostgreSQL versions. */
export async function version(ctl: Ctl, args: readonly string[]): Promise<void> {
  ctl.io.out(`keelctl version ${KEELCTL_VERSION}`);
  const { cluster, rest: names } = splitClusterArg(args, ctl.settings.scope);
  const scope = cluster ?? ctl.settings.scope;
  if (!scope || (!ctl.settings.etcdHosts && !ctl.settings.zookeeperHosts)) return;
  ctl.io.out('');
  const snap = await ctl.readCluster(scope);
  for (const m of membersWithRole(snap, 'any')) {
    if (!m.value.api_url || (names.length > 0 && !names.includes(m.name))) continue;
    try {
      const res = await ctl.request(target(m), 'GET', 'patroni', { timeoutMs: 5000 });
      const data = parseNodeStatus(res.text);
      if (!data) throw new Error(`not a /patroni body (status ${res.status})`);
      const product = data.keel !== undefined ? 'Keel' : 'Patroni';
      const pg = typeof data.server_version === 'number' && data.server_version > 0 ? ` PostgreSQL ${formatPgVersion(data.server_version)}` : '';
      ctl.io.out(`${m.name}: ${product} ${data.patroni?.version ?? '?'}${pg}`);
    } catch (e) {
      ctl.io.out(`${m.name}: failed to get version: ${e instanceof CliError || e instanceof Error ? e.message : String(e)}`);
    }
  }
}

export const register: Register = (program: Command, run) => {
  program
    .command('version')
    .description("Show keelctl's version and, when a cluster is configured, each member's agent and PostgreSQL versions")
    .argument('[member...]', 'only these members')
    .action((members: string[]) => run((ctl) => version(ctl, members)));
};
