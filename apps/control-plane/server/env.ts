/**
 * The control plane's configuration, from the environment, validated once at start (server.ts
 * calls loadServerEnv(); the CLI scripts call loadDbEnv()). Nothing else reads process.env.
 */
import { z } from 'zod';
import { proxyEntryProblem } from './lib/client-address.ts';

const ZBool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

const ZDatabaseUrl = z
  .string({ error: 'is required (postgresql://user:password@host:port/database)' })
  .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgresql:// URL')
  .refine((v) => {
    try {
      return new URL(v).hostname !== '';
    } catch {
      return false;
    }
  }, 'is not a valid URL');

const int = (min: number, max: number) => z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(min).max(max);

export const ZDbEnv = z.object({ DATABASE_URL: ZDatabaseUrl });
export type TDbEnv = z.infer<typeof ZDbEnv>;

export const ZServerEnv = ZDbEnv.extend({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  KEEL_CP_PORT: int(1, 65535).default(3000),
  KEEL_CP_HOST: z.string().min(1).default('0.0.0.0'),
  /** Signs session cookies. */
  KEEL_CP_SECRET: z.string({ error: 'is required (at least 32 random characters, e.g. `openssl rand -base64 48`)' }).min(32, 'must be at least 32 characters'),
  /** Secure cookies (HTTPS only). Default: true, except when NODE_ENV is development or test. */
  KEEL_CP_SECURE_COOKIES: ZBool.optional(),
  /** The URL people use to reach the control plane (behind a proxy); also a trusted origin. */
  KEEL_CP_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://keel.example.com' }).optional(),
  /**
   * The reverse proxies in front of the control plane (comma-separated IPs and CIDR blocks). Only
   * what they append to X-Forwarded-For / -Proto is believed, read from the right; empty: the
   * socket's peer is the client.
   */
  KEEL_CP_TRUSTED_PROXIES: z
    .string()
    .transform((v) => v.split(',').map((e) => e.trim()).filter(Boolean))
    .superRefine((entries, ctx) => {
      for (const e of entries) {
        const problem = proxyEntryProblem(e);
        if (problem) ctx.addIssue({ code: 'custom', message: `${problem} (list IPs or CIDR blocks, e.g. 10.0.0.5,192.168.0.0/24)` });
      }
    })
    .default([]),
  /** Replaced by KEEL_CP_TRUSTED_PROXIES (trusting every peer's X-Forwarded-For let clients choose their address). */
  KEEL_CP_TRUST_PROXY: z.undefined({ error: 'is no longer supported: list your proxies\' addresses in KEEL_CP_TRUSTED_PROXIES instead' }).optional(),
  /** Agents' snapshots and events may be at most this far ahead of the control plane's clock (their `at` and seq). */
  KEEL_CP_MAX_CLOCK_SKEW_SECONDS: int(1, 24 * 3600).default(300),
  /** Per agent connection: messages per second sustained ... */
  KEEL_CP_AGENT_MESSAGES_PER_SECOND: int(1, 100_000).default(50),
  /** ... and in one burst (a reconnecting agent replays up to 10,000 buffered messages at once). */
  KEEL_CP_AGENT_BURST_MESSAGES: int(1, 1_000_000).default(20_000),
  /** A member whose agent sent nothing for this long is shown as stale. */
  KEEL_CP_STALE_AFTER_SECONDS: int(2, 3600).default(30),
  /** Raw lag samples are kept this long. */
  KEEL_CP_RAW_RETENTION_HOURS: int(1, 24 * 31).default(24),
  /** One-minute lag buckets are kept this long. */
  KEEL_CP_MINUTE_RETENTION_DAYS: int(1, 3650).default(7),
  /** Agent events are kept this long. */
  KEEL_CP_EVENT_RETENTION_DAYS: int(1, 3650).default(90),
  /** An incident ends after this long without a new event of its cluster (lib/incident-grouping.ts). */
  KEEL_CP_INCIDENT_QUIET_SECONDS: int(5, 24 * 3600).default(120),
  /** Sign-in throttling: this many failures per e-mail and IP ... */
  KEEL_CP_SIGNIN_MAX_FAILURES: int(1, 1000).default(5),
  /** ... within this many minutes answer 429 until the window has passed. */
  KEEL_CP_SIGNIN_WINDOW_MINUTES: int(1, 24 * 60).default(15),
  /** Signs the audit log's periodic digests (HMAC-SHA256). Unset: derived from KEEL_CP_SECRET (HKDF, its own label). */
  KEEL_CP_AUDIT_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** A signed digest of the audit chain's head is stored this often (and after each operation ends). */
  KEEL_CP_AUDIT_DIGEST_SECONDS: int(5, 24 * 3600).default(300),
  /** Approvals expire after this many minutes (a cluster policy may shorten it). */
  KEEL_CP_APPROVAL_TTL_MINUTES: int(1, 7 * 24 * 60).default(60),
  /**
   * Encrypts alert channels' URLs, signing secrets and routing keys at rest (AES-256-GCM): 32 bytes as
   * 64 hex digits or base64. Unset: derived from KEEL_CP_SECRET (HKDF, its own label). Changing it
   * makes the stored channels unreadable: the server then refuses to start.
   */
  KEEL_CP_ALERT_KEY: z
    .string()
    .refine((v) => (/^[0-9a-f]{64}$/i.test(v) ? true : /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32), 'must be 32 bytes written as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)')
    .optional(),
  /** Alert rules are evaluated (and due deliveries sent) this often. */
  KEEL_CP_ALERT_EVAL_SECONDS: int(1, 3600).default(10),
  /** `off`: serve the API and WebSockets only, no pages (no `next build` needed). */
  KEEL_CP_NEXT: z.enum(['on', 'off']).default('on'),
});
export type TServerEnv = Omit<z.infer<typeof ZServerEnv>, 'KEEL_CP_SECURE_COOKIES'> & { KEEL_CP_SECURE_COOKIES: boolean };

type Source = Record<string, string | undefined>;

/** One line per bad variable, e.g. "KEEL_CP_SECRET must be at least 32 characters". */
function describe(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const key = i.path.map(String).join('.');
      const msg = i.message.startsWith('Invalid input') && i.code === 'invalid_type' ? 'is required' : i.message;
      return `  ${key} ${msg}`;
    })
    .join('\n');
}

/** Empty strings count as unset (docker-compose and shells like to pass them). */
function clean(source: Source): Source {
  return Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
}

export function parseServerEnv(source: Source): TServerEnv {
  const r = ZServerEnv.safeParse(clean(source));
  if (!r.success) throw new Error(`invalid control-plane configuration:\n${describe(r.error)}`);
  const secure = r.data.KEEL_CP_SECURE_COOKIES ?? !(r.data.NODE_ENV === 'development' || r.data.NODE_ENV === 'test');
  return { ...r.data, KEEL_CP_SECURE_COOKIES: secure };
}

export function parseDbEnv(source: Source): TDbEnv {
  const r = ZDbEnv.safeParse(clean(source));
  if (!r.success) throw new Error(`invalid control-plane configuration:\n${describe(r.error)}`);
  return r.data;
}

let serverEnv: TServerEnv | undefined;
/** The server's configuration (validated on the first call, then cached). */
export function loadServerEnv(): TServerEnv {
  serverEnv ??= parseServerEnv(process.env);
  return serverEnv;
}

export function loadDbEnv(): TDbEnv {
  return parseDbEnv(process.env);
}
