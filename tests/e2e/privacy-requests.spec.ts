import { en, es, expect, label, signUpAndVerify, test, uniqueEmail, cli } from './support';

/*
 * Privacy requests, end to end: the public form (linked from the footer, with the support address
 * from the settings), its child report, and the operators' queue where a support person finds the
 * request with its due date and closes it. A plain user is kept out of the queue.
 */

const form = en.privacyRequests.form;
const op = en.privacyRequests.operator;

test('the privacy request form, linked from the footer, answers with a reference and a due date', async ({ page }) => {
  await page.goto('/');
  const legal = page.getByRole('navigation', { name: en.footer.legalLabel }).first();
  // the support address from the settings, in the footer
  await expect(legal.getByTestId('footer-support-email')).toHaveText('Contact: support@savesora.com');
  await legal.getByRole('link', { name: en.privacyRequests.footerLink }).click();
  await expect(page).toHaveURL(/\/privacy-request$/);
  await expect(page.getByRole('heading', { level: 1, name: form.title })).toBeVisible();
  await expect(page.getByTestId('privacy-request-support')).toContainText('support@savesora.com');
  await expect(page.getByText(form.lead_other.replace('{{count}}', '30'))).toBeVisible();

  // nothing filled in: the first missing field says so and gets the focus
  await page.getByRole('button', { name: form.submit }).click();
  const message = page.getByLabel(label(form.message));
  await expect(message).toBeFocused();
  await expect(page.getByText(form.messageRequired)).toBeVisible();

  // a child report asks for the account's address first
  await page.getByLabel(label(form.kind)).selectOption('child');
  await expect(page.getByText(form.childNote)).toBeVisible();
  await message.fill('I believe this account belongs to my 12-year-old son.');
  await page.getByLabel(label(form.email)).fill(uniqueEmail('parent'));
  await page.getByRole('button', { name: form.submit }).click();
  const subject = page.getByLabel(label(form.subjectEmail));
  await expect(subject).toBeFocused();
  await subject.fill(uniqueEmail('young'));
  await page.getByRole('button', { name: form.submit }).click();

  await expect(page.getByRole('heading', { level: 1, name: form.doneTitle })).toBeVisible();
  await expect(page.getByTestId('privacy-request-reference')).toHaveText(/^PR-[0-9A-Z]{10}$/);
});

test('a support person finds the request in the queue, with its due date, and closes it; a plain user is kept out', async ({ page }) => {
  // a request, sent through the API as the form does
  const res = await page.request.post('/api/privacy-requests', {
    data: { kind: 'correction', email: uniqueEmail('correct-me'), name: 'Cora Rect', message: 'My name is misspelled on my receipts.' },
  });
  expect(res.status(), await res.text()).toBe(201);
  const { reference } = (await res.json()) as { reference: string };

  const email = await signUpAndVerify(page, 'privacy-desk');
  // not yet an operator: the queue sends a plain user home
  await page.goto('/operator/privacy-requests');
  await expect(page).toHaveURL(/\/$/);

  await cli(['user:role', '--email', email, '--role', 'support']);
  await page.goto('/account');
  await page.getByTestId('account-menu-button').click();
  await page.getByTestId('account-menu-privacy-requests').click();
  await expect(page.getByRole('heading', { level: 1, name: op.title })).toBeVisible();
  await page.getByLabel(op.kind).selectOption('correction');
  const row = page.getByTestId('privacy-request-row').filter({ hasText: reference });
  await expect(row).toBeVisible();
  await expect(row).toHaveAttribute('data-overdue', 'false');
  await expect(row).toContainText(op.due.replace(' {{date}}', ''));
  await row.getByRole('link', { name: reference }).click();

  await expect(page.getByRole('heading', { level: 1, name: reference })).toBeVisible();
  await expect(page.getByTestId('privacy-request-message')).toHaveText('My name is misspelled on my receipts.');
  await expect(page.getByTestId('privacy-request-account')).toContainText(op.noAccount);
  // closing needs to say what was done
  await page.getByLabel(op.statusLabel).selectOption('done');
  await page.getByTestId('privacy-request-save').click();
  await expect(page.getByText(op.resolutionRequired)).toBeVisible();
  await expect(page.getByLabel(label(op.resolution))).toBeFocused();
  await page.getByLabel(label(op.resolution)).fill('Corrected the name; replied by mail.');
  await page.getByTestId('privacy-request-save').click();
  await expect(page.getByTestId('privacy-request-closed')).toContainText('Corrected the name; replied by mail.');
  await expect(page.getByTestId('privacy-request-status')).toHaveAttribute('data-status', 'done');
});

test('the form speaks Spanish', async ({ page }) => {
  await page.goto('/privacy-request');
  await page.getByTestId('footer-language').selectOption('es');
  await expect(page.getByRole('heading', { level: 1, name: es.privacyRequests.form.title })).toBeVisible();
  await expect(page.getByRole('button', { name: es.privacyRequests.form.submit })).toBeVisible();
  await expect(page.getByTestId('footer-support-email')).toHaveText('Contacto: support@savesora.com');
});
