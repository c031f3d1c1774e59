/**
 * Pure helpers for reading where a data directory's WAL ends (pg_waldump's output) and what a
 * primary says about its timelines over a replication connection (IDENTIFY_SYSTEM, TIMELINE_HISTORY).
 * Used to decide whether a former primary must be rewound (ha-core's rewindNeeded).
 */
import { parseLsn } from '@keel/protocol';
import { parseTimelineHistory } from './conf.ts';
import type { TimelineHistoryEntry } from './types.ts';

/** The WAL layout of a data directory, from pg_controldata. */
export interface WalGeometry {
  /** WAL block (page) size, XLOG_BLCKSZ. */
  blockSize: number;
  /** Bytes per WAL segment. */
  segmentSize: number;
}

/** Page header sizes for MAXALIGN 8 (every platform PostgreSQL runs Keel on: x86-64, arm64). */
const SHORT_PAGE_HEADER = 24;
const LONG_PAGE_HEADER = 40;
const MAXALIGN = 8;

const align = (n: number): number => Math.ceil(n / MAXALIGN) * MAXALIGN;

/**
 * The WAL geometry from pg_controldata's raw lines; throws when it is not one this code can
 * compute record ends for (a MAXALIGN other than 8).
 */
export function walGeometry(raw: Readonly<Record<string, string>>): WalGeometry {
  const num = (key: string): number => {
    const v = raw[key];
    if (v === undefined || !/^\d+$/.test(v)) throw new Error(`pg_controldata: no usable "${key}" (${v ?? 'missing'})`);
    return Number(v);
  };
  const alignment = num('Maximum data alignment');
  if (alignment !== MAXALIGN) throw new Error(`pg_controldata: maximum data alignment ${alignment} (only ${MAXALIGN} is supported)`);
  const blockSize = num('WAL block size');
  const segmentSize = num('Bytes per WAL segment');
  if (blockSize < 1024 || segmentSize < blockSize || segmentSize % blockSize !== 0) {
    throw new Error(`pg_controldata: WAL block size ${blockSize} and segment size ${segmentSize} do not fit`);
  }
  return { blockSize, segmentSize };
}

/**
 * Where the WAL record starting at `start`, `totalLength` bytes long, ends: the position the next
 * record is read from (PostgreSQL's EndRecPtr, what a promoted standby writes as the switch point of
 * the new timeline). A record continues across pages after each page's header; the end is aligned.
 * After a WAL switch record the rest of the segment is unused: the end is the next segment's start.
 */
export function walRecordEnd(start: number, totalLength: number, g: WalGeometry, isSwitch = false): number {
  if (!Number.isSafeInteger(start) || start <= 0 || !Number.isSafeInteger(totalLength) || totalLength <= 0) {
    throw new Error(`not a WAL record: start ${start}, length ${totalLength}`);
  }
  const pageOffset = start % g.blockSize;
  let end: number;
  if (pageOffset + totalLength <= g.blockSize) {
    end = start + align(totalLength);
  } else {
    let remaining = totalLength - (g.blockSize - pageOffset);
    let page = start - pageOffset;
    for (;;) {
      page += g.blockSize;
      const header = page % g.segmentSize === 0 ? LONG_PAGE_HEADER : SHORT_PAGE_HEADER;
      if (remaining <= g.blockSize - header) {
        end = page + header + align(remaining);
        break;
      }
      remaining -= g.blockSize - header;
    }
  }
  if (isSwitch && end % g.segmentSize !== 0) end += g.segmentSize - (end % g.segmentSize);
  return end;
}

/** The last record pg_waldump printed and the error it stopped at. */
export interface WaldumpTail {
  /** Start of the last valid record. */
  lastRecord: number;
  /** Its total length (header included). */
  totalLength: number;
  /** An XLOG SWITCH record (the rest of its segment is skipped). */
  isSwitch: boolean;
  /** pg_waldump's final error (why it stopped: the end of the valid WAL). */
  stoppedBecause: string;
}

const RECORD_LINE = /^rmgr: (\S+)\s+len \(rec\/tot\):\s*\d+\/\s*(\d+), tx:\s*\d+, lsn: ([0-9A-Fa-f]+\/[0-9A-Fa-f]+), prev [0-9A-Fa-f]+\/[0-9A-Fa-f]+, desc: (\S*)/;
const STOP_LINE = /error in WAL record at ([0-9A-Fa-f]+\/[0-9A-Fa-f]+): (.*)$/m;

/**
 * pg_waldump's output read to the end of the valid WAL (no --end: it stops at the first invalid
 * record with "error in WAL record at <last valid record>: <why>"). Throws unless the output is
 * exactly that: at least one record, and a stop error naming the last record printed (any other
 * failure, such as a missing segment file, says nothing certain about where the WAL ends).
 * `stdout` may be only the tail of the output (its first line may be cut).
 */
export function parseWaldumpTail(stdout: string, stderr: string): WaldumpTail {
  const stop = STOP_LINE.exec(stderr);
  if (!stop) throw new Error(`pg_waldump did not stop at an invalid record: ${stderr.trim().split('\n').pop() ?? '(no output)'}`);
  const stoppedAt = parseLsn(stop[1]!);
  const lines = stdout.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = RECORD_LINE.exec(lines[i]!);
    if (!m) continue;
    const lastRecord = parseLsn(m[3]!);
    if (lastRecord !== stoppedAt) {
      throw new Error(`pg_waldump stopped after the record at ${stop[1]} but its last record printed is at ${m[3]}`);
    }
    return { lastRecord, totalLength: Number(m[2]), isSwitch: m[1] === 'XLOG' && m[4] === 'SWITCH', stoppedBecause: stop[2]!.trim() };
  }
  throw new Error(`pg_waldump printed no WAL record before stopping: ${stop[0]}`);
}

/** The highest timeline among pg_wal's file names (segments, .partial segments, .history files); 0 if none. */
export function highestWalTimeline(names: readonly string[]): number {
  let highest = 0;
  for (const n of names) {
    const m = /^([0-9A-Fa-f]{8})(?:[0-9A-Fa-f]{16}(?:\.partial)?|\.history)$/.exec(n);
    if (m) highest = Math.max(highest, parseInt(m[1]!, 16));
  }
  return highest;
}

/** IDENTIFY_SYSTEM's row as `psql -A -t` prints it: "systemid|timeline|xlogpos|dbname". */
export function parseIdentifySystem(out: string): { sysid: string; timeline: number; lsn: number } {
  const line = out.split('\n').find((l) => l.trim() !== '');
  const m = line ? /^(\d+)\|(\d+)\|([0-9A-Fa-f]+\/[0-9A-Fa-f]+)\|/.exec(line.trim()) : null;
  if (!m) throw new Error(`IDENTIFY_SYSTEM: unexpected answer ${JSON.stringify(out.slice(0, 200))}`);
  return { sysid: m[1]!, timeline: Number(m[2]), lsn: parseLsn(m[3]!) };
}

/**
 * TIMELINE_HISTORY's row as `psql -A -t` prints it: "<file name>|<content>" where the content (the
 * history file, several lines) follows the separator. Checks the file name is the asked timeline's.
 */
export function parseTimelineHistoryReply(out: string, timeline: number): TimelineHistoryEntry[] {
  const sep = out.indexOf('|');
  const name = sep < 0 ? '' : out.slice(0, sep).trim();
  const expected = `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
  if (name !== expected) throw new Error(`TIMELINE_HISTORY ${timeline}: expected ${expected}, got ${JSON.stringify(out.slice(0, 80))}`);
  return parseTimelineHistory(out.slice(sep + 1));
}
