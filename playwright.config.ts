/**
 * End-to-end tests: Debian's Chromium against the real control plane, fed by real agents on real
 * etcd and PostgreSQL (apps/control-plane/e2e/global-setup.ts starts them all and stops them by PID).
 *
 *   npm run test:e2e                      both projects
 *   npm run test:e2e -- --project api     only the API checks (no browser)
 *
 * Results: .artifacts/playwright/results.json (counts), .artifacts/playwright/report (HTML),
 * screenshots in .artifacts/screenshots, traces of failed tests in .artifacts/playwright/test-results.
 * No browser is downloaded: install Debian's `chromium` (scripts/setup.sh with KEEL_NEED_CHROMIUM=1).
 */
import { defineConfig } from '@playwright/test';

const CHROMIUM = process.env.KEEL_E2E_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'apps/control-plane/e2e',
  testMatch: '**/*.spec.ts',
  outputDir: '.artifacts/playwright/test-results',
  globalSetup: './apps/control-plane/e2e/global-setup.ts',
  // one real cluster for the whole run, and a test that kills its primary: no parallelism, no retries
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [
    ['list'],
    ['json', { outputFile: '.artifacts/playwright/results.json' }],
    ['html', { outputFolder: '.artifacts/playwright/report', open: 'never' }],
  ],
  use: {
    // baseURL comes from the fixture (e2e/fixtures.ts): the server's port is known only after globalSetup
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 10_000,
    navigationTimeout: 30_000,
  },
  projects: [
    {
      name: 'api',
      testMatch: 'api/**/*.spec.ts',
    },
    {
      name: 'ui',
      testMatch: 'ui/**/*.spec.ts',
      use: {
        browserName: 'chromium',
        viewport: { width: 1366, height: 900 },
        launchOptions: {
          executablePath: CHROMIUM,
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
        },
      },
    },
  ],
});
