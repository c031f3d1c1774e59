import type { ClusterView, MemberView } from './cluster.ts';
import { renderOutput, type Format, type Value } from './output.ts';

export interface MembersOptions {
  /** Always show Pending restart, Scheduled restart and Tags (otherwise only when some member has one). */
  extended?: boolean;
  fmt?: Format;
}

/** Python's round(): halves go to the even neighbour (round(2.5) == 2). */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** "sync_standby" -> "Sync Standby" (Python's str.title after replacing underscores). */
export function roleTitle(role: string): string {
  return role
    .replace(/_/g, ' ')
    .toLowerCase()
    .replace(/(^|[^a-z])([a-z])/g, (_m, pre: string, c: string) => pre + c.toUpperCase());
}

/**
 * patronictl's topology_sort: the leader first, then every replica under the member it streams from
 * (its replicatefrom tag when that names another replica, otherwise the leader), indented "+ ", "  + " ...
 */
export function topologyOrder(members: readonly MemberView[]): Array<{ member: MemberView; level: number }> {
  const isLeader = (m: MemberView) => m.role.endsWith('leader');
  const leader = members.find(isLeader);
  const replicas = new Set(members.filter((m) => !isLeader(m)).map((m) => m.name));
  const children = new Map<string | null, MemberView[]>();
  for (const m of members) {
    if (isLeader(m)) continue;
    const from = m.tags?.replicatefrom;
    const parent = typeof from === 'string' && from !== m.name && replicas.has(from) ? from : (leader?.name ?? null);
    children.set(parent, [...(children.get(parent) ?? []), m]);
  }
  const out: Array<{ member: MemberView; level: number }> = [];
  const seen = new Set<string>();
  const walk = (name: string | null, level: number) => {
    for (const m of children.get(name) ?? []) {
      if (seen.has(m.name)) continue; // a replicatefrom cycle: show each member once
      seen.add(m.name);
      out.push({ member: m, level });
      walk(m.name, level + 1);
    }
  };
  if (leader) {
    out.push({ member: leader, level: 0 });
    seen.add(leader.name);
    walk(leader.name, 1);
  } else {
    walk(null, 1);
  }
  return out;
}

const OPTIONAL_COLUMNS = [
  ['Pending restart', (m: MemberView) => m.pendingRestart],
  ['Scheduled restart', (m: MemberView) => Boolean(m.scheduledRestart)],
  ['Tags', (m: MemberView) => Boolean(m.tags)],
] as const;

/** The rows patronictl's output_members builds (first column: the cluster name). */
export function memberRows(view: ClusterView, opts: MembersOptions = {}): { columns: string[]; rows: Value[][] } {
  const columns = ['Cluster', 'Member', 'Host', 'Role', 'State', 'TL', 'Lag in MB'];
  const withHost = view.members.filter((m) => m.host !== undefined);
  for (const [name, has] of OPTIONAL_COLUMNS) if (opts.extended || withHost.some(has)) columns.push(name);
  // host:port when somebody runs on a non-standard port or two members share a host
  const appendPort = withHost.some((m) => m.port !== undefined && m.port !== 5432) || new Set(withHost.map((m) => m.host)).size < withHost.length;
  const ordered = opts.fmt === 'topology' ? topologyOrder(view.members) : view.members.map((member) => ({ member, level: 0 }));
  const rows = ordered.map(({ member: m, level }) => {
    const name = level > 0 ? `${' '.repeat((level - 1) * 2)}+ ${m.name}` : m.name;
    const host = m.host && appendPort && m.port ? `${m.host}:${m.port}` : (m.host ?? '');
    const lag = typeof m.lag === 'number' ? pyRound(m.lag / 1024 / 1024) : (m.lag ?? '');
    const cells: Record<string, Value> = {
      Cluster: view.scope,
      Member: name,
      Host: host,
      Role: roleTitle(m.role),
      State: m.state,
      TL: m.timeline ?? '',
      'Lag in MB': lag,
      'Pending restart': m.pendingRestart ? '*' : '',
      'Scheduled restart': m.scheduledRestart ?? '',
      Tags: m.tags ?? '',
    };
    return columns.map((c) => cells[c] ?? '');
  });
  return { columns, rows };
}

/** The lines under the table: maintenance mode and a scheduled switchover (get_cluster_service_info). */
export function serviceInfo(view: ClusterView): string[] {
  const info: string[] = [];
  if (view.pause) info.push('Maintenance mode: on');
  const s = view.scheduledSwitchover;
  if (s) {
    let line = `Switchover scheduled at: ${s.at}`;
    if (s.from !== undefined) line += `\n${'from'.padStart(24)}: ${s.from}`;
    if (s.to !== undefined) line += `\n${'to'.padStart(24)}: ${s.to}`;
    info.push(line);
  }
  return info;
}

/** `keelctl list` / `topology` output for one cluster (no trailing newline). */
export function renderMembers(view: ClusterView, opts: MembersOptions = {}): string {
  const fmt = opts.fmt ?? 'pretty';
  const { columns, rows } = memberRows(view, opts);
  const text = renderOutput({ columns, rows, align: { 'Lag in MB': 'r', TL: 'r' }, title: ` Cluster: ${view.scope} ` }, fmt);
  if (fmt !== 'pretty' && fmt !== 'topology') return text;
  const info = serviceInfo(view);
  return info.length ? `${text}\n ${info.join('\n ')}` : text;
}
