/**
 * The admin pages against the real control plane. The admin creates an agent token for a new
 * cluster: the token is shown once with the agents' YAML, is listed by its prefix afterwards, and
 * revoked after a confirmation (then an agent presenting it is refused). The admin creates a user
 * (weak passwords are refused with the server's reason) and changes the user's role. That user,
 * a viewer, signs in in a browser of their own: the admin pages say "Admins only", and the clusters
 * page still works.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from '@playwright/test';
import WebSocket from 'ws';
import { adminTrpc, signInCookie } from '../support/http.ts';
import { expect, phoneContext, test } from '../support/fixtures.ts';

test.describe.configure({ mode: 'serial' });

/** What an agent hears when it says hello with this token. */
async function agentHello(url: string, token: string, cluster: string): Promise<Record<string, unknown> | null> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/agents/ws`);
  return new Promise((resolve, reject) => {
    let msg: Record<string, unknown> | null = null;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', v: 1, token, cluster, member: 'admin-e2e', agentVersion: 'e2e' })));
    ws.on('message', (data) => {
      msg = JSON.parse(String(data)) as Record<string, unknown>;
      ws.close();
    });
    ws.on('close', () => resolve(msg));
    ws.on('error', reject);
  });
}

function tokensTable(page: Page) {
  return page.getByRole('table', { name: 'Agent tokens' });
}

test('an admin creates a token for a new cluster, sees it once, finds it by its prefix and revokes it', async ({ page, context, world, signIn, shot, browser }) => {
  await signIn();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: world.url });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/clusters');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
  await expect(page).toHaveURL(/\/admin\/tokens$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Agent tokens' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Agent tokens' })).toHaveAttribute('aria-current', 'page');

  // the token global-setup made for the cluster's agents: active, and in use
  const agentsRow = tokensTable(page).getByRole('row').filter({ hasText: 'e2e agents' });
  await expect(agentsRow).toHaveCount(1);
  await expect(agentsRow).toContainText(world.scope);
  await expect(agentsRow).toContainText('Active');
  await expect(agentsRow.getByRole('cell').nth(1)).toHaveText('node1, node2, node3');
  await expect(agentsRow.getByRole('cell').nth(4)).toHaveText(/ago|just now/);

  const form = page.getByRole('form', { name: 'Create a token' });
  const create = form.getByRole('button', { name: 'Create token' });
  // no member: refused, saying what is missing
  await form.getByLabel('Cluster scope').fill('somewhere');
  await create.click();
  await expect(form.getByRole('alert')).toHaveText("Enter the member's name (the agent's `name`); several, separated by commas.");
  await form.getByLabel('Member').fill('admin-e2e');
  await form.getByLabel('Cluster scope').fill('');
  // no scope: refused, saying what is missing
  await create.click();
  await expect(form.getByRole('alert')).toHaveText("Enter the cluster's scope (its name in the agents' YAML).");
  await expect(form.getByLabel('Cluster scope')).toHaveAttribute('aria-invalid', 'true');
  // a scope agents could not name: the server's reason
  await form.getByLabel('Cluster scope').fill('no spaces please');
  await create.click();
  await expect(form.getByRole('alert')).toHaveText(/^Letters, digits, "\.", "_" and "-", starting with a letter or digit\.$/);

  const scope = `e2e-admin-${Date.now().toString(36)}`;
  await form.getByLabel('Cluster scope').fill(scope);
  await form.getByLabel('Label').fill('admin e2e');
  await create.click();

  // shown once: the token, a copy button, the agents' YAML
  const panel = page.getByRole('region', { name: `New token for admin-e2e of ${scope}` });
  await expect(panel).toBeVisible();
  await expect(panel).toContainText('this is the only time it is shown');
  const token = await panel.getByRole('textbox', { name: 'Token' }).inputValue();
  const m = /^keel_at_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(token);
  expect(m, `a Keel agent token, got ${token}`).not.toBeNull();
  const prefix = m![1]!;
  const yaml = `controlplane:\n  url: ${world.url}\n  token: ${token}\n`;
  expect(await panel.getByRole('figure', { name: 'Agent configuration' }).locator('code').textContent()).toBe(yaml);

  await panel.getByRole('button', { name: 'Copy token' }).click();
  await expect(panel.getByRole('status').filter({ hasText: 'Copied to the clipboard' })).toHaveCount(1);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
  await panel.getByRole('button', { name: 'Copy YAML' }).click();
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(yaml);

  // the list has it, by its prefix only
  const row = tokensTable(page)
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name: `keel_at_${prefix}_…` }) });
  await expect(row).toHaveCount(1);
  const cells = row.getByRole('cell');
  await expect(cells.nth(0)).toHaveText(scope);
  await expect(cells.nth(1)).toHaveText('admin-e2e');
  await expect(cells.nth(2)).toHaveText('admin e2e');
  await expect(cells.nth(3)).toContainText(`by ${world.admin.email}`);
  await expect(cells.nth(4)).toHaveText('never');
  await expect(cells.nth(5)).toHaveText('Active');
  await shot(page, 'admin-tokens');

  // once: gone when dismissed, and after a reload
  await panel.getByRole('button', { name: 'Done, I have saved it' }).click();
  await expect(panel).toHaveCount(0);
  expect(await page.content()).not.toContain(token);
  await page.reload();
  await expect(row).toHaveCount(1);
  expect(await page.content()).not.toContain(token);
  await expect(form).toBeVisible();

  // revoke: asks first; Cancel changes nothing
  const revokeButton = row.getByRole('button', { name: `Revoke token ${prefix}` });
  await revokeButton.click();
  const dialog = page.getByRole('dialog', { name: `Revoke keel_at_${prefix}_…?` });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(`Agents of cluster ${scope} that use this token (admin e2e) are refused the next time they connect.`);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(cells.nth(5)).toHaveText('Active');

  await revokeButton.click();
  await expect(dialog).toBeVisible();
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot(page, 'admin-tokens-revoke-dark', { fullPage: false });
  await page.emulateMedia({ colorScheme: 'light' });
  await dialog.getByRole('button', { name: 'Revoke token' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('status').filter({ hasText: `Revoked keel_at_${prefix}_… (cluster ${scope}).` })).toBeVisible();
  await expect(cells.nth(5)).toContainText('Revoked');
  await expect(revokeButton).toHaveCount(0);
  await expect(agentsRow).toContainText('Active');

  // the server agrees, and an agent presenting the token is refused
  const admin = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
  const listed = await admin.tokens.list.query({ scope });
  expect(listed).toHaveLength(1);
  expect(listed[0]).toMatchObject({ prefix, label: 'admin e2e', createdBy: world.admin.email, lastUsedAt: null });
  expect(listed[0]!.revokedAt).not.toBeNull();
  const answer = await agentHello(world.url, token, scope);
  expect(answer).toMatchObject({ type: 'error', code: 'unauthorized' });
  expect(String(answer?.message)).toContain('revoked');

  // on a phone: the list fits the screen
  const phone = await phoneContext(browser, context, world.url);
  try {
    const p = await phone.newPage();
    await p.goto('/admin/tokens');
    await expect(tokensTable(p).getByRole('rowheader', { name: `keel_at_${prefix}_…` })).toBeVisible();
    expect(await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await shot(p, 'phone-admin-tokens');
  } finally {
    await phone.close();
  }
});

test('an admin creates a user and changes the role; the viewer sees "Admins only" on admin pages and still the clusters', async ({ page, world, signIn, browser, shot }) => {
  await signIn();
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto('/admin/users');
  await expect(page.getByRole('heading', { level: 1, name: 'Users' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Users' }).getByRole('rowheader', { name: world.admin.email })).toContainText('you');

  const form = page.getByRole('form', { name: 'Create a user' });
  const email = `viewer-ui-${Date.now().toString(36)}@keel.test`;
  const password = `Vw-${randomBytes(9).toString('base64url')}-7q`;
  await form.getByLabel('E-mail').fill(email);
  await form.getByLabel('Role').selectOption('operator');
  // weak passwords: refused with the server's reason
  await form.getByLabel('Password').fill('short');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByRole('alert')).toHaveText('The password must be at least 12 characters long.');
  await expect(form.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
  await form.getByLabel('Password').fill('administrator');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByRole('alert')).toHaveText('The password is too common.');
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Created ${email} (operator). They can sign in now.` })).toBeVisible();
  await expect(form.getByRole('alert')).toHaveCount(0);
  await expect(form.getByLabel('E-mail')).toHaveValue('');

  // change the role: operator -> viewer
  const roleSelect = page.getByRole('combobox', { name: `Role of ${email}` });
  await expect(roleSelect).toHaveValue('operator');
  const change = page.getByRole('button', { name: `Change role of ${email}` });
  await expect(change).toBeDisabled();
  await roleSelect.selectOption('viewer');
  await change.click();
  await expect(page.getByRole('status').filter({ hasText: `${email} is now viewer.` })).toBeVisible();
  await expect(roleSelect).toHaveValue('viewer');
  await expect(change).toBeDisabled();
  const admin = adminTrpc(world.url, await signInCookie(world.url, world.admin.email, world.admin.password));
  expect((await admin.users.list.query()).find((u) => u.email === email)?.role).toBe('viewer');
  await shot(page, 'admin-users');

  // the viewer, in a browser of their own
  const viewerContext = await browser.newContext({ baseURL: world.url, colorScheme: 'light' });
  try {
    const v = await viewerContext.newPage();
    await v.goto('/admin/tokens');
    await expect(v).toHaveURL(/\/sign-in\?next=%2Fadmin%2Ftokens$/);
    await v.getByLabel('E-mail').fill(email);
    await v.getByLabel('Password').fill(password);
    await v.getByRole('button', { name: 'Sign in' }).click();
    await expect(v).toHaveURL(/\/admin\/tokens$/);
    await expect(v.getByRole('heading', { level: 1, name: 'Admins only' })).toBeVisible();
    await expect(v.getByRole('main')).toContainText(`This page is for admins only. You are signed in as ${email} with the viewer role.`);
    await expect(v.getByRole('table', { name: 'Agent tokens' })).toHaveCount(0);
    await expect(v.getByRole('form', { name: 'Create a token' })).toHaveCount(0);
    await expect(v.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' })).toBeVisible();
    await expect(v.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' })).toHaveCount(0);
    await shot(v, 'admin-tokens-viewer');
    // and the server refuses the calls anyway
    const res = await viewerContext.request.get('/api/trpc/tokens.list');
    expect(res.status()).toBe(403);

    await v.goto('/admin/users');
    await expect(v.getByRole('heading', { level: 1, name: 'Admins only' })).toBeVisible();
    await expect(v.getByRole('table', { name: 'Users' })).toHaveCount(0);

    await v.getByRole('link', { name: 'Back to the clusters' }).click();
    await expect(v).toHaveURL(/\/clusters$/);
    await expect(v.getByRole('heading', { level: 1, name: 'Clusters' })).toBeVisible();
    await expect(v.getByRole('table', { name: 'Clusters' }).getByRole('rowheader', { name: world.scope, exact: true })).toBeVisible();
  } finally {
    await viewerContext.close();
  }
});
