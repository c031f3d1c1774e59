/**
 * The last backup, checked in the background: the leader's agent runs the configured tool's listing
 * (pgbackrest info / barman list-backups + show-backup) every `interval` seconds, with a timeout, and
 * keeps the result for the snapshots. Nothing on the HA loop waits for it: tick() only starts a check
 * when one is due and none is running, and never throws.
 */
import type { TBackupStatus } from '@keel/protocol';
import type { BackupCheckConfig } from '../config.ts';
import { parseBarmanList, withBarmanDetails } from './barman.ts';
import { errorStatus, type ToolOutput } from './common.ts';
import { parsePgBackRestInfo } from './pgbackrest.ts';

export type ToolRunner = (argv: readonly string[], timeoutMs: number) => Promise<ToolOutput>;

/** While a backup is running, check again this often (so its completion shows soon), not every `interval`. */
export const RUNNING_RECHECK_SECONDS = 30;

/** The argument lists of one check (appended to backup.<tool>.command). */
export function listingArgs(cfg: Pick<BackupCheckConfig, 'tool' | 'target'>): string[] {
  return cfg.tool === 'pgbackrest' ? [`--stanza=${cfg.target}`, 'info', '--output=json'] : ['-f', 'json', 'list-backups', cfg.target];
}

/** One check: run the tool (and for Barman, show-backup of the newest backup) and parse; never throws. */
export async function checkBackups(cfg: BackupCheckConfig, run: ToolRunner, now: () => number = Date.now): Promise<TBackupStatus> {
  const checkedAt = new Date(now()).toISOString();
  const deadline = now() + cfg.timeout * 1000;
  const left = () => Math.max(1, deadline - now());
  try {
    const out = await run([...cfg.argv, ...listingArgs(cfg)], left());
    if (cfg.tool === 'pgbackrest') return parsePgBackRestInfo(cfg.target, out, checkedAt);
    const listed = parseBarmanList(cfg.target, out, checkedAt);
    if (!listed.last) return listed;
    return withBarmanDetails(listed, await run([...cfg.argv, '-f', 'json', 'show-backup', cfg.target, listed.last.label], left()));
  } catch (e) {
    // the tool could not be started (not installed, not executable)
    return { tool: cfg.tool, target: cfg.target, checkedAt, ...errorStatus((e as Error).message) };
  }
}

export interface BackupStatusLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export class BackupStatusPoller {
  private last: TBackupStatus | null = null;
  private lastStartedAt = 0;
  private inflight: Promise<void> | null = null;
  private active = false;
  private stopped = false;

  constructor(
    private readonly cfg: BackupCheckConfig,
    private readonly run: ToolRunner,
    private readonly log: BackupStatusLog,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Once per HA loop iteration: `active` is true while this member should report (the running
   * primary). A check starts when this member just became active, when `interval` has passed, or
   * sooner while a backup is running. Returns at once.
   */
  tick(active: boolean): void {
    const became = active && !this.active;
    this.active = active;
    if (!active || this.stopped || this.inflight) return;
    const since = this.now() - this.lastStartedAt;
    const every = (this.last?.running ? Math.min(RUNNING_RECHECK_SECONDS, this.cfg.interval) : this.cfg.interval) * 1000;
    if (!became && this.last !== null && since < every) return;
    this.lastStartedAt = this.now();
    this.inflight = checkBackups(this.cfg, this.run, this.now)
      .then((s) => this.record(s))
      .catch(() => undefined)
      .finally(() => {
        this.inflight = null;
      });
  }

  /** The last check's result while active; null otherwise (a replica does not report). */
  current(): TBackupStatus | null {
    return this.active ? this.last : null;
  }

  /** Tests: the check in progress, if any. */
  settled(): Promise<void> {
    return this.inflight ?? Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
  }

  private record(s: TBackupStatus): void {
    const prev = this.last;
    this.last = s;
    const fields = { tool: s.tool, target: s.target, state: s.state, last: s.last?.label ?? null, ...(s.message ? { message: s.message } : {}) };
    // log transitions only, not every check
    if (prev?.state !== s.state || prev?.message !== s.message) {
      if (s.state === 'error') this.log.warn(fields, `${s.tool} cannot tell the last backup of ${s.target}`);
      else this.log.info(fields, s.last ? `last ${s.last.type} backup of ${s.target}: ${s.last.label}` : `no backup of ${s.target} yet`);
    } else if (prev.last?.label !== s.last?.label) {
      this.log.info(fields, `new ${s.last?.type ?? ''} backup of ${s.target}: ${s.last?.label ?? 'none'}`);
    }
  }
}
