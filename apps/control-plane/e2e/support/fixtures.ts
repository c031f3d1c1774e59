/**
 * The tests' fixtures: `world` (what global-setup started), baseURL pointing at the real control
 * plane, `signIn` (a session cookie in the browser context, through the real sign-in endpoint),
 * `shot` (a full-page screenshot kept under .artifacts/screenshots and attached to the report).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as base, expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { e2eWorld, type TE2EWorld } from './env.ts';

export const SCREENSHOTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../.artifacts/screenshots');

interface TFixtures {
  signIn: (context?: BrowserContext) => Promise<void>;
  /** Full page by default; `{ fullPage: false }` keeps what the screen shows (phones). */
  shot: (page: Page, name: string, opts?: { fullPage?: boolean }) => Promise<string>;
}

export const test = base.extend<TFixtures, { world: TE2EWorld }>({
  world: [
    async ({}, use) => {
      await use(e2eWorld());
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ world }, use) => {
    await use(world.url);
  },
  signIn: async ({ context, world }, use) => {
    await use(async (ctx = context) => {
      const res = await ctx.request.post(`${world.url}/api/auth/sign-in/email`, {
        data: { email: world.admin.email, password: world.admin.password },
        headers: { origin: world.url },
      });
      expect(res.status(), await res.text()).toBe(200);
    });
  },
  shot: async ({}, use, testInfo) => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await use(async (page, name, opts) => {
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: opts?.fullPage ?? true });
      await testInfo.attach(name, { path: file, contentType: 'image/png' });
      return file;
    });
  },
});

/** A phone (small touch screen, light theme) signed in with the same session as `from`. */
export async function phoneContext(browser: Browser, from: BrowserContext, baseURL: string): Promise<BrowserContext> {
  const state = await from.storageState();
  return browser.newContext({
    storageState: { cookies: state.cookies, origins: [] },
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    colorScheme: 'light',
    baseURL,
  });
}

export { expect };
