/** Pure formatters for the dashboard: bytes, seconds, LSNs, times, roles. */

const BYTE_UNITS = ['kB', 'MB', 'GB', 'TB', 'PB'];

/** 0 B, 812 B, 1.4 kB, 23 MB (binary steps, one decimal below 10). */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (n < 1024) return `${Math.round(n)} B`;
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${BYTE_UNITS[i]}`;
}

/** 0 s, 0.4 s, 12 s, 3 min 4 s, 2 h 5 min, 3 d 4 h. */
export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '–';
  if (s === 0) return '0 s';
  if (s < 10) return `${s.toFixed(1).replace(/\.0$/, '')} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A WAL position as PostgreSQL prints it: 0/3000148. */
export function formatLsn(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return '–';
  const hi = Math.floor(n / 2 ** 32);
  const lo = n - hi * 2 ** 32;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** 14:03:02 today, "25 Nov 14:03:02" otherwise (local time, 24 h). */
export function formatTime(iso: string | null | undefined, now: Date = new Date()): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  const time = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  if (sameDay(d, now)) return time;
  return `${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })} ${time}`;
}

/** "just now", "4 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function formatAgo(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return 'never';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return 'never';
  const s = Math.max(0, Math.round((nowMs - t) / 1000));
  if (s < 2) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

export type TRoleName = 'primary' | 'replica' | 'standby_leader' | 'uninitialized';

/** How the dashboard names a role: the leader is "Leader", whatever Patroni calls it internally. */
export function roleLabel(role: TRoleName | null | undefined, opts: { sync?: boolean } = {}): string {
  switch (role) {
    case 'primary':
      return 'Leader';
    case 'standby_leader':
      return 'Standby leader';
    case 'replica':
      return opts.sync ? 'Sync standby' : 'Replica';
    case 'uninitialized':
      return 'Uninitialized';
    default:
      return 'Unknown';
  }
}

export function isLeaderRole(role: TRoleName | null | undefined): boolean {
  return role === 'primary' || role === 'standby_leader';
}

/** Cluster status words for people. */
export function statusLabel(status: 'healthy' | 'degraded' | 'no_leader' | 'split_brain' | 'unknown'): string {
  switch (status) {
    case 'healthy':
      return 'Healthy';
    case 'degraded':
      return 'Degraded';
    case 'no_leader':
      return 'No leader';
    case 'split_brain':
      return 'Several primaries';
    default:
      return 'No data';
  }
}

export function statusTone(status: 'healthy' | 'degraded' | 'no_leader' | 'split_brain' | 'unknown'): 'ok' | 'warn' | 'bad' | '' {
  return status === 'healthy' ? 'ok' : status === 'degraded' ? 'warn' : status === 'unknown' ? '' : 'bad';
}
