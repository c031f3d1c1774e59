/**
 * Prisma CLI configuration, and the ONE place for the workarounds that make Prisma 6.19 work with
 * no network (see ../../shared/reference/stack-notes.md, "Prisma"):
 *
 * 1. engine "js" + the pg driver adapter: the CLI runs its Wasm schema engine in-process instead
 *    of downloading a `schema-engine` binary (which cannot be fetched here).
 * 2. pg results of type `name` (oid 19) and `"char"` (oid 18) are reported as `text`: the Wasm
 *    engine's introspection queries return them and the adapter refuses them ("Column type 'name'
 *    could not be deserialized", an open Prisma issue).
 * 3. The shadow database of `migrate dev` gets discrete host/port/user/database (a connection string
 *    would win over the database name and point the shadow at the real database), and its pool is
 *    closed before the database is dropped (else DROP DATABASE fails: "being accessed by other users").
 * 4. A migration script is sent to PostgreSQL whole (one multi-statement query, which PostgreSQL runs
 *    as one implicit transaction): the adapter splits scripts on every ";", which breaks the
 *    PL/pgSQL trigger function of the audit log and any ";" in a comment.
 * 5. `generate` needs DATABASE_URL to be set even though it never connects (without it Prisma 6
 *    falls back to fetching a query engine): a placeholder is set for `generate` only.
 * 6. Timers of 5 s or more are unref'd: the Wasm engine leaves long timers behind and the CLI would
 *    linger 10-60 s after finishing. This file is loaded by the CLI process itself, so patching here
 *    covers it.
 *
 * The runtime client (apps/control-plane/server/db.ts) needs none of this: it uses the adapter
 * with a plain connection string.
 */
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';

// (5) generate never connects, but needs the variable
if (!process.env.DATABASE_URL && process.argv.includes('generate')) {
  process.env.DATABASE_URL = 'postgresql://generate-only@127.0.0.1:1/unused';
}

// (6) unref long timers so the CLI exits as soon as its work is done
for (const name of ['setTimeout', 'setInterval'] as const) {
  const original = globalThis[name] as (...args: unknown[]) => NodeJS.Timeout;
  (globalThis as Record<string, unknown>)[name] = (...args: unknown[]) => {
    const timer = original(...args);
    if (typeof args[1] === 'number' && args[1] >= 5000 && typeof timer?.unref === 'function') timer.unref();
    return timer;
  };
}

// (2) report `name` and `"char"` columns as text
const NAME_OID = 19;
const CHAR_OID = 18;
const TEXT_OID = 25;
type QueryResultLike = { fields?: Array<{ dataTypeID: number }> };
function asText<T>(result: T): T {
  for (const f of (result as QueryResultLike | undefined)?.fields ?? []) {
    if (f.dataTypeID === NAME_OID || f.dataTypeID === CHAR_OID) f.dataTypeID = TEXT_OID;
  }
  return result;
}
class TextNameClient extends pg.Client {
  // pg's query() has many overloads: the promise form and (through pg.Pool) the callback form.
  override query(...args: unknown[]): never {
    const last = args.length - 1;
    const cb = args[last];
    if (typeof cb === 'function') args[last] = (err: unknown, res: unknown) => cb(err, err ? res : asText(res));
    const r = (super.query as (...a: unknown[]) => unknown)(...args);
    if (r && typeof (r as Promise<unknown>).then === 'function') return (r as Promise<unknown>).then(asText) as never;
    return r as never;
  }
}

// (3) discrete connection fields, and a shadow database whose pool is closed before it is dropped
function poolConfig(): pg.PoolConfig {
  const raw = process.env.DATABASE_URL;
  if (!raw) throw new Error('DATABASE_URL is not set (postgresql://user:password@host:port/database)');
  const u = new URL(raw);
  return {
    host: decodeURIComponent(u.hostname),
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    ...(u.searchParams.get('sslmode') && u.searchParams.get('sslmode') !== 'disable' ? { ssl: { rejectUnauthorized: u.searchParams.get('sslmode') === 'verify-full' } } : {}),
    Client: TextNameClient,
    // idle pooled connections must not keep the CLI alive (pg keeps them 10 s by default)
    allowExitOnIdle: true,
  } as pg.PoolConfig;
}

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>;
// (4) one query per script, not one per ";"
function wholeScripts(adapter: Adapter): Adapter {
  adapter.executeScript = async (script: string) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (error) {
      (adapter as unknown as { onError(e: unknown): never }).onError(error);
    }
  };
  return adapter;
}

class OfflinePrismaPg extends PrismaPg {
  override async connect() {
    return wholeScripts(await super.connect());
  }

  override async connectToShadowDb() {
    const main = await this.connect();
    const database = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID().replaceAll('-', '')}`;
    await main.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = wholeScripts(await new PrismaPg({ ...poolConfig(), database }).connect());
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await main.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
      await main.dispose();
    };
    return shadow;
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  // (1) the Wasm schema engine through the pg adapter
  adapter: async () => new OfflinePrismaPg(poolConfig()),
  // relative to this file
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
});
