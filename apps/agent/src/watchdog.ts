import fs from 'node:fs';
import path from 'node:path';
import type { AgentConfig } from './config.ts';
import type { Logger } from './log.ts';

/**
 * The watchdog device (Patroni's watchdog, Linux /dev/watchdog semantics), ARCHITECTURE.md "Watchdog":
 * - opened when this member is about to promote (the promote executor) or leads without it open;
 *   every write resets the device's timer, so a keepalive ('1') follows each successful renewal of the
 *   leader lock (or hold in failsafe mode); an agent that hangs or dies stops writing and the device
 *   resets the machine before the leader key can expire;
 * - closed with the magic character 'V' (the driver then disarms: "magic close") when this member stops
 *   leading (demote, switchover, lost lock), while paused and at a clean shutdown;
 * - Node cannot issue the WDIOC_SETTIMEOUT ioctl without a native addon, so Keel does not set the
 *   timeout: it reads the driver's timeout from sysfs (/sys/class/watchdog/<dev>/timeout) and requires
 *   loop_wait < timeout <= ttl - safety_margin (ttl/2 with safety_margin -1); the operator sets the
 *   driver's timeout (softdog: soft_margin=N). A named pipe stands in for the device in tests (as in
 *   Patroni's acceptance tests): no timeout to check, the keepalives and the 'V' can be read from it.
 * `automatic` without a usable device runs on Keel's own fencing (keel-fence); `required` never leads.
 */
export class WatchdogDevice {
  private fd: number | null = null;
  private openedPath: string | null = null;
  /** The lock time (lastLockOkAt) the last keepalive was sent for: one keepalive per renewal. */
  private keptAliveFor: number | null = null;
  /** The last activation failure and when (ms): reported to decide() for ttl in `required` mode. */
  private failure: { message: string; at: number } | null = null;
  /** `automatic`: the last fallback warning, logged once while it stays the same. */
  private warned: string | null = null;

  constructor(
    private readonly config: () => AgentConfig,
    private readonly log: Logger,
    /** Where the drivers show their settings (tests point it elsewhere). */
    private readonly sysfs = '/sys/class/watchdog',
  ) {}

  get isOpen(): boolean {
    return this.fd !== null;
  }

  /** Why the last activation failed, if it did less than `withinMs` ago. */
  recentFailure(now: number, withinMs: number): string | null {
    return this.failure !== null && now - this.failure.at < withinMs ? this.failure.message : null;
  }

  /**
   * Open the device (once) and check its timeout against the timing rule. Returns null when it is open,
   * or when the mode is `automatic`/`off` and it could not be (Keel's own fencing then covers alone);
   * the problem when the mode is `required` and it could not be.
   */
  activate(settings: { ttl: number; loopWait: number }): string | null {
    const w = this.config().watchdog;
    if (w.mode === 'off') return null;
    const device = w.device || '/dev/watchdog';
    if (this.fd !== null && this.openedPath === device) return null;
    if (this.fd !== null) this.disable('the watchdog device changed');
    const problem = this.open(device, w.safety_margin, settings);
    if (problem === null) {
      this.failure = null;
      this.warned = null;
      return null;
    }
    this.failure = { message: problem, at: Date.now() };
    if (w.mode === 'required') {
      this.log.error({ device }, `watchdog.mode is required and the watchdog could not be activated: ${problem}`);
      return problem;
    }
    if (this.warned !== problem) this.log.warn({ device }, `watchdog not activated (${problem}); relying on Keel's fencing process`);
    this.warned = problem;
    return null;
  }

  private open(device: string, safetyMargin: number, s: { ttl: number; loopWait: number }): string | null {
    const wanted = safetyMargin === -1 ? Math.floor(s.ttl / 2) : s.ttl - safetyMargin;
    if (wanted <= s.loopWait) {
      return `the safe timeout ttl - safety_margin (${wanted} s) is not longer than loop_wait (${s.loopWait} s): keepalives would come too late`;
    }
    let fd: number;
    try {
      // O_NONBLOCK: a named pipe without a reader fails at once (ENXIO) instead of blocking the agent.
      fd = fs.openSync(device, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      return `cannot open ${device}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
    const st = fs.fstatSync(fd);
    if (st.isCharacterDevice()) {
      const { timeout, nowayout } = deviceInfo(device, this.sysfs);
      if (nowayout) this.log.warn({ device }, `watchdog ${device} cannot be disabled (nowayout): the machine resets even after a clean demote or shutdown`);
      const why =
        timeout === null
          ? `cannot read its timeout from /sys/class/watchdog (Keel cannot set it: set the driver's timeout to at most ${wanted} s)`
          : timeout > wanted
            ? `its timeout ${timeout} s is longer than ttl - safety_margin (${wanted} s); set the driver's timeout (softdog: soft_margin)`
            : timeout <= s.loopWait
              ? `its timeout ${timeout} s is not longer than loop_wait (${s.loopWait} s)`
              : null;
      if (why !== null) {
        if (this.config().watchdog.mode === 'required' || (timeout !== null && timeout <= s.loopWait)) {
          magicClose(fd);
          return why;
        }
        this.log.warn({ device }, `watchdog ${device} opened, but ${why}: it may not fire before the leader key expires`);
      }
      this.log.info({ device, timeout }, 'watchdog activated');
    } else if (st.isFIFO()) {
      this.log.warn({ device }, `watchdog ${device} is a named pipe, not a device: keepalives are written to it but nothing resets the machine (test harness)`);
    } else {
      magicClose(fd);
      return `${device} is neither a character device nor a named pipe`;
    }
    this.fd = fd;
    this.openedPath = device;
    this.keptAliveFor = null;
    return null;
  }

  /** One keepalive for the lock renewal that started at `lockAt`, unless one was already sent for it. */
  keepalive(lockAt: number): void {
    if (this.fd === null || this.keptAliveFor === lockAt) return;
    try {
      fs.writeSync(this.fd, '1');
      this.keptAliveFor = lockAt;
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'could not send a watchdog keepalive');
    }
  }

  /** Magic close: 'V' then close, so the driver disarms instead of resetting the machine. */
  disable(why: string): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    this.openedPath = null;
    this.keptAliveFor = null;
    magicClose(fd);
    this.log.info({ why }, 'watchdog disabled (magic close)');
  }

  /**
   * After every tick: leading (the loop's judgement, HaLoop.updateWatchdog: a lock, or failsafe hold,
   * younger than ttl) and not paused: make sure the device is open and send the keepalive for the latest
   * renewal; otherwise close it with the magic character.
   */
  update(s: { leadingSince: number | null; paused: boolean; ttl: number; loopWait: number; now: number }): void {
    const mode = this.config().watchdog.mode;
    const leading = s.leadingSince !== null && s.now - s.leadingSince < s.ttl * 1000;
    if (mode === 'off' || !leading || s.paused) {
      this.disable(mode === 'off' ? 'watchdog.mode is off' : s.paused ? 'paused' : 'not leading');
      return;
    }
    const device = this.config().watchdog.device || '/dev/watchdog';
    if (this.fd !== null && this.openedPath !== device) this.disable('watchdog.device changed'); // a reloaded configuration
    if (this.fd === null) {
      // After a failed activation, try again a ttl later (not every tick, not a warning a tick).
      if (this.recentFailure(s.now, s.ttl * 1000) !== null) return;
      this.activate(s);
    }
    this.keepalive(s.leadingSince!);
  }
}

function magicClose(fd: number): void {
  try {
    fs.writeSync(fd, 'V');
  } catch {
    /* the close below still happens */
  }
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}

/**
 * The driver's timeout in seconds (null: unknown) and whether it ignores the magic close (nowayout),
 * from sysfs (Linux >= 4.x, CONFIG_WATCHDOG_SYSFS).
 */
function deviceInfo(device: string, sysfs: string): { timeout: number | null; nowayout: boolean } {
  let name: string;
  try {
    name = path.basename(fs.realpathSync(device));
  } catch {
    return { timeout: null, nowayout: false };
  }
  if (name === 'watchdog') name = 'watchdog0'; // the legacy /dev/watchdog is the first device
  const read = (attr: string): number | null => {
    try {
      const n = Number(fs.readFileSync(path.join(sysfs, name, attr), 'utf8').trim());
      return Number.isInteger(n) ? n : null;
    } catch {
      return null;
    }
  };
  const timeout = read('timeout');
  return { timeout: timeout !== null && timeout > 0 ? timeout : null, nowayout: read('nowayout') === 1 };
}

/**
 * watchdog.mode `required`: why the watchdog cannot be used, or null (usable, or the mode is
 * `automatic`/`off`, where Keel's own fencing is enough). Patroni refuses the leader lock without a
 * usable watchdog in required mode; so does Keel (ha-core's blocker). Checked every tick without
 * opening the device (opening arms it): it exists, is a character device (or a named pipe, the test
 * stand-in) and this user may open it for writing; and the last activation did not fail less than
 * `withinMs` ago (then its reason).
 */
export function watchdogProblem(config: AgentConfig, device?: WatchdogDevice | null, now = Date.now(), withinMs = 0): string | null {
  const w = config.watchdog;
  if (w?.mode !== 'required') return null;
  const dev = w.device || '/dev/watchdog';
  const prefix = `watchdog.mode is required and ${dev} cannot be used`;
  if (device?.isOpen) return null;
  let st: fs.Stats;
  try {
    st = fs.statSync(dev);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return `${prefix}: ${code === 'ENOENT' ? 'it does not exist' : (code ?? (e as Error).message)}`;
  }
  if (!st.isCharacterDevice() && !st.isFIFO()) return `${prefix}: it is not a character device`;
  try {
    fs.accessSync(dev, fs.constants.W_OK);
  } catch {
    return `${prefix}: no permission to open it for writing`;
  }
  const failed = device?.recentFailure(now, withinMs) ?? null;
  return failed === null ? null : `${prefix}: ${failed}`;
}
