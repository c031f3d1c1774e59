/**
 * The control plane for tests, the demo and the benchmarks: its own PostgreSQL (initdb in a temp
 * dir, as the `postgres` OS user when we are root) and the real server process (apps/control-plane
 * server.ts) on free ports.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresOsUser } from './cluster.ts';
import { freePort } from './ports.ts';
import { isAlive } from './processes.ts';
import { waitFor } from './wait.ts';

const execFileP = promisify(execFile);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CP_DIR = path.join(REPO_ROOT, 'apps/control-plane');
const TSX_LOADER = path.join(REPO_ROOT, 'node_modules/tsx/dist/esm/index.mjs');
const NEXT_BIN = path.join(REPO_ROOT, 'node_modules/next/dist/bin/next');

function pgBinDir(): string {
  const candidates = fs.existsSync('/usr/lib/postgresql')
    ? fs
        .readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => `/usr/lib/postgresql/${v}/bin`)
    : [];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'initdb')));
  if (!found) throw new Error('no PostgreSQL server binaries found under /usr/lib/postgresql/*/bin');
  return found;
}


export interface ControlPlaneDbOptions {
  /** Where to put the data directory (default: a new temp dir, removed by stop() unless keepData). */
  baseDir?: string;
  keepData?: boolean;
  port?: number;
}

export interface ControlPlaneDb {
  /** The application's role, which owns nothing: postgresql://keel:…@127.0.0.1:<port>/keel */
  databaseUrl: string;
  /** The owner role (keel_owner), which runs the migrations and owns the tables and triggers. */
  ownerUrl: string;
  port: number;
  dataDir: string;
  /** pg_ctl stop -m fast (the data stays): for "the control plane lost its database" tests. */
  pause(): Promise<void>;
  /** Start it again after pause(). */
  resume(): Promise<void>;
  /** Stop PostgreSQL and remove its files (unless keepData). */
  stop(): Promise<void>;
}

/** databaseUrl -> ownerUrl of the databases this process started (startControlPlane migrates with the owner). */
const OWNER_URLS = new Map<string, string>();

/**
 * initdb + start a PostgreSQL for the control plane with the two roles of the README's "Database
 * roles": `keel_owner` owns the `keel` database (migrations, tables, the audit log's triggers) and
 * `keel` is the application's role, which owns nothing (grants from grant-app-role.ts).
 */
export async function startControlPlaneDb(options: ControlPlaneDbOptions = {}): Promise<ControlPlaneDb> {
  const bin = pgBinDir();
  const user = postgresOsUser();
  const base = options.baseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'keel-cpdb-'));
  fs.mkdirSync(base, { recursive: true });
  const dataDir = path.join(base, 'data');
  const logFile = path.join(base, 'postgres.log');
  const pwFile = path.join(base, 'pwfile');
  const superPassword = randomBytes(18).toString('base64url');
  const appPassword = randomBytes(18).toString('base64url');
  const ownerPassword = randomBytes(18).toString('base64url');
  fs.writeFileSync(pwFile, `${superPassword}\n`, { mode: 0o600 });
  fs.writeFileSync(logFile, '');
  if (user) for (const p of [base, pwFile, logFile]) fs.chownSync(p, user.uid, user.gid);
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  const env = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', PGPASSWORD: undefined, PGHOST: undefined, PGDATA: undefined };

  await execFileP(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--pwfile', pwFile, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale', 'C.UTF-8'], {
    ...as,
    env,
    cwd: '/',
  });
  fs.rmSync(pwFile);
  const port = options.port ?? (await freePort());
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    [
      '',
      '# keel testkit: control-plane database',
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${base}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 200',
      '',
    ].join('\n'),
  );

  const pgCtl = async (args: string[]) => {
    await execFileP(path.join(bin, 'pg_ctl'), args, { ...as, env, cwd: '/' });
  };
  const start = async () => {
    try {
      await pgCtl(['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
    } catch (e) {
      const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '';
      throw new Error(`control-plane PostgreSQL did not start: ${(e as Error).message}\n${log}`);
    }
  };
  await start();

  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: superPassword, database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE keel_owner LOGIN CREATEDB PASSWORD '${ownerPassword}'`);
    await admin.query(`CREATE ROLE keel LOGIN PASSWORD '${appPassword}'`);
    await admin.query('CREATE DATABASE keel OWNER keel_owner');
    await admin.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  } finally {
    await admin.end();
  }

  let stopped = false;
  const databaseUrl = `postgresql://keel:${appPassword}@127.0.0.1:${port}/keel`;
  const ownerUrl = `postgresql://keel_owner:${ownerPassword}@127.0.0.1:${port}/keel`;
  OWNER_URLS.set(databaseUrl, ownerUrl);
  return {
    databaseUrl,
    ownerUrl,
    port,
    dataDir,
    pause: () => pgCtl(['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']),
    resume: start,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pgCtl(['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '60']).catch(() => undefined);
      if (!options.keepData) fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------------------------

export interface ControlPlaneOptions {
  /** The application role's URL. */
  databaseUrl: string;
  /** The owner role's URL for the migrations (default: the one startControlPlaneDb made for databaseUrl). */
  ownerUrl?: string;
  port?: number;
  /** Admin e-mail (default admin@keel.test); the password is random. */
  adminEmail?: string;
  /** Extra environment for the server process (e.g. KEEL_CP_STALE_AFTER_SECONDS). */
  env?: Record<string, string>;
  /** Where the server's log goes (default: a file in a temp dir, kept for inspection). */
  logPath?: string;
  /**
   * Run `next build` first when the build is missing or older than the app's sources (default
   * true). Without a build the server starts in API-only mode (no pages).
   */
  build?: boolean;
  /**
   * How the server runs: `tsx` (default, server.ts) or `built` (dist/server.mjs, the bundle of
   * `npm run build`, as `npm run start` runs it in production; build it first).
   */
  serverRuntime?: 'tsx' | 'built';
  /** Extra node flags for the server process (e.g. --cpu-prof for a benchmark's profile). */
  nodeArgs?: string[];
}

export interface ControlPlane {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  pid: number;
  logPath: string;
  admin: { email: string; password: string };
  /**
   * Create an agent token for one member, or an explicit list of members, of a cluster (creates the
   * cluster when missing); returns the plain token.
   */
  createAgentToken(scope: string, members: string | string[]): Promise<string>;
  /** SIGTERM the server (SIGKILL after 10 s) and wait for it to exit. */
  stop(): Promise<void>;
}

function newestMtime(p: string): number {
  if (!fs.existsSync(p)) return 0;
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, name)));
  return newest;
}

/** `next build` in apps/control-plane when .next is missing or older than app/, components/, next.config.ts. */
export async function ensureControlPlaneBuilt(): Promise<void> {
  const buildId = path.join(CP_DIR, '.next/BUILD_ID');
  const built = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0;
  const sources = Math.max(
    ...['app', 'components', 'lib', 'server', 'next.config.ts', 'package.json'].map((p) => newestMtime(path.join(CP_DIR, p))),
    // Browser code imports @keel/protocol too.
    newestMtime(path.join(CP_DIR, '../../packages/protocol/src')),
  );
  if (built > sources) return;
  try {
    await execFileP(process.execPath, [NEXT_BIN, 'build'], {
      cwd: CP_DIR,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as Error & { stdout?: string; stderr?: string };
    throw new Error(`next build failed: ${err.message}\n${(err.stdout ?? '').slice(-4000)}\n${(err.stderr ?? '').slice(-4000)}`);
  }
}

async function runCpScript(script: string, args: string[], env: Record<string, string>, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, path.join(CP_DIR, script), ...args], {
      cwd: CP_DIR,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${err.trim() || out.trim()}`));
    });
    child.stdin.end(input ?? '');
  });
}

/** prisma generate, when the generated client is missing or older than prisma/schema.prisma. */
export async function ensureControlPlaneClient(): Promise<void> {
  const client = path.join(CP_DIR, 'generated/prisma/client.ts');
  const schema = path.join(REPO_ROOT, 'prisma/schema.prisma');
  if (fs.existsSync(client) && fs.statSync(client).mtimeMs >= fs.statSync(schema).mtimeMs) return;
  await runCpScript('scripts/prisma.ts', ['generate'], {});
}

/**
 * Apply the committed migrations (prisma migrate deploy, offline) as the owner role, then grant the
 * application role (the user of appUrl) its rights (scripts/grant-app-role.ts). A URL that
 * startControlPlaneDb returned as databaseUrl is mapped to its owner.
 */
export async function migrateControlPlaneDb(url: string, appUrl?: string): Promise<void> {
  const ownerUrl = OWNER_URLS.get(url) ?? url;
  const app = appUrl ?? (OWNER_URLS.has(url) ? url : undefined);
  await runCpScript('scripts/prisma.ts', ['migrate', 'deploy'], { DATABASE_URL: ownerUrl });
  if (app && new URL(app).username !== new URL(ownerUrl).username) await runCpScript('scripts/grant-app-role.ts', ['--role', decodeURIComponent(new URL(app).username)], { DATABASE_URL: ownerUrl });
}

/**
 * Migrate, create an admin, start apps/control-plane/server.ts on a free port and wait until it
 * answers /api/health. The demo and the e2e tests use this.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { databaseUrl } = options;
  await ensureControlPlaneClient();
  if (options.build !== false) await ensureControlPlaneBuilt();
  await migrateControlPlaneDb(options.ownerUrl ?? OWNER_URLS.get(databaseUrl) ?? databaseUrl, databaseUrl);

  const admin = { email: options.adminEmail ?? 'admin@keel.test', password: `Keel-${randomBytes(12).toString('base64url')}` };
  await runCpScript('scripts/create-admin.ts', ['--email', admin.email, '--password-stdin'], { DATABASE_URL: databaseUrl }, `${admin.password}\n`);

  const port = options.port ?? (await freePort());
  const logPath = options.logPath ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keel-cp-')), 'control-plane.log');
  const out = fs.openSync(logPath, 'a');
  const serverArgs = [...(options.nodeArgs ?? []), ...(options.serverRuntime === 'built' ? [path.join(CP_DIR, 'dist/server.mjs')] : ['--import', TSX_LOADER, path.join(CP_DIR, 'server.ts')])];
  const child: ChildProcess = spawn(process.execPath, serverArgs, {
    cwd: CP_DIR,
    stdio: ['ignore', out, out],
    detached: true,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      DATABASE_URL: databaseUrl,
      KEEL_CP_PORT: String(port),
      KEEL_CP_HOST: '127.0.0.1',
      KEEL_CP_SECRET: randomBytes(32).toString('base64url'),
      KEEL_CP_AUDIT_KEY: randomBytes(32).toString('base64url'),
      KEEL_CP_SECURE_COOKIES: 'false',
      ...(options.build === false ? { KEEL_CP_NEXT: 'off' } : {}),
      ...options.env,
    },
  });
  fs.closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('control plane: could not spawn the server process');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (!isAlive(pid)) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const t = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 10_000);
    await exited;
    clearTimeout(t);
  };

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited (${child.exitCode ?? child.signalCode}); see ${logPath}`);
        const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
        return res.ok;
      },
      { timeoutMs: 60_000, message: `the control plane to answer on ${url}/api/health` },
    );
  } catch (e) {
    await stop();
    const log = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n') : '';
    throw new Error(`${(e as Error).message}\n--- ${logPath} ---\n${log}`);
  }

  return {
    url,
    port,
    pid,
    logPath,
    admin,
    async createAgentToken(scope: string, members: string | string[]) {
      const memberArgs = (Array.isArray(members) ? members : [members]).flatMap((m) => ['--member', m]);
      const printed = await runCpScript('scripts/create-agent-token.ts', ['--cluster', scope, ...memberArgs, '--quiet'], { DATABASE_URL: databaseUrl });
      return printed.trim();
    },
    stop,
  };
}
