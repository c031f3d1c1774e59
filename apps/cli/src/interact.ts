/** Questions, confirmations, schedules and timestamps, shared by the mutating commands. */

import type { Io } from './context.ts';
import { failed, usageError } from './errors.ts';

/**
 * Asks the user, or refuses when nobody can answer: without a terminal on stdin a command that
 * would ask needs --force, and says so ("refusing to switch over without confirmation: pass --force").
 */
export class Asker {
  constructor(
    private readonly io: Io,
    /** "switch over", "restart", ... for the refusal. */
    private readonly verb: string,
  ) {}

  private ensureInteractive(): void {
    if (!this.io.interactive) throw usageError(`refusing to ${this.verb} without confirmation: pass --force`);
  }

  /** click.prompt: the default is shown in brackets and taken on a bare Enter. */
  async ask(question: string, defaultValue = ''): Promise<string> {
    this.ensureInteractive();
    const answer = await this.io.ask(`${question} [${defaultValue}]: `);
    return answer === '' ? defaultValue : answer;
  }

  /** click.confirm with default No; a "no" aborts the command (exit 1) with `abortMessage`. */
  async confirm(question: string, abortMessage: string): Promise<void> {
    this.ensureInteractive();
    const answer = (await this.io.ask(`${question} [y/N]: `)).toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw failed(abortMessage);
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** An ISO 8601 timestamp with the local offset: 2026-11-26T12:00:00+01:00. */
export function isoWithOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * --scheduled: "now" or nothing is null; otherwise an ISO 8601 timestamp (without a zone it is local
 * time, as in patronictl), returned with its offset.
 */
export function parseScheduled(text: string | undefined): string | null {
  const s = (text ?? 'now').trim();
  if (s === '' || s.toLowerCase() === 'now') return null;
  const hasZone = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(s) && /[T ]\d{2}:\d{2}/.test(s);
  const d = ISO.test(s) ? new Date(hasZone ? s.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2') : s.replace(' ', 'T')) : new Date(NaN);
  if (Number.isNaN(d.getTime())) {
    throw usageError(`unable to parse the scheduled timestamp (${s}): use an unambiguous format, e.g. ISO 8601 (2026-11-26T13:00+00:00)`);
  }
  if (!hasZone) return isoWithOffset(d);
  const zone = /(Z|[+-]\d{2}(?::?\d{2})?)$/i.exec(s)![1]!;
  return zone.toUpperCase() === 'Z' ? d.toISOString().replace(/\.\d{3}Z$/, '+00:00') : isoInZone(d, zone);
}

/** The instant `d` written in the given fixed offset ("+02:00"). */
function isoInZone(d: Date, zone: string): string {
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
  const minutes = (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
  const t = new Date(d.getTime() + minutes * 60_000);
  return `${t.toISOString().slice(0, 19)}${m[1]}${m[2]}:${m[3] ?? '00'}`;
}

/** patronictl's timestamp(): local "2026-11-26 11:15:24.20268" (five digits of the fraction). */
export function timestamp(d = new Date(), precision = 6): string {
  const full = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000`;
  return full.slice(0, full.length - (7 - precision));
}

/** "2026-11-26T13:00", an hour from now: the example in the schedule prompts. */
export function nextHourExample(now = new Date()): string {
  const d = new Date(now.getTime() + 3600_000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
