/**
 * Sign-in, throttling, roles and CSRF against the real server process (with its pages built).
 */
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, startControlPlaneDb, type ControlPlane, type ControlPlaneDb } from '@keel/testkit';
import { signIn, trpcAs } from './support/session.ts';

let db: ControlPlaneDb;
let cp: ControlPlane;
let adminCookie: string;

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof TRPCClientError) return (e.data as { code?: string } | undefined)?.code ?? `HTTP ${(e.data as { httpStatus?: number } | undefined)?.httpStatus}`;
    throw e;
  }
}

beforeAll(async () => {
  db = await startControlPlaneDb();
  cp = await startControlPlane({ databaseUrl: db.databaseUrl });
  const s = await signIn(cp.url, cp.admin.email, cp.admin.password);
  expect(s.status).toBe(200);
  adminCookie = s.cookie!;
});

afterAll(async () => {
  await cp?.stop();
  await db?.stop();
});

describe('sign-in', () => {
  it('signs the admin in with an httpOnly, SameSite=Lax session cookie', async () => {
    const s = await signIn(cp.url, cp.admin.email, cp.admin.password);
    expect(s.status).toBe(200);
    const setCookie = s.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(await trpcAs(cp.url, s.cookie).auth.me.query()).toMatchObject({ email: cp.admin.email, role: 'admin' });
    expect(await trpcAs(cp.url, null).auth.me.query()).toBeNull();
  });

  it('throttles wrong passwords per e-mail and address: 5 failures, then 429 with a clear message', async () => {
    const api = trpcAs(cp.url, adminCookie);
    await api.users.create.mutate({ email: 'victim@keel.test', password: 'Correct-Horse-9', role: 'viewer' });
    for (let i = 0; i < 5; i++) expect((await signIn(cp.url, 'victim@keel.test', `wrong-password-${i}`)).status).toBe(401);
    const throttled = await signIn(cp.url, 'victim@keel.test', 'wrong-password-5');
    expect(throttled.status).toBe(429);
    expect(String(throttled.body.message)).toMatch(/Too many failed sign-ins .* Try again in \d+ (minutes|seconds)/);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    // even the right password waits out the window
    expect((await signIn(cp.url, 'victim@keel.test', 'Correct-Horse-9')).status).toBe(429);
    // other accounts are not affected
    expect((await signIn(cp.url, cp.admin.email, cp.admin.password)).status).toBe(200);
  });

  it('keeps pages behind sign-in', async () => {
    const anon = await fetch(`${cp.url}/clusters`, { redirect: 'manual' });
    expect(anon.status).toBe(302);
    expect(anon.headers.get('location')).toBe('/sign-in?next=%2Fclusters');
    expect((await fetch(`${cp.url}/sign-in`)).status).toBe(200);
    const signedIn = await fetch(`${cp.url}/clusters`, { headers: { cookie: adminCookie }, redirect: 'manual' });
    expect(signedIn.status).toBe(200);
    expect(await signedIn.text()).toMatch(/<html/);
  });
});

describe('roles', () => {
  it('a viewer can read but gets FORBIDDEN from admin procedures; signed-out callers get UNAUTHORIZED', async () => {
    const admin = trpcAs(cp.url, adminCookie);
    await admin.users.create.mutate({ email: 'viewer@keel.test', password: 'Reader-Pass-123', role: 'viewer' });
    const s = await signIn(cp.url, 'viewer@keel.test', 'Reader-Pass-123');
    expect(s.status).toBe(200);
    const viewer = trpcAs(cp.url, s.cookie);
    expect(await codeOf(viewer.clusters.list.query())).toBe('OK');
    expect(await codeOf(viewer.users.list.query())).toBe('FORBIDDEN');
    expect(await codeOf(viewer.tokens.create.mutate({ scope: 'alpha', members: ['pg1'] }))).toBe('FORBIDDEN');
    expect(await codeOf(viewer.users.setRole.mutate({ userId: 'x', role: 'admin' }))).toBe('FORBIDDEN');
    expect(await codeOf(trpcAs(cp.url, null).clusters.list.query())).toBe('UNAUTHORIZED');

    // promoted by an admin: effective on the next request
    const users = await admin.users.list.query();
    const id = users.find((u) => u.email === 'viewer@keel.test')!.id;
    await admin.users.setRole.mutate({ userId: id, role: 'admin' });
    expect(await codeOf(viewer.users.list.query())).toBe('OK');
  });

  it('refuses weak passwords and duplicate users', async () => {
    const admin = trpcAs(cp.url, adminCookie);
    expect(await codeOf(admin.users.create.mutate({ email: 'weak@keel.test', password: 'short', role: 'viewer' }))).toBe('BAD_REQUEST');
    expect(await codeOf(admin.users.create.mutate({ email: 'viewer@keel.test', password: 'Another-Pass-123', role: 'viewer' }))).toBe('CONFLICT');
  });
});

describe('CSRF', () => {
  it('refuses cookie-authenticated mutations from another origin or without an Origin', async () => {
    const foreign = await fetch(`${cp.url}/api/trpc/tokens.create`, {
      method: 'POST',
      headers: { cookie: adminCookie, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'alpha', members: ['pg1'] }),
    });
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toMatch(/origin https:\/\/evil.example is not allowed/);
    expect(await codeOf(trpcAs(cp.url, adminCookie, null).tokens.create.mutate({ scope: 'alpha', members: ['pg1'] }))).toMatch(/HTTP 403|undefined/);
    // same origin: fine
    const t = await trpcAs(cp.url, adminCookie).tokens.create.mutate({ scope: 'alpha', members: ['pg1'] });
    expect(t.token).toMatch(/^keel_at_[0-9a-f]{12}_/);
  });

  it('refuses a sign-in posted from another origin', async () => {
    const res = await fetch(`${cp.url}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example', cookie: adminCookie },
      body: JSON.stringify({ email: cp.admin.email, password: cp.admin.password }),
    });
    expect(res.status).toBe(403);
  });
});
