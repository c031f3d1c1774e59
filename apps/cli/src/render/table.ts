/**
 * The ASCII table patronictl prints (PrettyTable with patronictl's title injected into the top rule):
 *
 *   + Cluster: bench ----------+---------+---------+----+-----------+
 *   | Member | Host            | Role    | State   | TL | Lag in MB |
 *   +--------+-----------------+---------+---------+----+-----------+
 *   | node1  | 127.0.0.1:25432 | Replica | running |  2 |         0 |
 *   +--------+-----------------+---------+---------+----+-----------+
 *
 * Headers follow their column's alignment. A cell may hold several lines (the YAML of a member's tags):
 * then every row is closed by a rule, as PrettyTable's hrules=ALL does.
 */

export type Align = 'l' | 'r';
export type Cell = string | number;

export interface TableSpec {
  columns: readonly string[];
  rows: ReadonlyArray<readonly Cell[]>;
  /** Per column name; columns not named are left-aligned. */
  align?: Readonly<Record<string, Align>>;
  /** Written over the start of the top rule, e.g. " Cluster: bench ". */
  title?: string;
}

function lines(cell: Cell): string[] {
  return String(cell).split('\n');
}

function pad(text: string, width: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, width - text.length));
  return align === 'r' ? fill + text : text + fill;
}

export function renderTable(spec: TableSpec): string {
  const { columns, rows } = spec;
  const aligns = columns.map((c) => spec.align?.[c] ?? 'l');
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => Math.max(...lines(r[i] ?? '').map((l) => l.length)))));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const top = spec.title ? withTitle(rule, spec.title) : rule;
  const line = (cells: readonly string[]) => `|${cells.map((c, i) => ` ${pad(c, widths[i]!, aligns[i]!)} `).join('|')}|`;
  const multiline = rows.some((r) => r.some((c) => typeof c === 'string' && c.includes('\n')));

  const out = [top, line(columns), rule];
  rows.forEach((row, ri) => {
    const cellLines = columns.map((_, i) => lines(row[i] ?? ''));
    const height = Math.max(...cellLines.map((l) => l.length));
    for (let k = 0; k < height; k++) out.push(line(cellLines.map((l) => l[k] ?? '')));
    if (multiline && ri < rows.length - 1) out.push(rule);
  });
  out.push(rule);
  return out.join('\n');
}

/** patronictl's PatronictlPrettyTable.__build_header: the title overwrites the rule after its first character. */
function withTitle(rule: string, title: string): string {
  const t = title.slice(0, rule.length - 2);
  return rule[0] + t + rule.slice(1 + t.length);
}
