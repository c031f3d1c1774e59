/**
 * WAL positions. PostgreSQL prints them as "X/Y" (two 32-bit hex halves); Patroni stores them in the
 * DCS and REST API as plain integers (bytes). Keel uses integers everywhere except at the SQL edge.
 * Integers stay exact up to 2^53 bytes (8 PiB of WAL), well beyond any real cluster.
 */
export type Lsn = number;

export function parseLsn(text: string): Lsn {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`not a WAL position: ${JSON.stringify(text)}`);
  return parseInt(m[1]!, 16) * 0x1_0000_0000 + parseInt(m[2]!, 16);
}

export function formatLsn(lsn: Lsn): string {
  if (!Number.isSafeInteger(lsn) || lsn < 0) throw new Error(`not a WAL position: ${lsn}`);
  const hi = Math.floor(lsn / 0x1_0000_0000);
  const lo = lsn % 0x1_0000_0000;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}
