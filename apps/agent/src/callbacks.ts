import { spawn, type ChildProcess } from 'node:child_process';
import { patroniRole } from '@keel/protocol';
import type { Runtime } from './runtime.ts';

export type CallbackAction = 'on_start' | 'on_stop' | 'on_restart' | 'on_reload' | 'on_role_change';

/**
 * Patroni's callbacks: `<script> <action> <role> <scope>`, run asynchronously and one at a time:
 * a new callback kills the one still running (on_reload has its own slot, as in Patroni).
 */
export class Callbacks {
  private running: ChildProcess | null = null;
  private reloadRunning: ChildProcess | null = null;

  constructor(private readonly rt: Runtime) {}

  fire(action: CallbackAction, role: string): void {
    const script = this.rt.config.postgresql.callbacks?.[action];
    if (!script) return;
    const slot = action === 'on_reload' ? 'reloadRunning' : 'running';
    const previous = this[slot];
    if (previous && previous.exitCode === null && previous.signalCode === null) previous.kill('SIGKILL');
    const argv = splitCommand(script);
    // Patroni 3's role names: existing callback scripts test for `master` (protocol ops.ts, patroniRole).
    const child = spawn(argv[0]!, [...argv.slice(1), action, patroniRole(role), this.rt.config.scope], { stdio: 'ignore', detached: false });
    child.on('error', (e) => this.rt.log.warn({ callback: action, err: e.message }, 'callback could not start'));
    child.on('exit', (code, signal) => {
      if (code !== 0) this.rt.log.warn({ callback: action, code, signal }, 'callback failed');
    });
    this[slot] = child;
    this.rt.log.info({ callback: action, role }, `callback ${action} ${role}`);
  }

  /** pre_promote: synchronous; a non-zero exit means "do not promote". */
  async prePromote(timeoutMs: number): Promise<{ ok: boolean; message: string }> {
    const script = this.rt.config.postgresql.pre_promote;
    if (!script) return { ok: true, message: 'no pre_promote script' };
    const argv = splitCommand(script);
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', (e) => {
        clearTimeout(t);
        resolve({ ok: false, message: `pre_promote could not start: ${e.message}` });
      });
      child.on('exit', (code, signal) => {
        clearTimeout(t);
        resolve(code === 0 ? { ok: true, message: 'pre_promote succeeded' } : { ok: false, message: `pre_promote exited with ${code ?? signal}` });
      });
    });
  }
}

/** Split a command line on whitespace, honouring simple single and double quotes. */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(cmd)) !== null) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}
