/**
 * Sign-in throttling: after `maxFailures` failed sign-ins for one e-mail from one IP within
 * `windowMs`, further attempts for that pair are refused until the oldest failure leaves the
 * window. A successful sign-in clears the pair. The clock is injected (tests).
 *
 * In memory: the control plane is one process, and a restart forgetting the count is acceptable.
 */
export interface TThrottleVerdict {
  allowed: boolean;
  /** Seconds until the next attempt is allowed (0 when allowed). */
  retryAfterSeconds: number;
}

export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly opts: { maxFailures: number; windowMs: number; now?: () => number; maxKeys?: number },
  ) {}

  static key(email: string, ip: string | null | undefined): string {
    return `${email.trim().toLowerCase()}\u0000${ip ?? 'unknown'}`;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private recent(key: string): number[] {
    const since = this.now() - this.opts.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  check(key: string): TThrottleVerdict {
    const list = this.recent(key);
    if (list.length < this.opts.maxFailures) return { allowed: true, retryAfterSeconds: 0 };
    const oldest = list[list.length - this.opts.maxFailures] ?? this.now();
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.opts.windowMs - this.now()) / 1000)) };
  }

  fail(key: string): void {
    const list = this.recent(key);
    list.push(this.now());
    this.failures.set(key, list.slice(-this.opts.maxFailures));
    if (this.failures.size > (this.opts.maxKeys ?? 100_000)) this.prune();
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  /** Forget pairs whose failures all left the window. */
  prune(): void {
    for (const key of [...this.failures.keys()]) this.recent(key);
  }
}
