/** Signing in: a wrong password is refused with a message; the right one lands where you were going. */
import { expect, test } from '../support/fixtures.ts';

test('a wrong password shows an error and keeps you on the sign-in page', async ({ page, world }) => {
  await page.goto('/clusters');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fclusters$/);
  await page.getByLabel('E-mail').fill(world.admin.email);
  await page.getByLabel('Password').fill('not-the-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('form', { name: 'Keel' }).getByRole('alert')).toHaveText('Wrong e-mail or password.');
  await expect(page).toHaveURL(/\/sign-in/);
});

test('the right password signs in and returns to the page asked for', async ({ page, world, shot }) => {
  await page.goto(`/clusters/${world.scope}`);
  await expect(page).toHaveURL(/\/sign-in\?next=/);
  await expect(page.getByRole('heading', { name: 'Keel' })).toBeVisible();
  await shot(page, 'sign-in');
  await page.getByLabel('E-mail').fill(world.admin.email);
  await page.getByLabel('Password').fill(world.admin.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`/clusters/${world.scope}$`));
  await expect(page.getByRole('heading', { level: 1, name: world.scope })).toBeVisible();
  await expect(page.getByText(world.admin.email)).toBeVisible();
});
