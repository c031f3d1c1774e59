/// <reference lib="dom" />
/**
 * The control plane's HTTP hardening over real HTTP and in Debian's Chromium: security headers on
 * pages and API answers, a per-request CSP nonce that Next puts on its scripts, pages that render
 * and hydrate (sign-in, the clusters page and its live feed) with no CSP violation, the sign-in
 * redirect staying on this origin, HSTS behind TLS, and X-Forwarded-For read from the right,
 * believed only from the configured proxy (the sign-in throttle counts the real client).
 */
import { chromium, type Browser } from '@playwright/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, startControlPlaneDb, type ControlPlane, type ControlPlaneDb } from '@keel/testkit';
import { hello, roleChange, snapshot } from './support/builders.ts';
import { FakeAgent } from './support/fake-agent.ts';

const CHROMIUM = process.env.KEEL_E2E_CHROMIUM ?? '/usr/bin/chromium';

let db: ControlPlaneDb;
let cp: ControlPlane;
let browser: Browser | undefined;

beforeAll(async () => {
  db = await startControlPlaneDb();
  // the test runner is the "proxy": it connects from 127.0.0.1 and sets X-Forwarded-*
  cp = await startControlPlane({ databaseUrl: db.databaseUrl, env: { KEEL_CP_TRUSTED_PROXIES: '127.0.0.1/32', KEEL_CP_SIGNIN_MAX_FAILURES: '3' } });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await cp?.stop();
  await db?.stop();
});

function csp(res: Response): Map<string, string> {
  const header = res.headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => [d.split(/\s+/)[0]!, d.slice(d.indexOf(' ') + 1)] as [string, string]),
  );
}

function expectCommonHeaders(res: Response, what: string): void {
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('referrer-policy'), what).toBe('same-origin');
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
  expect(csp(res).get('frame-ancestors'), what).toBe("'none'");
}

describe('security headers', () => {
  it('every page, redirect and API answer carries them; pages get a fresh nonce Next uses', async () => {
    const signIn1 = await fetch(`${cp.url}/sign-in`);
    const signIn2 = await fetch(`${cp.url}/sign-in`);
    const html = await signIn1.text();
    for (const [res, what] of [[signIn1, 'page'], [signIn2, 'page again']] as const) {
      expect(res.status, what).toBe(200);
      expectCommonHeaders(res, what);
      expect(csp(res).get('script-src'), what).toMatch(/^'self' 'nonce-[A-Za-z0-9+/=]{24}'$/);
      expect(csp(res).get('object-src'), what).toBe("'none'");
      expect(csp(res).get('base-uri'), what).toBe("'none'");
    }
    const nonce = /'nonce-([^']+)'/.exec(csp(signIn1).get('script-src')!)![1]!;
    expect(/'nonce-([^']+)'/.exec(csp(signIn2).get('script-src')!)![1]).not.toBe(nonce);
    // every script in the page carries this response's nonce (inline ones would be blocked otherwise)
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(1);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    // plain http and no proxy saying https: no HSTS
    expect(signIn1.headers.get('strict-transport-security')).toBeNull();

    const redirect = await fetch(`${cp.url}/clusters`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expectCommonHeaders(redirect, 'redirect');

    const asset = [...html.matchAll(/src="(\/_next\/static\/[^"]+\.js)"/g)][0]?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${cp.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');

    for (const path of ['/api/health', '/api/trpc/health.status', '/api/auth/get-session', '/api/nothing-here']) {
      const res = await fetch(`${cp.url}${path}`);
      expectCommonHeaders(res, path);
      expect(csp(res).get('default-src'), path).toBe("'none'");
    }
  });

  it('HSTS when the request reached the trusted proxy over TLS', async () => {
    const viaTls = await fetch(`${cp.url}/sign-in`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(viaTls.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expect(csp(viaTls).has('upgrade-insecure-requests')).toBe(true);
    const api = await fetch(`${cp.url}/api/health`, { headers: { 'x-forwarded-proto': 'https' } });
    expect(api.headers.get('strict-transport-security')).toBe('max-age=31536000');
  });
});

describe('X-Forwarded-For from the trusted proxy', () => {
  async function failSignIn(xff: string): Promise<number> {
    const res = await fetch(`${cp.url}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: cp.url, 'x-forwarded-for': xff },
      body: JSON.stringify({ email: cp.admin.email, password: 'not-the-password-1' }),
    });
    return res.status;
  }

  it('throttles the rightmost untrusted address, never what the client wrote to its left', async () => {
    // the client 198.51.100.7 claims to be 203.0.113.1, 10.0.0.1: the proxy appended the real address
    for (let i = 0; i < 3; i++) expect(await failSignIn('203.0.113.1, 10.0.0.1, 198.51.100.7')).toBe(401);
    expect(await failSignIn('198.51.100.7')).toBe(429);
    // another client cannot get 198.51.100.7 locked out (or itself let off) by writing its address on the left
    expect(await failSignIn('198.51.100.7, 198.51.100.8')).toBe(401);
    // ... and 198.51.100.7 stays throttled whatever it writes
    expect(await failSignIn('192.0.2.99, 198.51.100.7')).toBe(429);
  });
});

describe('in Chromium', () => {
  it('pages render and hydrate under the CSP with no violation; the sign-in redirect stays on this origin', async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
    });
    const context = await browser.newContext({ baseURL: cp.url });
    await context.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`));
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      // failed page resources are caught below, by URL; Chromium's own /favicon.ico probe (the app has none) is not the page's
      if (/^Failed to load resource/.test(m.text())) return;
      if (m.type() === 'error' || /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    const violations = () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);

    // a redirect to another site is ignored: signing in lands on /clusters
    await page.goto('/sign-in?next=' + encodeURIComponent('/\\evil.example/x'));
    await page.getByLabel('E-mail').fill(cp.admin.email);
    await page.getByLabel('Password').fill(cp.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${cp.url}/clusters`);
    expect(await violations()).toEqual([]);

    // hydrated: the client fetched the clusters over tRPC and opened the live feed (connect-src)
    await page.getByText('No cluster has reported yet').waitFor({ timeout: 30_000 });
    await page.getByRole('status', { name: 'Live updates on' }).waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.documentElement.dataset.theme ?? 'unset')).toBe('unset');

    // the theme script (inline, with the nonce) ran: a stored choice is applied before paint
    await page.evaluate(() => localStorage.setItem('keel-theme', 'dark'));
    await page.goto('/admin/tokens');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.getByRole('form', { name: 'Create a token' }).waitFor();

    // a same-origin next is followed
    await page.goto('/sign-in?next=' + encodeURIComponent('/admin/tokens?x=1'));
    await page.getByLabel('E-mail').fill(cp.admin.email);
    await page.getByLabel('Password').fill(cp.admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${cp.url}/admin/tokens?x=1`);

    // a cluster with data: the dashboard's topology, member table, events and lag chart render too
    const token = await cp.createAgentToken('web', 'pg1');
    const agent = await FakeAgent.connect(cp.url);
    agent.send(hello({ token, cluster: 'web', member: 'pg1' }));
    await agent.welcome();
    const first = Date.now() - 10_000;
    for (let i = 0; i < 5; i++) agent.send(snapshot(first + i * 1000));
    agent.send(roleChange(first + 5000, 'replica', 'primary'));
    await agent.ack(first + 5000);
    await page.goto('/clusters/web');
    await page.getByRole('heading', { level: 2, name: 'Members' }).waitFor({ timeout: 30_000 });
    await page.locator('.chart[data-points]:not([data-points="0"]) svg').first().waitFor({ timeout: 30_000 });
    agent.close();

    expect(await violations()).toEqual([]);
    expect(problems).toEqual([]);

    // the browser really enforces the policy: an injected inline script does not run
    const ran = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true';
      document.body.appendChild(s);
      return (window as unknown as { __injected?: boolean }).__injected === true;
    });
    expect(ran).toBe(false);
    expect((await violations()).some((v) => v.startsWith('script-src'))).toBe(true);
    await context.close();
  });
});
