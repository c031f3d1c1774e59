import { describe, expect, it } from 'vitest';
import { renderOutput } from '../src/render/output.ts';
import { renderTable } from '../src/render/table.ts';

// Expected texts printed by patronictl's print_output (Python, prettytable 3.6) for the same rows.
describe('renderTable (PrettyTable with patronictl title)', () => {
  it('cuts a title longer than the table, keeping the closing +', () => {
    const text = renderOutput(
      { columns: ['Cluster', 'Member', 'TL'], rows: [['a-very-long-cluster-name', 'n1', 1], ['a-very-long-cluster-name', 'n2', 10]], align: { TL: 'r' }, title: ' Cluster: a-very-long-cluster-name ' },
      'pretty',
    );
    expect(text.split('\n')).toEqual(['+ Cluster: a-v+', '| Member | TL |', '+--------+----+', '| n1     |  1 |', '| n2     | 10 |', '+--------+----+']);
  });

  it('right-aligns headers of right-aligned columns', () => {
    expect(renderTable({ columns: ['TL', 'LSN'], rows: [[1, 5], [22, 123456]], align: { TL: 'r', LSN: 'r' } }).split('\n')).toEqual([
      '+----+--------+',
      '| TL |    LSN |',
      '+----+--------+',
      '|  1 |      5 |',
      '| 22 | 123456 |',
      '+----+--------+',
    ]);
  });
});
