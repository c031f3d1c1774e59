import { describe, expect, it } from 'vitest';
import { parseLsn } from '@keel/protocol';
import {
  highestWalTimeline,
  parseIdentifySystem,
  parseTimelineHistoryReply,
  parseWaldumpTail,
  walGeometry,
  walRecordEnd,
} from '../src/wal.ts';

const G = { blockSize: 8192, segmentSize: 16 * 1024 * 1024 };
const L = parseLsn;

// Real pg_waldump 15 output (a primary killed with SIGKILL after an INSERT ... COMMIT).
const STDOUT = [
  'rmgr: Heap        len (rec/tot):     59/    59, tx:        724, lsn: 0/01525FC0, prev 0/01525F80, desc: INSERT off 95 flags 0x00, blkref #0: rel 1663/5/16384 blk 4',
  'rmgr: Heap        len (rec/tot):     59/    59, tx:        724, lsn: 0/01526018, prev 0/01525FC0, desc: INSERT off 96 flags 0x00, blkref #0: rel 1663/5/16384 blk 4',
  'rmgr: Transaction len (rec/tot):    405/   405, tx:        724, lsn: 0/01526058, prev 0/01526018, desc: COMMIT 2026-12-04 05:44:49.151597 UTC; inval msgs: catcache 80',
  '',
].join('\n');
const STDERR = 'pg_waldump: error: error in WAL record at 0/1526058: invalid record length at 0/15261F0: wanted 24, got 0\n';

describe('walRecordEnd', () => {
  it('a record within one page ends at its aligned length (the COMMIT above ends where pg_waldump tried the next one)', () => {
    expect(walRecordEnd(L('0/1526058'), 405, G)).toBe(L('0/15261F0'));
    expect(walRecordEnd(L('0/1526018'), 59, G)).toBe(L('0/1526058'));
  });

  it('a record that fills its page exactly ends at the page boundary', () => {
    expect(walRecordEnd(8192 * 10 + 8192 - 64, 64, G)).toBe(8192 * 11);
  });

  it('a record crossing into the next page skips that page\'s short header (24 bytes)', () => {
    const page = 0x1000000 + 8192 * 3;
    // 192 bytes on the first page, 308 on the next after its header: aligned to 312
    expect(walRecordEnd(page + 8000, 500, G)).toBe(page + 8192 + 24 + 312);
  });

  it('a record crossing several pages (a full-page image)', () => {
    const page = 0x1000000 + 8192 * 5;
    // 8092 bytes on page 1, 8168 on page 2, 3740 on page 3 (aligned 3744)
    expect(walRecordEnd(page + 100, 20000, G)).toBe(page + 2 * 8192 + 24 + 3744);
  });

  it('a record crossing into a new segment skips its long header (40 bytes)', () => {
    const segment = 2 * G.segmentSize;
    expect(walRecordEnd(segment - 100, 300, G)).toBe(segment + 40 + 200);
  });

  it('after a WAL switch record the rest of the segment is skipped', () => {
    expect(walRecordEnd(L('0/1526058'), 24, G, true)).toBe(L('0/2000000'));
    expect(walRecordEnd(L('0/1FFFFE8'), 24, G, true)).toBe(L('0/2000000'));
  });

  it('refuses what is not a record', () => {
    expect(() => walRecordEnd(0, 24, G)).toThrow(/not a WAL record/);
    expect(() => walRecordEnd(100, 0, G)).toThrow(/not a WAL record/);
  });
});

describe('walGeometry', () => {
  it("reads pg_controldata's WAL block and segment sizes", () => {
    expect(walGeometry({ 'Maximum data alignment': '8', 'WAL block size': '8192', 'Bytes per WAL segment': '16777216' })).toEqual(G);
  });
  it('refuses an alignment other than 8 and sizes that do not fit', () => {
    expect(() => walGeometry({ 'Maximum data alignment': '4', 'WAL block size': '8192', 'Bytes per WAL segment': '16777216' })).toThrow(/alignment 4/);
    expect(() => walGeometry({ 'Maximum data alignment': '8', 'WAL block size': '8192' })).toThrow(/Bytes per WAL segment/);
    expect(() => walGeometry({ 'Maximum data alignment': '8', 'WAL block size': '8192', 'Bytes per WAL segment': '10000' })).toThrow(/do not fit/);
  });
});

describe('parseWaldumpTail', () => {
  it('the last record printed, and why pg_waldump stopped after it', () => {
    expect(parseWaldumpTail(STDOUT, STDERR)).toEqual({
      lastRecord: L('0/1526058'),
      totalLength: 405,
      isSwitch: false,
      stoppedBecause: 'invalid record length at 0/15261F0: wanted 24, got 0',
    });
  });

  it('reads a cut first line and the PostgreSQL 16 wording', () => {
    const cut = STDOUT.slice(40);
    const v16 = 'pg_waldump: error: error in WAL record at 0/1526058: invalid record length at 0/15261F0: expected at least 24, got 0';
    expect(parseWaldumpTail(cut, v16).lastRecord).toBe(L('0/1526058'));
  });

  it('recognises a WAL switch record', () => {
    const out = 'rmgr: XLOG        len (rec/tot):     24/    24, tx:          0, lsn: 0/01FFFFE8, prev 0/01FFFFA0, desc: SWITCH \n';
    const err = 'pg_waldump: error: error in WAL record at 0/1FFFFE8: invalid magic number 0000 in log segment 000000010000000000000002, offset 0';
    expect(parseWaldumpTail(out, err)).toMatchObject({ lastRecord: L('0/1FFFFE8'), totalLength: 24, isSwitch: true });
  });

  it('throws when pg_waldump stopped for another reason (a missing segment, no valid start)', () => {
    expect(() => parseWaldumpTail(STDOUT, 'pg_waldump: error: could not find file "000000010000000000000002": No such file or directory')).toThrow(/did not stop at an invalid record/);
    expect(() => parseWaldumpTail('', 'pg_waldump: error: could not find a valid record after 0/1526058')).toThrow(/did not stop at an invalid record/);
  });

  it('throws when no record was printed, or the error names another record than the last printed', () => {
    expect(() => parseWaldumpTail('', STDERR)).toThrow(/printed no WAL record/);
    expect(() => parseWaldumpTail(STDOUT.split('\n').slice(0, 2).join('\n'), STDERR)).toThrow(/last record printed is at 0\/01526018/);
  });
});

describe('highestWalTimeline', () => {
  it('segments, .partial segments and history files count; other files do not', () => {
    expect(highestWalTimeline(['000000010000000000000003', '00000002.history', 'archive_status', '000000010000000000000004.partial'])).toBe(2);
    expect(highestWalTimeline(['0000000A0000000000000003.partial'])).toBe(10);
    expect(highestWalTimeline(['archive_status', 'xlogtemp.123', '000000030000000000000003.ready'])).toBe(0);
  });
});

describe('replication commands as psql -A -t prints them', () => {
  it('IDENTIFY_SYSTEM', () => {
    expect(parseIdentifySystem('7715320699420982939|2|0/2000508|\n')).toEqual({ sysid: '7715320699420982939', timeline: 2, lsn: L('0/2000508') });
    expect(() => parseIdentifySystem('psql: error\n')).toThrow(/IDENTIFY_SYSTEM: unexpected answer/);
  });

  it('TIMELINE_HISTORY: the file name, then the file', () => {
    const out = '00000003.history|1\t0/2000490\tno recovery target specified\n2\t0/5000000\tno recovery target specified\n\n';
    expect(parseTimelineHistoryReply(out, 3)).toEqual([
      { parentTli: 1, switchpoint: L('0/2000490'), reason: 'no recovery target specified' },
      { parentTli: 2, switchpoint: L('0/5000000'), reason: 'no recovery target specified' },
    ]);
    expect(() => parseTimelineHistoryReply(out, 4)).toThrow(/expected 00000004\.history/);
    expect(() => parseTimelineHistoryReply('00000003.history|garbage\n', 3)).toThrow(/not a timeline history line/);
  });
});
