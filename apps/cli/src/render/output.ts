import { renderTable, type Align } from './table.ts';
import { dumpYaml } from './yaml.ts';

/** patronictl's --format values; `topology` is the list table indented by replication source. */
export const FORMATS = ['pretty', 'tsv', 'json', 'yaml', 'yml'] as const;
export type Format = (typeof FORMATS)[number] | 'topology';

export type Value = string | number | Record<string, unknown>;

export interface OutputSpec {
  columns: readonly string[];
  rows: ReadonlyArray<readonly Value[]>;
  align?: Readonly<Record<string, Align>>;
  /** A table title (" Cluster: bench "). With a title, machine formats leave out empty fields, as patronictl does. */
  title?: string;
}

/**
 * patronictl's print_output. A `Cluster` first column is a member listing: the pretty table leaves it out
 * (the title names the cluster), tsv keeps it, and a `Tags` cell is shown as YAML (block style in the
 * table, flow style in tsv). json is one line, as patronictl prints it.
 */
export function renderOutput(spec: OutputSpec, fmt: Format): string {
  const { title } = spec;
  if (fmt === 'json' || fmt === 'yaml' || fmt === 'yml') {
    const elements = spec.rows.map((r) =>
      Object.fromEntries(spec.columns.flatMap((c, i) => (title && String(r[i] ?? '') === '' ? [] : [[c, r[i] ?? '']]))),
    );
    // yaml keeps its final newline: patronictl echoes safe_dump's text, so a blank line follows it.
    return fmt === 'json' ? JSON.stringify(elements) : dumpYaml(elements);
  }
  let columns = [...spec.columns];
  let rows = spec.rows.map((r) => [...r]);
  const listing = Boolean(title) && columns[0] === 'Cluster';
  const tagsAt = columns.indexOf('Tags');
  if (listing && tagsAt >= 0) {
    for (const row of rows) {
      const t = row[tagsAt];
      if (t && typeof t === 'object') row[tagsAt] = dumpYaml(t, { flow: fmt === 'tsv' }).trim();
    }
  }
  if (fmt === 'tsv') {
    return [columns, ...rows].map((r) => r.map((c) => (typeof c === 'object' ? JSON.stringify(c) : String(c))).join('\t')).join('\n');
  }
  if (listing) {
    columns = columns.slice(1);
    rows = rows.map((r) => r.slice(1));
  }
  return renderTable({
    columns,
    rows: rows.map((r) => r.map((c) => (typeof c === 'object' ? JSON.stringify(c) : c))),
    ...(spec.align ? { align: spec.align } : {}),
    ...(title ? { title } : {}),
  });
}
