import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import type prettyFactory from 'pino-pretty';

export type { Logger };

const LEVELS: Record<string, pino.Level> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  WARN: 'warn',
  ERROR: 'error',
  CRITICAL: 'fatal',
};

/** Patroni's log.level (DEBUG ... CRITICAL, any case) as a pino level. */
export function pinoLevel(level: string | undefined): pino.Level {
  return LEVELS[(level ?? 'INFO').toUpperCase()] ?? 'info';
}

/**
 * Structured logs: one JSON object per line (log.type: json, the default), or a human-readable
 * line per record (log.type: plain). Secrets are redacted by path wherever they appear.
 */
export function createLogger(opts: {
  level?: string;
  type?: 'json' | 'plain';
  name: string;
  scope: string;
  /** Where the lines go: standard output unless given (tests). */
  destination?: DestinationStream;
}): Logger {
  const level = pinoLevel(opts.level);
  const base = { member: opts.name, scope: opts.scope };
  const redact = { paths: ['*.password', '*.*.password', 'password', 'token', '*.token'], censor: '******' };
  if (opts.type === 'plain') {
    // pino-pretty in-process and synchronous, not as a pino transport: no worker thread (a second
    // V8 isolate), and the built agent needs no worker file next to its bundle. Loaded only here.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof prettyFactory;
    const stream: DestinationStream = pretty({ colorize: false, translateTime: 'SYS:standard', ignore: 'pid,hostname,scope', sync: true, destination: opts.destination ?? 1 });
    return pino({ level, base, redact }, stream);
  }
  const json = { level, base, redact, timestamp: pino.stdTimeFunctions.isoTime };
  return opts.destination === undefined ? pino(json) : pino(json, opts.destination);
}
