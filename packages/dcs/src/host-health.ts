import { noop, type IDefaultPolicyContext, type IPolicy } from 'cockatiel';
import { isRecoverableError } from 'etcd3';

/** Thrown by the host policy instead of calling a host that failed recently while another looks fine. */
export class HostSkipped extends Error {
  constructor(host: string) {
    super(`skipped ${host}: it failed recently`);
  }
}

function isStream(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { on?: unknown }).on === 'function';
}

/**
 * Per-host health for a multi-host etcd client, used as the etcd3 library's per-host fault policy
 * (`faultHandling.host`). A host whose last call failed with a connection-level error (unavailable,
 * deadline exceeded, cancelled) is "down" for a while (1 s, doubling per consecutive failure, up
 * to 30 s). While it is down and some other host is not, calls skip it (the library then tries the
 * next host within the same call). When every host is down, calls go through anyway, so a single
 * host or a cluster-wide blip never locks the client out. Unlike a circuit breaker, nothing ever
 * fails just because of past failures.
 */
export class HostHealth {
  private readonly state = new Map<string, { downUntil: number; failures: number }>();

  constructor(hosts: readonly string[], private readonly now: () => number = Date.now) {
    for (const h of hosts) this.state.set(h, { downUntil: 0, failures: 0 });
  }

  isDown(host: string): boolean {
    return (this.state.get(host)?.downUntil ?? 0) > this.now();
  }

  private shouldSkip(host: string): boolean {
    if (!this.isDown(host)) return false;
    for (const other of this.state.keys()) if (other !== host && !this.isDown(other)) return true;
    return false;
  }

  markDown(host: string): void {
    const s = this.state.get(host);
    if (!s) return;
    s.failures += 1;
    s.downUntil = this.now() + Math.min(1000 * 2 ** (s.failures - 1), 30_000);
  }

  markUp(host: string): void {
    const s = this.state.get(host);
    if (!s) return;
    s.failures = 0;
    s.downUntil = 0;
  }

  policyFor(host: string): IPolicy {
    return new HostPolicy(this, host, (h) => this.shouldSkip(h));
  }
}

class HostPolicy implements IPolicy {
  declare readonly _altReturn: never;
  readonly onSuccess = noop.onSuccess;
  readonly onFailure = noop.onFailure;

  constructor(
    private readonly health: HostHealth,
    private readonly host: string,
    private readonly shouldSkip: (host: string) => boolean,
  ) {}

  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    if (this.shouldSkip(this.host)) throw new HostSkipped(this.host);
    try {
      const result = await fn({ signal: signal ?? new AbortController().signal });
      // A stream "succeeds" as soon as it is created; only unary answers prove the host is up.
      if (!isStream(result)) this.health.markUp(this.host);
      return result;
    } catch (err) {
      if (err instanceof Error && isRecoverableError(err)) this.health.markDown(this.host);
      else this.health.markUp(this.host); // etcd answered (with an application error)
      throw err;
    }
  }
}
