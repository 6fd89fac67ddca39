import { E2E_PASSWORD, en, expect, label, signUpAndVerify, test } from './support';

/*
 * Deleting one's own account from the account page (privacy policy 5): what goes and what stays,
 * confirmation with the password, signed out everywhere; signing in again shows the date on every
 * page with the way to cancel, and cancelling keeps the account.
 */

test('ask for the deletion with the password, then sign in again and cancel it from the banner', async ({ page, watcher }) => {
  const email = await signUpAndVerify(page, 'delete-me');
  const section = page.getByRole('region', { name: en.accountDeletion.title });
  await section.scrollIntoViewIfNeeded();
  await expect(section.getByRole('heading', { level: 3, name: en.accountDeletion.goes.title })).toBeVisible();
  await expect(section.getByTestId('deletion-goes').getByRole('listitem')).toHaveCount(5);
  await expect(section.getByTestId('deletion-stays')).toContainText(en.accountDeletion.stays.safety);
  await expect(section).toContainText(en.accountDeletion.subscriptions);

  await section.getByRole('button', { name: en.accountDeletion.open }).click();
  const dialog = page.getByRole('dialog', { name: en.accountDeletion.dialog.title });
  await expect(dialog).toBeVisible();
  const password = dialog.getByLabel(label(en.accountDeletion.dialog.password));
  await expect(password).toBeFocused();
  // nothing typed: said next to the field, nothing sent
  await dialog.getByRole('button', { name: en.accountDeletion.dialog.confirm }).click();
  await expect(dialog.getByText(en.auth.errors.passwordRequired)).toBeVisible();
  // a wrong password: refused by the server, said next to the field
  watcher.expect({ method: 'POST', path: '/api/me/deletion', status: 400 });
  await password.fill('not my password at all');
  await dialog.getByRole('button', { name: en.accountDeletion.dialog.confirm }).click();
  await expect(dialog.getByText('The password is not correct.')).toBeVisible();
  // Escape closes the dialog without deleting anything
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  await section.getByRole('button', { name: en.accountDeletion.open }).click();
  await dialog.getByLabel(label(en.accountDeletion.dialog.password)).fill(E2E_PASSWORD);
  await dialog.getByRole('button', { name: en.accountDeletion.dialog.confirm }).click();
  // signed out and sent home, told when and where the details went
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByText(en.accountDeletion.done.body.replace('{{email}}', email))).toBeVisible();
  await expect(page.getByRole('link', { name: en.nav.signIn }).first()).toBeVisible();

  // signing in works during the grace period: every page says when, and offers to cancel
  await page.goto('/sign-in');
  await page.getByLabel(label(en.auth.fields.email)).fill(email);
  await page.getByLabel(label(en.auth.fields.password)).fill(E2E_PASSWORD);
  await page.getByRole('button', { name: en.auth.signIn.submit, exact: true }).click();
  const banner = page.getByTestId('deletion-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText(en.accountDeletion.banner.meanwhile);
  await page.goto('/creations');
  await expect(banner).toBeVisible();
  await banner.getByRole('button', { name: en.accountDeletion.cancel }).click();
  await expect(page.getByText(en.accountDeletion.canceled.title)).toBeVisible();
  await expect(banner).toBeHidden();
  // the account page offers the deletion again
  await page.goto('/account');
  await expect(page.getByRole('region', { name: en.accountDeletion.title }).getByRole('button', { name: en.accountDeletion.open })).toBeVisible();
});
