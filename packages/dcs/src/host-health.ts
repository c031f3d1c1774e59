/**
 * Per-host health for a multi-host etcd client, and the choice of host for the next request.
 *
 * Requests stick to the host that answered last (like etcd's own clients and Patroni). A host whose
 * request failed at the connection level (refused, reset, deadline exceeded, etcd unavailable) is
 * "down" for a while (1 s, doubling per consecutive failure, up to 30 s); while it is down and some
 * other host is not, requests go to the next host in the list that is not down. When every host is
 * down, requests still go out (to the one whose down period ends first), so a single host or a
 * cluster-wide blip never locks the client out: unlike a circuit breaker, nothing ever fails just
 * because of past failures.
 */
export class HostHealth {
  private readonly state = new Map<string, { downUntil: number; failures: number; lastOkAt: number }>();
  private readonly order: readonly string[];
  private preferred: string;
  private readonly downListeners = new Set<(host: string) => void>();

  constructor(
    hosts: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    if (hosts.length === 0) throw new Error('no etcd hosts given');
    this.order = [...hosts];
    this.preferred = this.order[0]!;
    for (const h of hosts) this.state.set(h, { downUntil: 0, failures: 0, lastOkAt: 0 });
  }

  isDown(host: string): boolean {
    return (this.state.get(host)?.downUntil ?? 0) > this.now();
  }

  /** The host for the next request. */
  pick(): string {
    if (!this.isDown(this.preferred)) return this.preferred;
    const start = this.order.indexOf(this.preferred);
    for (let i = 1; i < this.order.length; i++) {
      const h = this.order[(start + i) % this.order.length]!;
      if (!this.isDown(h)) return h;
    }
    let best = this.preferred;
    for (const h of this.order) if (this.state.get(h)!.downUntil < this.state.get(best)!.downUntil) best = h;
    return best;
  }

  markDown(host: string): void {
    const s = this.state.get(host);
    if (!s) return;
    s.failures += 1;
    s.downUntil = this.now() + Math.min(1000 * 2 ** (s.failures - 1), 30_000);
    for (const fn of this.downListeners) fn(host);
  }

  /** Calls `fn` whenever a request to a host fails at the connection level (markDown). Returns the unsubscribe. */
  onDown(fn: (host: string) => void): () => void {
    this.downListeners.add(fn);
    return () => this.downListeners.delete(fn);
  }

  /** The host answered (successfully or with an application error): it is up, and preferred from now on. */
  markUp(host: string): void {
    const s = this.state.get(host);
    if (!s) return;
    s.failures = 0;
    s.downUntil = 0;
    s.lastOkAt = this.now();
    this.preferred = host;
  }

  /** When the host last answered (ms since the epoch; 0 = never). */
  lastOkAt(host: string): number {
    return this.state.get(host)?.lastOkAt ?? 0;
  }
}
