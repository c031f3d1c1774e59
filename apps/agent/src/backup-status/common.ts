/** What the backup-tool parsers share: the tool's output, failures as statuses, and time conversions. */
import type { TBackupStatus } from '@keel/protocol';

/** A finished tool run (packages/postgres RunResult's fields the parsers read). */
export interface ToolOutput {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
}

const MESSAGE_MAX = 2000;

/** The last few non-empty lines of a tool's output, cut to what the protocol carries. */
export function lastLines(text: string, n = 4): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const s = lines.slice(-n).join(' / ');
  return s.length > MESSAGE_MAX ? `...${s.slice(-(MESSAGE_MAX - 3))}` : s;
}

type Findings = Pick<TBackupStatus, 'state' | 'message' | 'last' | 'lastFull' | 'count' | 'walArchive' | 'running'>;

/** The tool could not tell: an error status with nothing known. */
export function errorStatus(message: string): Findings {
  const m = message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX - 3)}...` : message;
  return { state: 'error', message: m, last: null, lastFull: null, count: 0, walArchive: null, running: null };
}

/** An error status when the run failed (timed out, killed, non-zero exit), with its last lines; null when it exited 0. */
export function runFailure(what: string, out: ToolOutput): Findings | null {
  let reason: string;
  if (out.timedOut) reason = 'timed out';
  else if (out.code === null) reason = `was killed by ${out.signal ?? 'a signal'}`;
  else if (out.code !== 0) reason = `exited with code ${out.code}`;
  else return null;
  const tail = lastLines(`${out.stderr}\n${out.stdout}`);
  return errorStatus(`${what} ${reason}${tail ? `: ${tail}` : ''}`);
}

/** Epoch seconds (number or numeric string) as ISO 8601; null when not a plausible time. */
export function epochSeconds(v: number | string | null | undefined): string | null {
  const n = typeof v === 'string' ? Number(v) : v;
  if (n === null || n === undefined || !Number.isFinite(n) || n <= 0 || n > 1e11) return null;
  return new Date(Math.round(n * 1000)).toISOString();
}
