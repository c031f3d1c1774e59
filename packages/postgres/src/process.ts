/** Process checks through kill(pid, 0) and /proc (Linux). */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';

/**
 * pid's command name and state letter from /proc/<pid>/stat, or null (no /proc or no such process).
 * Read synchronously: /proc is generated in memory and never waits on storage, and an asynchronous
 * read is five round trips through libuv's thread pool (open, stat, read, read, close), each waking
 * the event loop.
 */
export async function procStat(pid: number): Promise<{ comm: string; state: string; ppid: number } | null> {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  return { comm: text.slice(open + 1, close), state: rest[0] ?? '?', ppid: Number(rest[1]) };
}

function signalAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The process exists, is not a zombie (an unreaped dead postmaster still answers kill(pid, 0)),
 * and, where /proc tells, is a PostgreSQL process (a stale postmaster.pid may name a recycled PID).
 */
export async function isPostgresProcessAlive(pid: number): Promise<boolean> {
  if (!signalAlive(pid)) return false;
  const st = await procStat(pid);
  if (!st) return signalAlive(pid); // no /proc: trust the signal check
  if (st.state === 'Z' || st.state === 'X') return false;
  return /postgres|postmaster/.test(st.comm);
}

/** Direct children of pid (Linux /proc only; empty elsewhere). */
export async function childrenOf(pid: number): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const st = await procStat(Number(n));
    if (st && st.ppid === pid) out.push(Number(n));
  }
  return out;
}

function trySignal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * Last resort: freeze the postmaster (so it cannot restart children), SIGKILL its children, then
 * the postmaster itself. Killing only the postmaster leaves backends holding shared memory, and
 * the next start fails with "pre-existing shared memory block is still in use".
 */
export async function killPostmasterTree(pid: number): Promise<void> {
  trySignal(pid, 'SIGSTOP');
  for (const child of await childrenOf(pid)) trySignal(child, 'SIGKILL');
  trySignal(pid, 'SIGKILL');
  trySignal(pid, 'SIGCONT');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll fn until it returns true or the deadline passes; returns the last result. */
export async function pollUntil(fn: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
