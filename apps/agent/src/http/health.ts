import type { TNodeStatus, TTags } from '@keel/protocol';

/** Everything a health check needs, gathered by the server; the decision below is pure. */
export interface HealthInput {
  status: TNodeStatus;
  hasLock: boolean;
  tags: TTags;
  /** Replica lag in bytes against the leader's last known position (null: unknown). */
  lagBytes: number | null;
  streaming: boolean;
  maximumLagOnFailover: number;
  /** ms since the HA loop last ran, and the ttl in seconds (for /liveness). */
  loopAgeMs: number;
  ttl: number;
  /** synchronous_mode (priority): this member is listed in /sync as a synchronous standby. */
  syncStandby: boolean;
  /** synchronous_mode: quorum: this member is a voter listed in /sync (absent: false). */
  quorumStandby?: boolean;
  /** standby_cluster is set: the lock holder is a standby leader, never a primary (absent: false). */
  standbyCluster?: boolean;
}

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** "16kB", "64MB", "1GB" or plain bytes, as Patroni accepts for ?lag=. null when unparsable. */
export function parseLag(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?b)?\s*$/i.exec(text);
  if (!m) return null;
  return Math.floor(Number(m[1]) * (UNITS[(m[2] ?? 'b').toLowerCase()] ?? 1));
}

export const HEALTH_PATHS = [
  '/',
  '/primary',
  '/master',
  '/read-write',
  '/leader',
  '/standby-leader',
  '/standby_leader',
  '/replica',
  '/read-only',
  '/synchronous',
  '/sync',
  '/asynchronous',
  '/async',
  '/read-only-sync',
  '/read-only-synchronous',
  '/quorum',
  '/read-only-quorum',
  '/health',
  '/liveness',
  '/readiness',
] as const;

function isPrimaryWithLock(h: HealthInput): boolean {
  return h.status.role === 'primary' && h.hasLock && h.status.state === 'running' && h.standbyCluster !== true;
}

/** Patroni: the lock holder of a standby cluster running in recovery (its role is standby_leader). */
function isStandbyLeader(h: HealthInput): boolean {
  const role = h.status.role;
  return h.standbyCluster === true && h.hasLock && h.status.state === 'running' && (role === 'standby_leader' || role === 'replica');
}

function replicaOk(h: HealthInput, query: URLSearchParams): boolean {
  const s = h.status;
  if (s.state !== 'running' || s.role !== 'replica' || h.tags.noloadbalance === true) return false;
  const lag = query.get('lag');
  if (lag !== null) {
    const max = parseLag(lag);
    if (max === null || h.lagBytes === null || h.lagBytes > max) return false;
  }
  const rs = query.get('replication_state');
  if (rs !== null && (rs === 'streaming') !== h.streaming) return false;
  for (const [k, v] of query) {
    if (!k.startsWith('tag_')) continue;
    const actual = h.tags[k.slice(4)];
    if (actual === undefined || String(actual).toLowerCase() !== v.toLowerCase()) return false;
  }
  return true;
}

/** The status code of a health endpoint, as Patroni answers it. */
export function healthCode(path: string, query: URLSearchParams, h: HealthInput): 200 | 503 {
  const ok = (b: boolean) => (b ? 200 : 503);
  switch (path) {
    case '/':
    case '/primary':
    case '/master':
    case '/read-write':
      return ok(isPrimaryWithLock(h));
    case '/leader':
      return ok(h.hasLock && h.status.state === 'running');
    case '/standby-leader':
    case '/standby_leader':
      return ok(isStandbyLeader(h));
    case '/replica':
      return ok(replicaOk(h, query));
    case '/asynchronous':
    case '/async':
      return ok(!h.syncStandby && h.quorumStandby !== true && replicaOk(h, query));
    case '/read-only':
      return ok(isPrimaryWithLock(h) || isStandbyLeader(h) || replicaOk(h, query));
    case '/synchronous':
    case '/sync':
      return ok(h.syncStandby && replicaOk(h, query));
    case '/read-only-sync':
    case '/read-only-synchronous':
      return ok(isPrimaryWithLock(h) || isStandbyLeader(h) || (h.syncStandby && replicaOk(h, query)));
    case '/quorum':
      return ok(h.quorumStandby === true && replicaOk(h, query));
    case '/read-only-quorum':
      return ok(isPrimaryWithLock(h) || isStandbyLeader(h) || (h.quorumStandby === true && replicaOk(h, query)));
    case '/health':
      return ok(h.status.state === 'running');
    case '/liveness': {
      const limit = (h.hasLock ? 1 : 2) * h.ttl * 1000;
      return ok(h.status.pause === true || h.loopAgeMs <= limit);
    }
    case '/readiness': {
      if (h.hasLock) return ok(h.status.state === 'running');
      const lagParam = query.get('lag');
      const max = lagParam !== null ? parseLag(lagParam) : h.maximumLagOnFailover;
      return ok(h.status.state === 'running' && h.streaming && max !== null && h.lagBytes !== null && h.lagBytes <= max);
    }
    default:
      return 503;
  }
}
