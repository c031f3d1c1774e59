import { Option, type Command } from 'commander';
import type { Ctl } from './context.ts';
import { FORMATS } from './render/output.ts';

/** Runs a command body with a Ctl built from the global options; main.ts maps errors to exit codes. */
export type Run = (body: (ctl: Ctl) => Promise<void>) => Promise<void>;

/** One CLI command: commands/<name>.ts exports one of these. */
export type Register = (program: Command, run: Run) => void;

export const formatOption = () =>
  new Option('-f, --format <format>', 'output format').choices([...FORMATS]).default('pretty');

export const forceOption = () => new Option('--force', 'do not ask for confirmation');

/** -w/--watch SECONDS and -W (every 2 s). */
export function watchOptions(cmd: Command): Command {
  return cmd.option('-W', 'refresh every 2 seconds').option('-w, --watch <seconds>', 'refresh every SECONDS seconds');
}

export function watchInterval(o: { W?: boolean; watch?: string }): number | null {
  if (o.watch !== undefined) {
    const s = Number(o.watch);
    return s > 0 && Number.isFinite(s) ? s : null;
  }
  return o.W ? 2 : null;
}
