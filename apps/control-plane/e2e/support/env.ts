/** What global-setup hands the tests, by environment variable (workers inherit the runner's environment). */
export const E2E = {
  url: 'KEEL_E2E_URL',
  adminEmail: 'KEEL_E2E_ADMIN_EMAIL',
  adminPassword: 'KEEL_E2E_ADMIN_PASSWORD',
  scope: 'KEEL_E2E_SCOPE',
  ttl: 'KEEL_E2E_TTL',
  staleAfter: 'KEEL_E2E_STALE_AFTER_SECONDS',
  harnessUrl: 'KEEL_E2E_HARNESS_URL',
  harnessToken: 'KEEL_E2E_HARNESS_TOKEN',
} as const;

export interface TE2EWorld {
  url: string;
  admin: { email: string; password: string };
  scope: string;
  ttl: number;
  staleAfterSeconds: number;
  harness: { url: string; token: string };
}

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the e2e through \`npm run test:e2e\` (playwright.config.ts runs e2e/global-setup.ts)`);
  return v;
}

export function e2eWorld(): TE2EWorld {
  return {
    url: need(E2E.url),
    admin: { email: need(E2E.adminEmail), password: need(E2E.adminPassword) },
    scope: need(E2E.scope),
    ttl: Number(need(E2E.ttl)),
    staleAfterSeconds: Number(need(E2E.staleAfter)),
    harness: { url: need(E2E.harnessUrl), token: need(E2E.harnessToken) },
  };
}
