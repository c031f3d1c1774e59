/**
 * The API refuses whoever has not signed in (and CSRF, and roles): tRPC queries and mutations,
 * pages, the browsers' live feed, and agents without a valid token.
 */
import WebSocket from 'ws';
import { adminTrpc, signInCookie } from '../support/http.ts';
import { expect, test } from '../support/fixtures.ts';

const QUERIES = ['clusters.list', 'clusters.byScope?input=%7B%22scope%22%3A%22e2e-cluster%22%7D', 'lag.series', 'tokens.list', 'users.list', 'audit.list', 'audit.verify', 'auth.me'];

test.describe('without a session', () => {
  test('tRPC queries answer 401 UNAUTHORIZED (auth.me answers null)', async ({ request }) => {
    for (const q of QUERIES) {
      const res = await request.get(`/api/trpc/${q}`);
      if (q === 'auth.me') {
        expect(res.status()).toBe(200);
        expect((await res.json()).result.data).toBeNull();
        continue;
      }
      expect(res.status(), q).toBe(401);
      const body = await res.json();
      expect(body.error.data.code, q).toBe('UNAUTHORIZED');
      expect(JSON.stringify(body), q).not.toContain('e2e-cluster"'); // no data leaks out
    }
  });

  test('tRPC mutations answer 401 and change nothing', async ({ request, world }) => {
    for (const [path, input] of [
      ['tokens.create', { scope: 'intruder', members: ['node1'], label: 'x' }],
      ['users.create', { email: 'intruder@example.com', password: 'Intruder-password-1', role: 'admin' }],
    ] as const) {
      const res = await request.post(`/api/trpc/${path}`, { data: input, headers: { origin: world.url } });
      expect(res.status(), path).toBe(401);
    }
    const admin = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
    expect((await admin.clusters.list.query()).map((c) => c.scope)).not.toContain('intruder');
    expect((await admin.users.list.query()).map((u) => u.email)).not.toContain('intruder@example.com');
  });

  test('pages redirect to the sign-in page', async ({ request }) => {
    for (const p of ['/', '/clusters', '/clusters/e2e-cluster']) {
      const res = await request.get(p, { maxRedirects: 0 });
      expect(res.status(), p).toBe(302);
      expect(res.headers().location, p).toMatch(/^\/sign-in/);
    }
    expect((await request.get('/sign-in', { maxRedirects: 0 })).status()).toBe(200);
  });

  test('the live feed refuses the WebSocket upgrade with 401', async ({ world }) => {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${world.url.replace('http', 'ws')}/live`);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('the live feed accepted a client without a session')));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
  });

  test('an agent with a wrong token is told "unauthorized" and disconnected', async ({ world }) => {
    const ws = new WebSocket(`${world.url.replace('http', 'ws')}/agents/ws`);
    const answer = await new Promise<{ msg: Record<string, unknown> | null; code: number }>((resolve, reject) => {
      let msg: Record<string, unknown> | null = null;
      ws.on('open', () =>
        ws.send(JSON.stringify({ type: 'hello', v: 1, token: 'keel_at_not-a-real-token', cluster: world.scope, member: 'intruder', agentVersion: 'e2e' })),
      );
      ws.on('message', (data) => (msg = JSON.parse(String(data)) as Record<string, unknown>));
      ws.on('close', (code) => resolve({ msg, code }));
      ws.on('error', reject);
    });
    expect(answer.msg).toMatchObject({ type: 'error', code: 'unauthorized' });
  });

  test('the health check stays public', async ({ request }) => {
    const res = await request.get('/api/health');
    expect(res.status()).toBe(200);
    expect((await res.json()).status).toBe('ok');
  });
});

test.describe('with a session', () => {
  test('a cookie-carrying mutation from another origin is refused (CSRF)', async ({ world }) => {
    const cookie = await signInCookie(world.url, world.admin.email, world.admin.password);
    const res = await fetch(`${world.url}/api/trpc/tokens.create`, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ scope: 'csrf', members: ['node1'], label: 'x' }),
    });
    expect(res.status).toBe(403);
  });

  test('a viewer can read but not create agent tokens (FORBIDDEN)', async ({ world }) => {
    const admin = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
    const email = `viewer-${Date.now()}@keel.test`;
    const password = `Viewer-${Math.random().toString(36).slice(2)}-pw`;
    await admin.users.create.mutate({ email, password, role: 'viewer' });
    const viewer = adminTrpc(world.url, await signInCookie(world.url, email, password));
    expect((await viewer.clusters.list.query()).map((c) => c.scope)).toContain(world.scope);
    await expect(viewer.tokens.create.mutate({ scope: world.scope, members: ['node1'] })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
  });
});
