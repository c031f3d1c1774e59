/**
 * The one Prisma client of the process (the TypeScript client generated into ../generated/prisma,
 * Wasm query compiler + the pg driver adapter: nothing to download).
 */
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { Prisma, PrismaClient } from '../generated/prisma/client.ts';

export { Prisma };
export type TDb = PrismaClient;

/**
 * One pg pool per process, shared by Prisma (through the adapter) and by the agent ingest's hot
 * path, which writes with plain parametrised SQL on the pool: a raw query through Prisma's JS
 * engine costs about 1 ms of CPU, the same statement on pg about 0.2 ms (measured with
 * bench/ingest.ts), and the ingest runs one per agent per second.
 */
export function createPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 20,
    // fail fast when the database is away, so that pages and agents hear about it quickly
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
  });
  // an idle connection dropped by the server (restart, outage) must not crash the process; the
  // next query reconnects or fails, and DbHealthMonitor reports it
  pool.on('error', () => undefined);
  return pool;
}

export function createDb(databaseUrl: string, pool: pg.Pool = createPool(databaseUrl)): TDb {
  return new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) });
}

export interface TDatabase {
  db: TDb;
  pool: pg.Pool;
}

// One client per process, shared by every module graph in it (the custom server's and, should a
// page ever import it, Next's), hence globalThis rather than a module variable.
const KEY = Symbol.for('keel.control-plane.db');
type WithDb = typeof globalThis & { [KEY]?: TDatabase };

/** The process's Prisma client and pool, created on first use from databaseUrl. */
export function getDatabase(databaseUrl: string): TDatabase {
  const g = globalThis as WithDb;
  if (!g[KEY]) {
    const pool = createPool(databaseUrl);
    g[KEY] = { pool, db: createDb(databaseUrl, pool) };
  }
  return g[KEY];
}

/** True when the error means "the database could not be reached" rather than a bad query. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let e: unknown = error;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    const o = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof o.code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EPIPE|57P0[1-3]|08\d\d\d|P1001|P1002|P1017|P2024)$/.test(o.code)) return true;
    if (o.name === 'PrismaClientInitializationError') return true;
    if (typeof o.message === 'string' && /ECONNREFUSED|Connection terminated|connection timeout|timeout exceeded when trying to connect|terminating connection|the database system is (starting up|shutting down)|Can't reach database server|DatabaseNotReachable|ConnectionClosed|Server has closed the connection/i.test(o.message)) return true;
    e = o.cause;
  }
  return false;
}
