/** Running PostgreSQL's command-line tools. */
import { spawn } from 'node:child_process';
import type { RunAs } from './types.ts';

export interface RunOptions {
  runAs?: RunAs;
  /** Extra environment (on top of a cleaned copy of process.env). */
  env?: Record<string, string>;
  /** Kill the process (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
  /** Called with each chunk of stderr (e.g. pg_basebackup -P progress). */
  onStderr?: (chunk: string) => void;
  /** Keep the caller's LANG/LC_* (initdb derives the cluster's locale and encoding from them). */
  keepLocale?: boolean;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const KEEP = 64 * 1024;

/**
 * The environment for PostgreSQL tools: the caller's, without libpq variables (PGPASSWORD,
 * PGHOST, PGDATA ... would silently change what the tools do), in the C locale so that their
 * output can be parsed (unless keepLocale).
 */
export function toolEnv(extra: Record<string, string> = {}, keepLocale = false): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('PG')) continue;
    if (!keepLocale && (k === 'LANG' || k === 'LANGUAGE' || k.startsWith('LC_'))) continue;
    env[k] = v;
  }
  if (!keepLocale) {
    env.LANG = 'C';
    env.LC_ALL = 'C';
  }
  return { ...env, ...extra };
}

/** Spawn without a shell; never rejects for a non-zero exit (the caller decides). */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: '/',
      env: toolEnv(opts.env, opts.keepLocale),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout = (stdout + d).slice(-KEEP);
    });
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-KEEP);
      opts.onStderr?.(d);
    });
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs)
        : null;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
