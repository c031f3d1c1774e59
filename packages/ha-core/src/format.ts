const UNITS = ['kB', 'MB', 'GB', 'TB'] as const;

/** Bytes as pg_size_pretty-like text with one decimal: 512 bytes, 1 MB, 3.2 MB (1 MB = 1024 kB). */
export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1).replace(/\.0$/, '')} ${UNITS[unit]}`;
}
