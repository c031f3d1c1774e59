/**
 * Per-cluster roles and approval policies from the admin pages, checked through the app:
 * - a viewer sees no request form anywhere and "Admins only" on the policies page;
 * - the admin grants that viewer operator on the e2e cluster (users page) and sets 2 approvers for a
 *   switchover there (policies page; a count the server refuses is shown next to its row first);
 * - the viewer now has the request form on that cluster and not on another one, and a switchover
 *   requested there needs 2 approvals (preview and operation page);
 * - the audit view lists the grant and the policy change, by the admin;
 * - the admin revokes the grant, and the form is gone again.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { adminTrpc, signInCookie } from '../support/http.ts';
import { expect, test } from '../support/fixtures.ts';

test.describe.configure({ mode: 'serial', timeout: 240_000 });

const PASSWORD = `Grant-${randomBytes(9).toString('base64url')}`;
const GRANTEE = 'e2e-grantee@keel.test';
/** A second cluster (no members), where the grant does not apply. */
const OTHER = 'e2e-grants-other';

async function person(browser: Browser, url: string, email: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: url });
  const res = await context.request.post(`${url}/api/auth/sign-in/email`, { data: { email, password }, headers: { origin: url } });
  expect(res.status(), await res.text()).toBe(200);
  return { context, page: await context.newPage() };
}

/** Open a cluster page and wait until it has rendered the cluster (so an absent form means hidden, not "not yet"). */
async function openCluster(page: Page, scope: string) {
  await page.goto(`/clusters/${scope}`);
  await expect(page.getByRole('region', { name: 'Key facts' })).toBeVisible({ timeout: 30_000 });
  return page.getByRole('form', { name: 'Request an operation' });
}

test.beforeAll(async ({ world }) => {
  const admin = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
  const users = await admin.users.list.query();
  if (!users.some((u) => u.email === GRANTEE)) await admin.users.create.mutate({ email: GRANTEE, password: PASSWORD, role: 'viewer' });
  const clusters = await admin.clusters.list.query();
  if (!clusters.some((c) => c.scope === OTHER)) await admin.tokens.create.mutate({ scope: OTHER, members: ['other1'], label: 'e2e grants: another cluster' });
});

test.afterAll(async ({ world }) => {
  // leave the shared cluster as the other specs expect it: default policy, no grant
  const admin = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
  await admin.policies.set.mutate({ cluster: world.scope, rules: { approvals: {} } });
  const grantee = (await admin.users.list.query()).find((u) => u.email === GRANTEE);
  if (grantee) await admin.users.grantClusterRole.mutate({ userId: grantee.id, cluster: world.scope, role: null });
});

test('an admin grants operator on one cluster and sets 2 approvers for switchover; the viewer sees the effect; the audit lists both', async ({ browser, world, signIn, page, shot }) => {
  const viewer = await person(browser, world.url, GRANTEE, PASSWORD);
  let operationId: string | null = null;
  try {
    // before: a viewer, no request form, no admin pages
    await expect(await openCluster(viewer.page, world.scope)).toHaveCount(0);
    await expect(viewer.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' })).toHaveCount(0);
    await viewer.page.goto('/admin/policies');
    await expect(viewer.page.getByRole('heading', { name: 'Admins only' })).toBeVisible({ timeout: 30_000 });
    await expect(viewer.page.getByRole('table', { name: `Approval policy of ${world.scope}` })).toHaveCount(0);

    // the admin grants operator on the e2e cluster
    await signIn();
    await page.goto('/admin/users');
    const grant = page.getByRole('form', { name: 'Grant a role on one cluster' });
    await expect(grant).toBeVisible({ timeout: 30_000 });
    await grant.getByRole('button', { name: 'Grant role' }).click();
    await expect(grant.getByText('Pick a user.')).toBeVisible();
    await grant.getByLabel('User', { exact: true }).selectOption({ label: `${GRANTEE} (viewer)` });
    await grant.getByLabel('Cluster', { exact: true }).selectOption(world.scope);
    await grant.getByLabel('Role on that cluster').selectOption('operator');
    await grant.getByRole('button', { name: 'Grant role' }).click();
    await expect(page.getByRole('status').filter({ hasText: `${GRANTEE} is now operator on ${world.scope}.` })).toBeVisible();
    const grantRow = page.getByRole('table', { name: 'Cluster role grants' }).getByRole('row').filter({ hasText: GRANTEE });
    await expect(grantRow).toHaveCount(1);
    await expect(grantRow).toContainText(world.scope);
    await expect(grantRow).toContainText('operator');
    await shot(page, 'admin-cluster-roles');

    // ... and 2 approvers for a switchover there
    await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Approval policies' }).click();
    await expect(page).toHaveURL(/\/admin\/policies$/);
    await page.getByLabel('Cluster', { exact: true }).selectOption(world.scope);
    const policy = page.getByRole('table', { name: `Approval policy of ${world.scope}` });
    const switchover = policy.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'switchover', exact: true }) });
    await expect(switchover.getByRole('cell').first()).toHaveText('1 approver');
    await expect(policy.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'restart', exact: true }) }).getByRole('cell').first()).toHaveText('1 approver when it restarts the primary, else none');
    await expect(policy.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'reload', exact: true }) }).getByRole('cell').first()).toHaveText('not required');
    await switchover.getByLabel('Approval for switchover').selectOption('required');
    // the server refuses more than 5 approvers: its words, next to the row, and nothing is saved
    await switchover.getByLabel('Approvers for switchover').fill('9');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect(switchover.getByRole('alert')).toContainText('5');
    await expect(switchover.getByLabel('Approvers for switchover')).toHaveAttribute('aria-invalid', 'true');
    const stored = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
    expect((await stored.policies.get.query({ cluster: world.scope })).rules?.approvals.switchover).toBeUndefined();
    await shot(page, 'admin-policy-refused');
    await switchover.getByLabel('Approvers for switchover').fill('2');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect(page.getByRole('status').filter({ hasText: `Saved the approval policy of ${world.scope}.` })).toBeVisible();
    await expect(switchover.getByRole('alert')).toHaveCount(0);
    await page.reload();
    await page.getByLabel('Cluster', { exact: true }).selectOption(world.scope);
    await expect(switchover.getByLabel('Approval for switchover')).toHaveValue('required', { timeout: 30_000 });
    await expect(switchover.getByLabel('Approvers for switchover')).toHaveValue('2');
    await shot(page, 'admin-policy-saved');

    // the viewer, now operator on that cluster only: the request form there, none on the other
    const form = await openCluster(viewer.page, world.scope);
    await expect(form).toBeVisible();
    await form.scrollIntoViewIfNeeded();
    await form.getByLabel('Operation').selectOption('switchover', { timeout: 30_000 });
    await form.getByLabel('Reason (required)').fill('e2e: a switchover under the two-approver policy', { timeout: 30_000 });
    await expect(form).toContainText(/needs 2 approvals/i, { timeout: 30_000 });
    await form.getByRole('button', { name: 'Request switchover' }).click({ timeout: 30_000 });
    await expect(viewer.page).toHaveURL(/\/operations\/[0-9a-f-]{36}$/, { timeout: 30_000 });
    operationId = viewer.page.url().split('/').pop()!;
    await expect(viewer.page.getByRole('status', { name: 'Status' })).toHaveText('awaiting approval');
    await expect(viewer.page.getByRole('heading', { name: 'Approvals (0/2)' })).toBeVisible();
    await shot(viewer.page, 'grantee-switchover-needs-2');
    await expect(await openCluster(viewer.page, OTHER)).toHaveCount(0);

    // the audit view lists both changes, by the admin
    await page.goto('/audit');
    await page.getByLabel('Cluster').fill(world.scope);
    const audit = page.getByRole('table', { name: 'Audit entries' }).getByRole('row');
    const granted = audit.filter({ hasText: 'user.grant_cluster_role' }).filter({ hasText: `user:${GRANTEE}` });
    await expect(granted.first()).toContainText(world.admin.email, { timeout: 30_000 });
    await expect(granted.first()).toContainText('"role":"operator"');
    const changed = audit.filter({ hasText: 'policy.update' }).filter({ hasText: '"switchover":2' });
    await expect(changed.first()).toContainText(world.admin.email);
    await expect(changed.first()).toContainText(`cluster:${world.scope}`);
    await shot(page, 'audit-grant-and-policy');

    // the request is withdrawn; the admin revokes the grant; the form is gone again
    const grantee = adminTrpc(world.url, await signInCookie(world.url, GRANTEE, PASSWORD));
    await grantee.operations.cancel.mutate({ id: operationId, reason: 'e2e: only checking the policy' });
    operationId = null;
    await page.goto('/admin/users');
    await page.getByRole('button', { name: `Revoke operator on ${world.scope} from ${GRANTEE}` }).click({ timeout: 30_000 });
    await expect(page.getByRole('status').filter({ hasText: `${GRANTEE} no longer has operator on ${world.scope}.` })).toBeVisible();
    await expect(page.getByRole('table', { name: 'Cluster role grants' }).getByRole('row').filter({ hasText: GRANTEE })).toHaveCount(0);
    await expect(await openCluster(viewer.page, world.scope)).toHaveCount(0);
    await page.goto('/audit');
    await page.getByLabel('Cluster').fill(world.scope);
    await expect(page.getByRole('table', { name: 'Audit entries' }).getByRole('row').filter({ hasText: 'user.revoke_cluster_role' }).filter({ hasText: `user:${GRANTEE}` }).first()).toContainText(world.admin.email, { timeout: 30_000 });
  } finally {
    if (operationId) {
      const admin = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
      await admin.operations.cancel.mutate({ id: operationId, reason: 'e2e: cleanup' }).catch(() => undefined);
    }
    await viewer.context.close();
  }
});
