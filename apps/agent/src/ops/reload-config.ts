import { OperationError } from '@keel/protocol';
import { ConfigError, loadConfig, type AgentConfig } from '../config.ts';
import type { OpsRuntime } from '../runtime.ts';
import { begin, type OperationMeta, type Running } from './operation.ts';

/** Fields of the local YAML that cannot change while the agent runs. */
function immutableChanges(a: AgentConfig, b: AgentConfig): string[] {
  const pairs: Array<[string, unknown, unknown]> = [
    ['name', a.name, b.name],
    ['scope', a.scope, b.scope],
    ['namespace', a.namespace, b.namespace],
    ['postgresql.data_dir', a.postgresql.data_dir, b.postgresql.data_dir],
    ['postgresql.listen', a.postgresql.listen, b.postgresql.listen],
    ['restapi.listen', a.restapi.listen, b.restapi.listen],
    ['etcd3.hosts', a.etcd3?.hosts, b.etcd3?.hosts],
    ['zookeeper.hosts', a.zookeeper?.hosts, b.zookeeper?.hosts],
  ];
  return pairs.filter(([, x, y]) => JSON.stringify(x) !== JSON.stringify(y)).map(([k]) => k);
}

/**
 * POST /reload, SIGHUP and the control plane's reload: re-read the local YAML; on any problem nothing
 * changes (400 "reload refused, nothing changed: ..."); otherwise the loop adopts it (Patroni's 202).
 */
export function reloadLocalConfig(rt: OpsRuntime, meta: OperationMeta = {}): Promise<Running> {
  return begin(rt, 'reload', meta, `reload ${rt.configPath} requested`, async () => {
    let next: AgentConfig;
    let warnings: string[];
    try {
      ({ config: next, warnings } = loadConfig(rt.configPath));
    } catch (e) {
      const why = e instanceof ConfigError ? e.message : `cannot read ${rt.configPath}: ${(e as Error).message}`;
      throw new OperationError('invalid', `reload refused, nothing changed: ${why}`);
    }
    const changed = immutableChanges(rt.config, next);
    if (changed.length) throw new OperationError('invalid', `reload refused, nothing changed: ${changed.join(', ')} cannot change while the agent runs: restart keel-agent to apply`);
    for (const w of warnings) rt.log.warn({ config: rt.configPath }, w);
    await rt.adoptLocalConfig(next);
    return { httpStatus: 202, message: 'reload scheduled', data: warnings.length ? { warnings } : {} };
  });
}
