import { describe, expect, it } from 'vitest';
import { renderHistory } from '../src/render/history.ts';
import { fixture, snapshotFromDump } from './helpers.ts';

const text = (name: string) => fixture(name).replace(/\n+$/, '');

describe('history', () => {
  it('prints the /history key exactly like patronictl history', () => {
    expect(renderHistory(snapshotFromDump('dcs_keys_decoded.json').history)).toBe(text('patronictl_history.txt'));
    expect(renderHistory(snapshotFromDump('sync_off/dcs_keys_decoded.json').history)).toBe(text('sync_off/patronictl_history.txt'));
  });

  it('gives the same JSON as patronictl history -f json', () => {
    expect(JSON.parse(renderHistory(snapshotFromDump('dcs_keys_decoded.json').history, 'json'))).toEqual(JSON.parse(fixture('patronictl_history.json')));
  });

  it('prints only the header for a cluster that never changed leader (as patronictl does)', () => {
    expect(renderHistory(null).split('\n')).toEqual([
      '+----+-----+--------+-----------+------------+',
      '| TL | LSN | Reason | Timestamp | New Leader |',
      '+----+-----+--------+-----------+------------+',
      '+----+-----+--------+-----------+------------+',
    ]);
    expect(renderHistory([], 'json')).toBe('[]');
  });

  it('pads entries written by older Patroni versions (no timestamp, no new leader) with empty cells, kept in JSON', () => {
    expect(JSON.parse(renderHistory([[1, 2, 'x']], 'json'))).toEqual([{ TL: 1, LSN: 2, Reason: 'x', Timestamp: '', 'New Leader': '' }]);
    expect(renderHistory([[12, 123456789, 'no recovery target specified']]).split('\n')[3]).toBe('| 12 | 123456789 | no recovery target specified |           |            |');
  });
});
