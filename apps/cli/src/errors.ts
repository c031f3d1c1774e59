/**
 * keelctl's exit codes, documented in `keelctl --help`:
 *   0  done
 *   1  the operation was refused or failed (a 412 from the agent, a declined confirmation, ...)
 *   2  usage or configuration error (bad flag, no scope, missing --force without a terminal)
 *   3  cannot reach the DCS (etcd) or an agent's REST API
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error meant for the user: main.ts prints "Error: <message>" (no stack) and exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  /** The command already printed what went wrong: main.ts only sets the exit code. */
  readonly reported: boolean;
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    opts: { reported?: boolean } = {},
  ) {
    super(message);
    this.reported = opts.reported ?? false;
  }
}

export const failed = (message: string) => new CliError(EXIT.failed, message);
export const usageError = (message: string) => new CliError(EXIT.usage, message);
export const unreachable = (message: string) => new CliError(EXIT.unreachable, message);

export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  the operation was refused or failed (the agent said no, e.g. 412; a confirmation was declined)
  2  usage or configuration error (unknown option, no scope, --force missing without a terminal)
  3  cannot reach etcd or a member's REST API`;
