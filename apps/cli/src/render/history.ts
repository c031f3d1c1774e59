import type { THistory } from '@keel/protocol';
import { renderOutput, type Format, type Value } from './output.ts';

export const HISTORY_COLUMNS = ['TL', 'LSN', 'Reason', 'Timestamp', 'New Leader'] as const;

/** `keelctl history`: one row per timeline switch; short entries (older Patroni) are padded with ''. */
export function renderHistory(history: THistory | null, fmt: Format = 'pretty'): string {
  const rows: Value[][] = (history ?? []).map((entry) => HISTORY_COLUMNS.map((_, i) => (entry as readonly Value[])[i] ?? ''));
  return renderOutput({ columns: HISTORY_COLUMNS, rows, align: { TL: 'r', LSN: 'r' } }, fmt);
}
