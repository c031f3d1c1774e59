import { structuredPatch } from 'diff';

/**
 * A unified diff of two texts, shaped like Python's difflib.unified_diff with empty file names (what
 * patronictl edit-config prints when stdout is not a terminal): "--- ", "+++ ", then hunks with three
 * lines of context. Returns [] when the texts are equal.
 */
export function unifiedDiff(before: string, after: string): string[] {
  const norm = (s: string) => `${s.replace(/\n+$/, '')}\n`;
  const a = norm(before);
  const b = norm(after);
  if (a === b) return [];
  const patch = structuredPatch('', '', a, b, '', '', { context: 3 });
  const out = ['--- ', '+++ '];
  for (const h of patch.hunks) {
    out.push(`@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@`);
    for (const l of h.lines) if (!l.startsWith('\\')) out.push(l);
  }
  return out;
}

/** difflib's _format_range_unified: "3" for one line, "3,0" (start before the hunk) for none. */
function range(start: number, length: number): string {
  if (length === 1) return String(start);
  if (length === 0) return `${start === 0 ? 0 : start},0`;
  return `${start},${length}`;
}

/** Colours for a terminal: removed lines red, added green, hunk headers cyan. */
export function colorDiff(lines: readonly string[]): string[] {
  return lines.map((l) => {
    if (l.startsWith('---') || l.startsWith('+++')) return `\x1b[1m${l}\x1b[0m`;
    if (l.startsWith('@@')) return `\x1b[36m${l}\x1b[0m`;
    if (l.startsWith('-')) return `\x1b[31m${l}\x1b[0m`;
    if (l.startsWith('+')) return `\x1b[32m${l}\x1b[0m`;
    return l;
  });
}
