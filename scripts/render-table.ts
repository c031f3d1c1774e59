// A patronictl-style member table from GET /cluster rows (used by the demo).
export interface ClusterRow {
  name: string;
  role: string;
  state: string;
  host: string;
  port: number;
  timeline?: number;
  lag?: number | string;
}

const ROLE: Record<string, string> = { leader: 'Leader', replica: 'Replica', sync_standby: 'Sync Standby', standby_leader: 'Standby Leader' };

export function renderMemberTable(scope: string, rows: ClusterRow[]): string {
  const head = ['Member', 'Host', 'Role', 'State', 'TL', 'Lag in MB'];
  const body = rows.map((r) => [
    r.name,
    `${r.host}:${r.port}`,
    ROLE[r.role] ?? r.role,
    r.state,
    r.timeline === undefined ? '' : String(r.timeline),
    r.role === 'leader' ? '' : typeof r.lag === 'number' ? String(Math.round(r.lag / 1048576)) : (r.lag ?? 'unknown'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const title = `+ Cluster: ${scope} `;
  const top = title + sep.slice(title.length);
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i >= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [top, line(head), sep, ...body.map(line), sep].join('\n');
}
