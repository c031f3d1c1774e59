import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Etcd3Config } from '../config/types.ts';
import type { Runtime } from '../runtime.ts';

// Next to this module in src/fence/ and next to the bundle in dist/ (scripts/build.mjs copies it).
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'keel-fence.sh');

/**
 * The agent's side of the fencing process (keel-fence.sh: bash, not a second Node runtime). While
 * this member runs as primary holding the lock, every tick re-arms it with a deadline before the lease can expire; when the
 * agent cannot renew (it hangs, is stopped, dies), the fence stops PostgreSQL on its own.
 */
export class Fence {
  private child: ChildProcess | null = null;
  private armedDeadline: number | null = null;
  private sentLease: string | null = null;

  constructor(private readonly rt: Runtime) {}

  start(): void {
    // Detached, in its own process group: a signal to the agent's group does not reach it.
    this.child = spawn('bash', [SCRIPT], { stdio: ['pipe', 'ignore', 'inherit'], detached: true, env: fenceEnv(this.rt.config.etcd3) });
    this.child.on('error', (e) => this.rt.log.error({ err: e.message }, 'fence process could not start'));
    this.child.on('exit', (code, signal) => {
      if (!this.rt.stopping) this.rt.log.error({ code, signal }, 'fence process exited; starting a new one');
      this.child = null;
      if (!this.rt.stopping) setTimeout(() => this.start(), 200).unref();
    });
    this.child.stdin?.on('error', () => undefined);
    this.child.unref();
    this.armedDeadline = null;
    this.sentLease = null;
  }

  /** Called after every tick: arm while primary with the lock, disarm otherwise. */
  update(): void {
    const rt = this.rt;
    const primary = rt.lastProbe?.running === true && rt.lastProbe.role === 'primary';
    if (primary && rt.lastLockOkAt !== null) {
      // The lease holding the leader key, before the deadline it goes with: a fence that sees the
      // agent die revokes it once PostgreSQL is confirmed stopped (keel-fence.sh).
      // On ZooKeeper there is nothing bash can revoke (the lease is a session): the fence stops
      // PostgreSQL and the leader znode goes when the dead agent's session expires (ttl).
      const lease = rt.config.etcd3 ? rt.dcs.leaseId : null;
      if (lease !== this.sentLease) this.sendLease(lease);
      // Later than the agent's own guard, still before the lease can expire (lastLockOkAt is taken
      // when the renewal started, before the keepalive reached etcd).
      const margin = Math.max(500, Math.min((rt.settings.retryTimeout * 1000) / 4, (rt.settings.ttl * 1000) / 8));
      this.send({ op: 'arm', deadline: rt.lastLockOkAt + rt.settings.ttl * 1000 - margin, dataDir: rt.config.postgresql.data_dir });
    } else if (this.armedDeadline !== null) {
      this.send({ op: 'disarm' });
    }
  }

  /** Graceful shutdown: disarm and let the process exit. */
  stop(): void {
    if (!this.child) return;
    this.send({ op: 'disarm' });
    this.child.stdin?.end();
  }

  /** For the control plane's readiness view: armed now, and a lease id it could revoke on the agent's death. */
  state(): { armed: boolean; leaseKnown: boolean } {
    return { armed: this.child !== null && this.armedDeadline !== null, leaseKnown: this.sentLease !== null && /^[0-9]+$/.test(this.sentLease) && this.sentLease !== '0' };
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  private sendLease(id: string | null): void {
    if (!this.child?.stdin?.writable) return;
    let hex = '-';
    try {
      if (id !== null && /^[0-9]+$/.test(id) && BigInt(id) > 0n) hex = BigInt(id).toString(16);
    } catch {
      /* not a lease id: unknown */
    }
    this.child.stdin.write(`lease ${hex}\n`);
    this.sentLease = id;
  }

  private send(m: { op: 'arm'; deadline: number; dataDir: string } | { op: 'disarm' }): void {
    if (!this.child?.stdin?.writable) return;
    if (m.op === 'arm' && m.deadline === this.armedDeadline) return;
    // One line a command (keel-fence.sh); the deadline rounds down, i.e. earlier, the safe side.
    this.child.stdin.write(m.op === 'arm' ? `arm ${Math.floor(m.deadline)} ${m.dataDir}\n` : 'disarm\n');
    this.armedDeadline = m.op === 'arm' ? m.deadline : null;
  }
}

/**
 * The fence's environment: the agent's own minus any ETCDCTL_* it inherited, plus etcdctl's settings
 * for this agent's etcd (endpoints, TLS files, user), so the fence can revoke the leader lease with
 * the same access as the agent. The environment of a process is readable only by its own user, like
 * the agent's configuration file that holds the password.
 */
function fenceEnv(e: Etcd3Config | undefined): NodeJS.ProcessEnv {
  if (e) return etcdctlEnv(e);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_')) env[k] = v;
  return env;
}

export function etcdctlEnv(e: Etcd3Config, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith('ETCDCTL_')) env[k] = v;
  env.ETCDCTL_API = '3';
  env.ETCDCTL_ENDPOINTS = e.hosts.map((h) => `${e.protocol}://${h}`).join(',');
  if (e.cacert !== undefined) env.ETCDCTL_CACERT = e.cacert;
  if (e.cert !== undefined) {
    env.ETCDCTL_CERT = e.cert;
    env.ETCDCTL_KEY = e.key ?? e.cert;
  }
  if (e.username !== undefined) env.ETCDCTL_USER = `${e.username}:${e.password ?? ''}`;
  return env;
}
