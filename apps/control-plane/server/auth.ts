/**
 * Sign-in and sessions: better-auth (email + password) on the Prisma adapter. Sign-up is closed:
 * users are created by an admin (users.create) or by the CLI (create-admin). better-auth brings
 * the session cookies (httpOnly, SameSite=Lax, Secure when KEEL_CP_SECURE_COOKIES), their signing,
 * and CSRF protection on its endpoints (Origin and Fetch-Metadata checks); Keel adds throttling of
 * failed sign-ins per e-mail and client IP.
 */
import { betterAuth } from 'better-auth';
import { prismaAdapter } from 'better-auth/adapters/prisma';
import { APIError, createAuthMiddleware, getSessionFromCtx, isAPIError } from 'better-auth/api';
import type { TDb } from './db.ts';
import type { TServerEnv } from './env.ts';
import { log } from './log.ts';
import { trustedOrigins } from './lib/origin.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './lib/password-policy.ts';
import { SignInThrottle } from './lib/sign-in-throttle.ts';
import { appendAudit } from './services/append-audit.ts';

/** server.ts sets this header on every request to /api/auth (overwriting any the client sent). */
export const CLIENT_IP_HEADER = 'x-keel-client-ip';
/** ... and this one to http or https: how the request reached us. */
export const CLIENT_PROTO_HEADER = 'x-keel-client-proto';

export const SIGN_IN_PATH = '/sign-in/email';
export const SIGN_OUT_PATH = '/sign-out';

function throttleMessage(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  return `Too many failed sign-ins for this e-mail from your address. Try again in ${minutes > 1 ? `${minutes} minutes` : `${seconds} seconds`}.`;
}

export function createAuth(db: TDb, env: TServerEnv, throttle: SignInThrottle) {
  const keyOf = (ctx: { body?: unknown; headers?: Headers | undefined }) => {
    const email = typeof (ctx.body as { email?: unknown } | undefined)?.email === 'string' ? (ctx.body as { email: string }).email : '';
    return SignInThrottle.key(email, ctx.headers?.get(CLIENT_IP_HEADER));
  };

  const emailOf = (ctx: { body?: unknown }) => {
    const e = (ctx.body as { email?: unknown } | undefined)?.email;
    return typeof e === 'string' ? e.trim().toLowerCase() : '';
  };
  const audit = async (action: 'auth.sign_in' | 'auth.sign_in_failed' | 'auth.sign_out', actorId: string | null, actor: string, headers: Headers | undefined, outcome: 'ok' | 'refused', details: Record<string, unknown>) => {
    try {
      await appendAudit(db, { actorId, actor, action, target: `user:${actor}`, channel: 'session', address: headers?.get(CLIENT_IP_HEADER) ?? null, outcome, details });
    } catch (e) {
      log('audit_failed', { action, error: e instanceof Error ? e.message : String(e) }, 'error');
    }
  };

  return betterAuth({
    appName: 'Keel',
    secret: env.KEEL_CP_SECRET,
    // Without KEEL_CP_PUBLIC_URL, better-auth derives its URL from each request (and trusts that
    // origin only). Not a dynamic `allowedHosts` config: that would make every host's origin trusted.
    ...(env.KEEL_CP_PUBLIC_URL ? { baseURL: env.KEEL_CP_PUBLIC_URL } : {}),
    logger: {
      log: (level, message) => {
        // the one warning that describes a deliberate choice (see baseURL above)
        if (!env.KEEL_CP_PUBLIC_URL && /Base URL is not set/.test(message)) return;
        log(`auth_${level}`, { message }, level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info');
      },
    },
    basePath: '/api/auth',
    database: prismaAdapter(db, { provider: 'postgresql' }),
    emailAndPassword: {
      enabled: true,
      disableSignUp: true,
      minPasswordLength: MIN_PASSWORD_LENGTH,
      maxPasswordLength: MAX_PASSWORD_LENGTH,
    },
    user: {
      additionalFields: {
        role: { type: 'string', input: false, required: false, defaultValue: 'viewer' },
      },
    },
    session: {
      expiresIn: 7 * 24 * 3600,
      updateAge: 24 * 3600,
    },
    // Our own origin (as addressed, and KEEL_CP_PUBLIC_URL): better-auth refuses cookie-carrying
    // requests from anywhere else.
    trustedOrigins: (request?: Request) => {
      const proto = request?.headers.get(CLIENT_PROTO_HEADER) === 'https' ? 'https' : 'http';
      return trustedOrigins(request?.headers.get('host') ?? undefined, proto, env.KEEL_CP_PUBLIC_URL);
    },
    // Flood protection per IP; failed sign-ins are throttled per e-mail + IP by the hooks below.
    rateLimit: { enabled: true, storage: 'memory', window: 60, max: 600, customRules: { [SIGN_IN_PATH]: { window: 60, max: 60 } } },
    advanced: {
      // explicit: better-auth turns both off when it believes it runs under test (NODE_ENV=test or TEST=true)
      disableCSRFCheck: false,
      disableOriginCheck: false,
      useSecureCookies: env.KEEL_CP_SECURE_COOKIES,
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax', secure: env.KEEL_CP_SECURE_COOKIES },
      ipAddress: { ipAddressHeaders: [CLIENT_IP_HEADER] },
    },
    telemetry: { enabled: false },
    hooks: {
      before: createAuthMiddleware(async (ctx) => {
        if (ctx.path === SIGN_OUT_PATH) {
          const session = await getSessionFromCtx(ctx).catch(() => null);
          if (session) await audit('auth.sign_out', session.user.id, session.user.email, ctx.headers, 'ok', {});
          return;
        }
        if (ctx.path !== SIGN_IN_PATH) return;
        const verdict = throttle.check(keyOf(ctx));
        if (!verdict.allowed) {
          throw new APIError(
            'TOO_MANY_REQUESTS',
            { code: 'SIGN_IN_THROTTLED', message: throttleMessage(verdict.retryAfterSeconds), retryAfterSeconds: verdict.retryAfterSeconds },
            { 'Retry-After': String(verdict.retryAfterSeconds) },
          );
        }
        // a disabled user cannot sign in (the same answer as a wrong password: nothing to learn)
        const email = emailOf(ctx);
        const user = email ? await db.user.findUnique({ where: { email }, select: { id: true, disabledAt: true } }) : null;
        if (user?.disabledAt) {
          throttle.fail(keyOf(ctx));
          await audit('auth.sign_in_failed', user.id, email, ctx.headers, 'refused', { why: 'the user is disabled' });
          throw new APIError('UNAUTHORIZED', { code: 'INVALID_EMAIL_OR_PASSWORD', message: 'Invalid email or password' });
        }
      }),
      after: createAuthMiddleware(async (ctx) => {
        if (ctx.path !== SIGN_IN_PATH) return;
        const returned = ctx.context.returned;
        const key = keyOf(ctx);
        if (isAPIError(returned)) {
          // only wrong credentials count: a refused Origin (403) from another site must not let
          // that site lock a user out
          if (returned.statusCode === 401) {
            throttle.fail(key);
            await audit('auth.sign_in_failed', null, emailOf(ctx) || '(no e-mail)', ctx.headers, 'refused', { why: 'wrong e-mail or password' });
          }
        } else {
          throttle.succeed(key);
          const s = ctx.context.newSession;
          if (s) await audit('auth.sign_in', s.user.id, s.user.email, ctx.headers, 'ok', {});
        }
      }),
    },
  });
}

export type TAuth = ReturnType<typeof createAuth>;

export interface TSessionUser {
  id: string;
  email: string;
  name: string;
}
