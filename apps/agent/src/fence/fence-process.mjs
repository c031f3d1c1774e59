// keel-fence: a tiny process beside a primary's agent (plain JavaScript, no dependencies, so it
// starts in milliseconds and has nothing to hang on). The agent arms it after every successful
// leader-lock renewal with a deadline before the lock's lease can expire; if the deadline passes
// without a new one (the agent hung, was SIGSTOPped or died), it stops PostgreSQL at once
// (SIGQUIT = immediate shutdown, SIGKILL if that does not work), so a primary whose agent cannot
// hold the lock never keeps accepting writes after another member may have taken over.
//
// Protocol on stdin, one JSON object per line:
//   {"op":"arm","deadline":<epoch ms>,"dataDir":"/path/to/data"}   (re-arm moves the deadline)
//   {"op":"disarm"}
// When stdin closes (the agent exited or died) it stays armed until the deadline, then exits.
import fs from 'node:fs';
import readline from 'node:readline';

let armed = null; // { deadline, dataDir }
let inputClosed = false;

function log(msg, extra = {}) {
  process.stderr.write(`${JSON.stringify({ level: 50, time: new Date().toISOString(), component: 'fence', pid: process.pid, ...extra, msg })}\n`);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function postmasterPid(dataDir) {
  try {
    const pid = Number(fs.readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}

async function fence(dataDir, lateMs) {
  const pid = postmasterPid(dataDir);
  if (!pid) {
    log('fence deadline passed; PostgreSQL is not running', { lateMs });
    return;
  }
  log('the agent did not renew the leader lock in time: stopping PostgreSQL (immediate)', { postmaster: pid, lateMs });
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    /* gone already */
  }
  const until = Date.now() + 3000;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) {
    log('PostgreSQL ignored the immediate shutdown: SIGKILL', { postmaster: pid });
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

const timer = setInterval(async () => {
  const now = Date.now();
  if (armed && now >= armed.deadline) {
    const { dataDir, deadline } = armed;
    armed = null;
    await fence(dataDir, now - deadline);
  }
  if (inputClosed && !armed) process.exit(0);
}, 20);
timer.unref?.();
setInterval(() => undefined, 1 << 30); // keep the process alive while armed

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let m;
  try {
    m = JSON.parse(line);
  } catch {
    log('ignoring a malformed fence command');
    return;
  }
  if (m.op === 'arm' && Number.isFinite(m.deadline) && typeof m.dataDir === 'string') armed = { deadline: m.deadline, dataDir: m.dataDir };
  else if (m.op === 'disarm') armed = null;
});
rl.on('close', () => {
  inputClosed = true;
  if (!armed) process.exit(0);
});
process.on('SIGTERM', () => undefined); // only the agent's disarm + close ends a fence
process.on('SIGINT', () => undefined);
