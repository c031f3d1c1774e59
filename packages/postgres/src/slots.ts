/**
 * Permanent replication slots on one instance (the agent's slots module drives it): create physical
 * and logical slots, drop, advance, and, on a standby of PostgreSQL < 17 (no failover slots), copy a
 * logical slot from the primary by its state file, as Patroni does: read
 * `pg_replslot/<name>/state` on the primary with pg_read_binary_file, write it into this (stopped)
 * data directory, and start PostgreSQL, which loads it.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'pg';
import { formatLsn, parseLsn } from '@keel/protocol';
import type { HostPort } from './types.ts';

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

function checkName(name: string): void {
  if (!SLOT_NAME.test(name)) throw new Error(`not a valid replication slot name: ${JSON.stringify(name)}`);
}

/** A logical slot read from the primary, ready to be installed on a standby. */
export interface SlotStateCopy {
  name: string;
  database: string;
  plugin: string;
  confirmedFlushLsn: number | null;
  /** The slot's restart_lsn on the primary: a copy needs the WAL from there. */
  restartLsn: number | null;
  /** The slot's on-disk state file (pg_replslot/<name>/state). */
  data: Buffer;
}

/** What the slot operations need from Postgres. */
export interface SlotHost {
  dataDir: string;
  /** A connection to the local server as the superuser, in `database`. */
  localClient(database: string): Promise<Client>;
  /** A connection to another member's server (the rewind role, else the superuser), database postgres. */
  sourceClient(source: HostPort): Promise<Client>;
  /** chown to the PostgreSQL OS user when the agent runs as another. */
  own(path: string): Promise<void>;
}

async function withClient<T>(connect: Promise<Client>, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await connect;
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export class SlotOps {
  constructor(private readonly host: SlotHost) {}

  /** Creates a physical slot that reserves WAL at once; false when it already existed. */
  async createPhysical(name: string): Promise<boolean> {
    checkName(name);
    return withClient(this.host.localClient('postgres'), async (c) => {
      const r = await c.query(
        `SELECT pg_catalog.pg_create_physical_replication_slot($1, true)
          WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1)`,
        [name],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  /** Creates a logical slot in its database (primary only: PostgreSQL < 16 refuses it in recovery). */
  async createLogical(name: string, database: string, plugin: string): Promise<boolean> {
    checkName(name);
    return withClient(this.host.localClient(database), async (c) => {
      const r = await c.query(
        `SELECT pg_catalog.pg_create_logical_replication_slot($1, $2)
          WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1)`,
        [name, plugin],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  /** Drops an inactive slot (Patroni's query): { active, dropped }. */
  async drop(name: string): Promise<{ active: boolean; dropped: boolean }> {
    checkName(name);
    return withClient(this.host.localClient('postgres'), async (c) => {
      const r = await c.query<{ active: boolean; dropped: boolean }>(
        `WITH slots AS (SELECT slot_name, active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1),
              dropped AS (SELECT pg_catalog.pg_drop_replication_slot(slot_name), true AS dropped FROM slots WHERE NOT active)
         SELECT active, COALESCE(dropped, false) AS dropped FROM slots FULL OUTER JOIN dropped ON true`,
        [name],
      );
      const row = r.rows[0];
      return row ? { active: row.active === true, dropped: row.dropped === true } : { active: false, dropped: false };
    });
  }

  /**
   * pg_replication_slot_advance, from the slot's database for a logical slot (PostgreSQL refuses it
   * elsewhere). Returns the position reached. No statement timeout: decoding a long stretch of WAL
   * takes what it takes (the caller does not wait for it in the HA loop).
   */
  async advance(name: string, lsn: number, database: string | null): Promise<number | null> {
    checkName(name);
    return withClient(this.host.localClient(database ?? 'postgres'), async (c) => {
      await c.query('SET statement_timeout = 0');
      const r = await c.query<{ end_lsn: string | null }>('SELECT end_lsn::text FROM pg_catalog.pg_replication_slot_advance($1, $2::pg_lsn)', [name, formatLsn(lsn)]);
      const end = r.rows[0]?.end_lsn;
      return end ? parseLsn(end) : null;
    });
  }

  /** The named logical slots' state files on the primary at `source` (slots that are not logical are left out). */
  async readLogicalStates(source: HostPort, names: readonly string[]): Promise<SlotStateCopy[]> {
    names.forEach(checkName);
    return withClient(this.host.sourceClient(source), async (c) => {
      await c.query('SET statement_timeout = 5000');
      const r = await c.query<{ slot_name: string; datname: string; plugin: string; confirmed_flush_lsn: string | null; restart_lsn: string | null; data: Buffer }>(
        `SELECT s.slot_name, d.datname, s.plugin, s.confirmed_flush_lsn::text AS confirmed_flush_lsn, s.restart_lsn::text AS restart_lsn,
                pg_catalog.pg_read_binary_file('pg_replslot/' || s.slot_name || '/state') AS data
           FROM pg_catalog.pg_replication_slots s JOIN pg_catalog.pg_database d ON s.datoid = d.oid
          WHERE NOT pg_catalog.pg_is_in_recovery() AND s.slot_type = 'logical' AND s.slot_name = ANY($1)`,
        [[...names]],
      );
      return r.rows.map((row) => ({
        name: row.slot_name,
        database: row.datname,
        plugin: row.plugin,
        confirmedFlushLsn: row.confirmed_flush_lsn ? parseLsn(row.confirmed_flush_lsn) : null,
        restartLsn: row.restart_lsn ? parseLsn(row.restart_lsn) : null,
        data: row.data,
      }));
    });
  }

  /** catalog_xmin of the named slots on the primary at `source` (absent: no such slot; null: none). */
  async primaryCatalogXmins(source: HostPort, names: readonly string[]): Promise<Map<string, number | null>> {
    names.forEach(checkName);
    return withClient(this.host.sourceClient(source), async (c) => {
      await c.query('SET statement_timeout = 2000');
      const r = await c.query<{ slot_name: string; catalog_xmin: string | null }>(
        `SELECT slot_name, catalog_xmin::text AS catalog_xmin FROM pg_catalog.pg_replication_slots
          WHERE NOT pg_catalog.pg_is_in_recovery() AND slot_name = ANY($1)`,
        [[...names]],
      );
      return new Map(r.rows.map((row) => [row.slot_name, row.catalog_xmin === null ? null : Number(row.catalog_xmin)]));
    });
  }

  /**
   * Writes copied slots into pg_replslot (PostgreSQL must be stopped): each into <name>.tmp, fsynced,
   * then renamed over any old copy, the way PostgreSQL itself saves a slot.
   */
  async install(copies: readonly SlotStateCopy[]): Promise<void> {
    const base = join(this.host.dataDir, 'pg_replslot');
    for (const s of copies) {
      checkName(s.name);
      const dir = join(base, s.name);
      const tmp = `${dir}.tmp`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { mode: 0o700 });
      await this.host.own(tmp);
      const file = join(tmp, 'state');
      const fh = await open(file, 'w', 0o600);
      try {
        await fh.writeFile(s.data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.host.own(file);
      await fsyncDir(tmp);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
      await fsyncDir(dir);
    }
    await fsyncDir(base);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
