import pino, { type Logger } from 'pino';

export type { Logger };

const LEVELS: Record<string, pino.Level> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  WARN: 'warn',
  ERROR: 'error',
  CRITICAL: 'fatal',
};

/**
 * Structured logs: one JSON object per line (log.type: json, the default), or a human-readable
 * line per record (log.type: plain). Secrets are redacted by path wherever they appear.
 */
/** Patroni's log.level (DEBUG ... CRITICAL, any case) as a pino level. */
export function pinoLevel(level: string | undefined): pino.Level {
  return LEVELS[(level ?? 'INFO').toUpperCase()] ?? 'info';
}

export function createLogger(opts: { level?: string; type?: 'json' | 'plain'; name: string; scope: string }): Logger {
  const level = pinoLevel(opts.level);
  const base = { member: opts.name, scope: opts.scope };
  const redact = { paths: ['*.password', '*.*.password', 'password', 'token', '*.token'], censor: '******' };
  if (opts.type === 'plain') {
    return pino({
      level,
      base,
      redact,
      transport: { target: 'pino-pretty', options: { colorize: false, translateTime: 'SYS:standard', ignore: 'pid,hostname,scope' } },
    });
  }
  return pino({ level, base, redact, timestamp: pino.stdTimeFunctions.isoTime });
}
