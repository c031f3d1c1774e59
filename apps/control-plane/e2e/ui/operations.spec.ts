/**
 * Operations from the browser, two people in two browser contexts, on the real cluster:
 * - an operator requests a switchover with a reason (the preview lists the candidates); the operator
 *   cannot approve it; an approver approves it from the approval queue; the real cluster switches;
 *   the audit view shows the request, the approval, the execution and the outcome with the right actors;
 * - an approval given before a failover is void after it, and the operation page says why.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { harnessClient } from '../support/harness.ts';
import { adminTrpc, signInCookie } from '../support/http.ts';
import { expect, test } from '../support/fixtures.ts';

// a real switchover and a real failover on a loaded machine: minutes, not the default 60 s
test.describe.configure({ mode: 'serial', timeout: 300_000 });

const PASSWORD = `Ops-${randomBytes(9).toString('base64url')}`;
const OPERATOR = 'e2e-operator@keel.test';
const APPROVER = 'e2e-approver@keel.test';
const APPROVER2 = 'e2e-approver2@keel.test';

async function person(browser: Browser, url: string, email: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: url });
  const res = await context.request.post(`${url}/api/auth/sign-in/email`, { data: { email, password: PASSWORD }, headers: { origin: url } });
  expect(res.status(), await res.text()).toBe(200);
  return { context, page: await context.newPage() };
}

test.beforeAll(async ({ world }) => {
  const admin = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
  const existing = new Set((await admin.users.list.query()).map((u) => u.email));
  for (const [email, role] of [[OPERATOR, 'operator'], [APPROVER, 'approver'], [APPROVER2, 'approver']] as const) {
    if (!existing.has(email)) await admin.users.create.mutate({ email, password: PASSWORD, role });
  }
});

async function requestSwitchover(page: Page, scope: string, reason: string): Promise<string> {
  await page.goto(`/clusters/${scope}`);
  const form = page.getByRole('form', { name: 'Request an operation' });
  await expect(form).toBeVisible({ timeout: 30_000 });
  await form.scrollIntoViewIfNeeded();
  // a loaded machine runs three PostgreSQL, their agents and the control plane beside the browser
  await form.getByLabel('Operation').selectOption('switchover', { timeout: 30_000 });
  await form.getByLabel('Reason (required)').fill(reason, { timeout: 30_000 });
  await form.getByLabel('Ticket (optional)').fill('CHG-42', { timeout: 30_000 });
  // the preview: candidates with eligible / why not, computed before anything is stored
  const preview = form.getByRole('region', { name: 'Preview' });
  await expect(preview.getByRole('table', { name: 'Candidates' }).getByRole('row').filter({ hasText: 'yes' })).not.toHaveCount(0, { timeout: 30_000 });
  await form.getByRole('button', { name: 'Request switchover' }).click({ timeout: 30_000 });
  await expect(page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  return page.url().split('/').pop()!;
}

test('an operator requests a switchover, cannot approve it; an approver approves; the cluster switches; the audit shows who did what', async ({ browser, world, shot }) => {
  const harness = harnessClient(world.harness);
  const before = (await harness.primary())!;
  const op = await person(browser, world.url, OPERATOR);
  const ap = await person(browser, world.url, APPROVER);
  try {
    const id = await requestSwitchover(op.page, world.scope, 'e2e: move the primary before patching');
    await expect(op.page.getByRole('status', { name: 'Status' })).toHaveText('awaiting approval');
    await expect(op.page.getByText('You requested it: someone else must approve it.')).toBeVisible();
    await expect(op.page.getByRole('button', { name: 'Approve' })).toHaveCount(0);
    await shot(op.page, 'operation-requested');

    await ap.page.goto('/operations');
    const queued = ap.page.getByRole('table', { name: 'Waiting for approval' }).getByRole('row').filter({ hasText: 'e2e: move the primary before patching' });
    await expect(queued).toContainText(OPERATOR, { timeout: 30_000 });
    await queued.getByRole('link', { name: 'switchover' }).click();
    await expect(ap.page).toHaveURL(new RegExp(`/operations/${id}$`));
    await ap.page.getByRole('button', { name: 'Approve' }).click();
    // live: the operator's open page follows it to the end
    await expect(op.page.getByRole('status', { name: 'Status' })).toHaveText('succeeded', { timeout: 90_000 });
    await expect(op.page.getByRole('list', { name: 'Approvals' })).toContainText(`${APPROVER}`);
    await expect.poll(() => harness.primary(), { timeout: 60_000 }).not.toBe(before);
    await shot(op.page, 'operation-succeeded');

    const admin = await browser.newContext({ baseURL: world.url });
    await admin.request.post(`${world.url}/api/auth/sign-in/email`, { data: { email: world.admin.email, password: world.admin.password }, headers: { origin: world.url } });
    const page = await admin.newPage();
    await page.goto('/audit');
    await page.getByLabel('Cluster').fill(world.scope);
    const rows = page.getByRole('table', { name: 'Audit entries' }).getByRole('row').filter({ hasText: `operation:${id}` });
    await expect(rows.filter({ hasText: 'operation.request' })).toContainText(OPERATOR);
    await expect(rows.filter({ hasText: 'operation.approve' })).toContainText(APPROVER);
    await expect(rows.filter({ hasText: 'operation.start' })).toContainText('system');
    await expect(rows.filter({ hasText: 'operation.succeed' })).toContainText('system');
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await expect(page.getByText(/^Intact: \d+ entries/)).toBeVisible();
    await shot(page, 'audit-operation');
    await admin.close();
  } finally {
    await op.context.close();
    await ap.context.close();
  }
});

test('an approval given before a failover is void after it, and the page says why', async ({ browser, world, shot }) => {
  const harness = harnessClient(world.harness);
  const admin = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
  // two approvers for switchovers here, so that one approval can be waiting when the failover comes
  await admin.policies.set.mutate({ cluster: world.scope, rules: { approvals: { switchover: 2 } } });
  const op = await person(browser, world.url, OPERATOR);
  const ap = await person(browser, world.url, APPROVER2);
  try {
    const id = await requestSwitchover(op.page, world.scope, 'e2e: approval then failover');
    await ap.page.goto(`/operations/${id}`);
    await ap.page.getByRole('button', { name: 'Approve' }).click();
    await expect(ap.page.getByRole('list', { name: 'Approvals' })).toContainText('counts');

    const old = (await harness.primary())!;
    await harness.kill9Node(old);
    // a new primary (not "none for a moment")
    await expect.poll(async () => { const p = await harness.primary(); return p !== null && p !== old; }, { timeout: 60_000 }).toBe(true);
    const now = (await harness.primary())!;
    // the page may first see the leaderless moment ("to null") or already the new leader
    await expect(ap.page.getByRole('list', { name: 'Approvals' })).toContainText(`does not count: void: the cluster changed since it was given (the leader changed from ${old} to `, { timeout: 60_000 });
    expect(now).not.toBe(old);
    await expect(op.page.getByRole('status', { name: 'Status' })).toHaveText('awaiting approval');
    await shot(ap.page, 'approval-void-after-failover');
  } finally {
    await admin.policies.set.mutate({ cluster: world.scope, rules: { approvals: {} } });
    await op.context.close();
    await ap.context.close();
  }
});
