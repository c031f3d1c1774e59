import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../src/config.ts';
import type { Logger } from '../src/log.ts';
import { WatchdogDevice, watchdogProblem } from '../src/watchdog.ts';

/**
 * The watchdog device driven against a named pipe standing in for /dev/watchdog (as Patroni's acceptance
 * tests do): the test holds the read end and sees every keepalive ('1') and the magic close ('V').
 */

const quiet = { info() {}, warn() {}, error() {}, debug() {}, fatal() {} } as unknown as Logger;
const S = { ttl: 10, loopWait: 2 };

let dir: string;
let fifo: string;
let reader: number | null;

function config(mode: 'off' | 'automatic' | 'required', device = fifo, safety_margin = 5): AgentConfig {
  return { watchdog: { mode, device, safety_margin } } as unknown as AgentConfig;
}

/** Everything written to the pipe since the last call. */
function drain(): string {
  const buf = Buffer.alloc(4096);
  let out = '';
  for (;;) {
    let n = 0;
    try {
      n = fs.readSync(reader!, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return out;
      throw e;
    }
    if (n === 0) return out;
    out += buf.subarray(0, n).toString();
  }
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-watchdog-'));
  fifo = path.join(dir, 'watchdog.fifo');
  execFileSync('mkfifo', [fifo]);
  reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
});
afterEach(() => {
  if (reader !== null) fs.closeSync(reader);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the watchdog device (named pipe)', () => {
  it('opens when leading, sends one keepalive per lock renewal, and closes with the magic character when leading stops', () => {
    const w = new WatchdogDevice(() => config('required'), quiet);
    const now = Date.now();
    w.update({ leadingSince: now - 100, paused: false, now, ...S });
    expect(w.isOpen).toBe(true);
    expect(drain()).toBe('1');
    w.update({ leadingSince: now - 100, paused: false, now: now + 50, ...S }); // no renewal since: nothing
    expect(drain()).toBe('');
    w.update({ leadingSince: now + 2000, paused: false, now: now + 2100, ...S });
    w.update({ leadingSince: now + 4000, paused: false, now: now + 4100, ...S });
    expect(drain()).toBe('11');
    w.update({ leadingSince: null, paused: false, now: now + 4200, ...S });
    expect(drain()).toBe('V');
    expect(w.isOpen).toBe(false);
  });

  it('closes with the magic character while paused and writes nothing more until resumed', () => {
    const w = new WatchdogDevice(() => config('automatic'), quiet);
    const now = Date.now();
    w.update({ leadingSince: now, paused: false, now, ...S });
    w.update({ leadingSince: now + 2000, paused: true, now: now + 2000, ...S });
    w.update({ leadingSince: now + 4000, paused: true, now: now + 4000, ...S });
    expect(drain()).toBe('1V');
    w.update({ leadingSince: now + 6000, paused: false, now: now + 6000, ...S });
    expect(drain()).toBe('1');
  });

  it('a lock older than ttl is no longer leading; mode off or a clean shutdown closes it', () => {
    let mode: 'off' | 'automatic' = 'automatic';
    const w = new WatchdogDevice(() => config(mode), quiet);
    const now = Date.now();
    w.update({ leadingSince: now - 11_000, paused: false, now, ...S });
    expect(w.isOpen).toBe(false);
    w.update({ leadingSince: now, paused: false, now, ...S });
    mode = 'off';
    w.update({ leadingSince: now + 2000, paused: false, now: now + 2000, ...S });
    expect(drain()).toBe('1V');
    mode = 'automatic';
    w.update({ leadingSince: now + 4000, paused: false, now: now + 4000, ...S });
    w.disable('shutting down');
    expect(drain()).toBe('1V');
  });

  it('a reloaded configuration naming another device closes the old one (magic close) and opens the new one', () => {
    const other = path.join(dir, 'other.fifo');
    execFileSync('mkfifo', [other]);
    const otherReader = fs.openSync(other, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    let device = fifo;
    const w = new WatchdogDevice(() => config('required', device), quiet);
    const now = Date.now();
    w.update({ leadingSince: now, paused: false, now, ...S });
    device = other;
    w.update({ leadingSince: now + 2000, paused: false, now: now + 2000, ...S });
    expect(drain()).toBe('1V');
    const buf = Buffer.alloc(16);
    expect(buf.subarray(0, fs.readSync(otherReader, buf, 0, 16, null)).toString()).toBe('1');
    w.disable('test');
    fs.closeSync(otherReader);
  });

  it('required: a pipe nobody reads cannot be opened, so the member may not lead (and says why); automatic falls back', () => {
    fs.closeSync(reader!);
    reader = null;
    const required = new WatchdogDevice(() => config('required'), quiet);
    const problem = required.activate(S);
    expect(problem).toMatch(/^cannot open .*watchdog\.fifo: ENXIO$/);
    expect(watchdogProblem(config('required'), required, Date.now(), 10_000)).toBe(
      `watchdog.mode is required and ${fifo} cannot be used: ${problem}`,
    );
    expect(watchdogProblem(config('required'), required, Date.now() + 11_000, 10_000)).toBeNull(); // tried again after ttl
    expect(new WatchdogDevice(() => config('automatic'), quiet).activate(S)).toBeNull();
  });

  it('refuses a safety margin that leaves no time for a keepalive, and a device that is not one', () => {
    const w = new WatchdogDevice(() => config('required', fifo, 8), quiet);
    expect(w.activate(S)).toBe('the safe timeout ttl - safety_margin (2 s) is not longer than loop_wait (2 s): keepalives would come too late');
    const file = path.join(dir, 'plain');
    fs.writeFileSync(file, '');
    expect(new WatchdogDevice(() => config('required', file), quiet).activate(S)).toBe(`${file} is neither a character device nor a named pipe`);
    expect(watchdogProblem(config('required', file))).toBe(`watchdog.mode is required and ${file} cannot be used: it is not a character device`);
    expect(watchdogProblem(config('required', path.join(dir, 'none')))).toMatch(/it does not exist$/);
  });

  it('a character device: its timeout (from sysfs) must lie in (loop_wait, ttl - safety_margin]; required refuses otherwise, automatic warns', () => {
    // /dev/null is a character device; a fake sysfs gives it a driver timeout.
    const sysfs = path.join(dir, 'sys');
    fs.mkdirSync(path.join(sysfs, 'null'), { recursive: true });
    const timeout = (n: number | null) => {
      const f = path.join(sysfs, 'null', 'timeout');
      if (n === null) fs.rmSync(f, { force: true });
      else fs.writeFileSync(f, `${n}\n`);
    };
    const device = (mode: 'automatic' | 'required') => new WatchdogDevice(() => config(mode, '/dev/null'), quiet, sysfs);
    timeout(5);
    const ok = device('required');
    expect(ok.activate(S)).toBeNull();
    expect(ok.isOpen).toBe(true);
    ok.disable('test');
    timeout(6);
    expect(device('required').activate(S)).toBe("its timeout 6 s is longer than ttl - safety_margin (5 s); set the driver's timeout (softdog: soft_margin)");
    const loose = device('automatic');
    expect(loose.activate(S)).toBeNull();
    expect(loose.isOpen).toBe(true); // kept, with a warning (as Patroni keeps a device it could not set)
    loose.disable('test');
    timeout(2);
    expect(device('automatic').activate(S)).toBeNull();
    expect(device('required').activate(S)).toBe('its timeout 2 s is not longer than loop_wait (2 s)');
    timeout(null);
    expect(device('required').activate(S)).toMatch(/^cannot read its timeout from \/sys\/class\/watchdog/);
  });
});
