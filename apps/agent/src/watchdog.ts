import fs from 'node:fs';
import type { AgentConfig } from './config.ts';

/**
 * watchdog.mode `required`: why the watchdog device cannot be used, or null (usable, or the mode is
 * `automatic`/`off`, where Keel's own fencing is enough). Patroni refuses the leader lock without a
 * usable watchdog in required mode; so does Keel (ha-core's blocker). Keel does not drive
 * /dev/watchdog yet, so "usable" means what can be checked without arming it: the device exists, is a
 * character device and this user may open it for writing (opening it would start the timer).
 */
export function watchdogProblem(config: AgentConfig): string | null {
  const w = config.watchdog;
  if (w?.mode !== 'required') return null;
  const device = w.device || '/dev/watchdog';
  const prefix = `watchdog.mode is required and ${device} cannot be used`;
  let st: fs.Stats;
  try {
    st = fs.statSync(device);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return `${prefix}: ${code === 'ENOENT' ? 'it does not exist' : (code ?? (e as Error).message)}`;
  }
  if (!st.isCharacterDevice()) return `${prefix}: it is not a character device`;
  try {
    fs.accessSync(device, fs.constants.W_OK);
  } catch {
    return `${prefix}: no permission to open it for writing`;
  }
  return null;
}
