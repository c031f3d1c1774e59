import type { TTags } from '@keel/protocol';

/**
 * Why these tags forbid promotion, or null when they allow it. Patroni's Tags.nofailover: an explicit
 * `nofailover` (true or false) wins; otherwise `failover_priority <= 0` forbids promotion.
 */
export function promotionBlocker(tags: TTags): string | null {
  if (typeof tags.nofailover === 'boolean') return tags.nofailover ? 'tagged nofailover' : null;
  const priority = tags.failover_priority;
  if (typeof priority === 'number' && priority <= 0) return `tagged failover_priority ${priority}`;
  return null;
}

/** Patroni's Tags.failover_priority: 0 under nofailover, else the tag, default 1. */
export function failoverPriority(tags: TTags): number {
  if (tags.nofailover === true) return 0;
  return typeof tags.failover_priority === 'number' ? tags.failover_priority : 1;
}
