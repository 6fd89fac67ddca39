import type { APIRequestContext, Page } from '@playwright/test';
import { en, es, expect, label, test, uniqueEmail } from './support';
import { botHeaders } from './bot-solver';

/*
 * Accounts, end to end: the server under test has no SMTP server, so every mail lands in its
 * outbox and the dev mailbox page (/dev/mailbox) shows it. Each test uses its own address.
 * Rate limits to stay within: sign-up 10 per hour per IP, sign-in 30 per 10 minutes per IP.
 */

const PASSWORD = 'correct horse battery';

/** Create an account through the API (no session; the address stays unverified). */
async function signUpByApi(request: APIRequestContext, email: string, password = PASSWORD) {
  const res = await request.post('/api/auth/sign-up/email', {
    data: { email, password, name: 'E2E Tester', region: 'US', ageConfirmed: true },
    headers: await botHeaders(request, 'signup'),
  });
  expect(res.status(), await res.text()).toBe(200);
}

/** Open the newest mail to `email` whose subject matches, in the dev mailbox; returns the link matching `link`. */
async function openMail(page: Page, email: string, subject: RegExp, link: RegExp) {
  await page.goto('/dev/mailbox');
  await expect(page.getByRole('heading', { level: 1, name: en.mailbox.title })).toBeVisible();
  // the list polls every 3 s: the mail may still be on its way
  const item = page.getByTestId('mailbox-item').filter({ hasText: email }).filter({ hasText: subject }).first();
  await expect(item).toBeVisible({ timeout: 15_000 });
  await item.click();
  const message = page.getByTestId('mailbox-message');
  await expect(message.getByRole('heading', { level: 2 })).toHaveText(subject);
  await expect(message).toContainText(email);
  // the HTML version is shown in a sandboxed frame; the text version's URLs are real links
  await expect(message.locator('iframe')).toHaveAttribute('sandbox', '');
  const anchor = page.getByTestId('mailbox-text').locator('a').filter({ hasText: link }).first();
  await expect(anchor).toBeVisible();
  return anchor;
}

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel(label(en.auth.fields.email)).fill(email);
  await page.getByLabel(label(en.auth.fields.password)).fill(password);
  await page.getByRole('button', { name: en.auth.signIn.submit, exact: true }).click();
}

test('sign up, verify by mail, sign out and in, and switch the language for good', async ({ page }) => {
  const email = uniqueEmail('signup');
  await page.goto('/sign-up');
  await expect(page.getByRole('heading', { level: 1, name: en.auth.signUp.title })).toBeVisible();

  await page.getByLabel(label(en.auth.fields.name)).fill('Ada Lovelace');
  await page.getByLabel(label(en.auth.fields.email)).fill(email);
  const password = page.getByLabel(label(en.auth.fields.password));
  await password.fill(PASSWORD);
  // the show/hide toggle reveals the password
  await page.getByRole('button', { name: en.auth.fields.showPassword }).click();
  await expect(password).toHaveAttribute('type', 'text');
  await page.getByRole('button', { name: en.auth.fields.showPassword }).click();
  await expect(password).toHaveAttribute('type', 'password');

  // Germany: the minimum age is 16, and the checkbox says so
  await page.getByLabel(label(en.auth.fields.region)).selectOption('DE');
  const age = page.getByRole('checkbox', { name: en.auth.signUp.age.replace('{{age}}', '16') });
  await expect(age).toBeVisible();
  await expect(age).not.toBeChecked();

  // without the age confirmation, nothing is sent
  await page.getByRole('button', { name: en.auth.signUp.submit, exact: true }).click();
  await expect(page.getByText(en.auth.signUp.errors.age.replace('{{age}}', '16'))).toBeVisible();
  await expect(age).toBeFocused();

  await age.check();
  await page.getByRole('button', { name: en.auth.signUp.submit, exact: true }).click();
  const inbox = page.getByTestId('check-inbox');
  await expect(inbox.getByRole('heading', { level: 1, name: en.auth.verify.checkInbox })).toBeVisible();
  await expect(inbox).toContainText(email);
  await expect(inbox.getByRole('button', { name: en.auth.verify.resend })).toBeVisible();

  // the verification mail: its link verifies, signs in and lands on the account page
  const link = await openMail(page, email, /verify/i, /\/api\/auth\/verify-email\?/);
  await link.click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { level: 1, name: en.account.title })).toBeVisible();
  await expect(page.getByTestId('current-email')).toHaveText(email);
  await expect(page.getByTestId('email-verified')).toHaveText(en.account.email.verified);
  await expect(page.getByTestId('verify-notice')).toHaveCount(0);
  const banner = page.getByRole('banner');
  await expect(banner.getByTestId('account-menu-button')).toContainText('Ada Lovelace');

  // sign out from the account menu: back home, signed out
  await banner.getByTestId('account-menu-button').click();
  await banner.getByRole('button', { name: en.nav.signOut }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(banner.getByRole('link', { name: en.nav.signIn })).toBeVisible();
  await page.goto('/account');
  await expect(page).toHaveURL(/\/sign-in\?next=(%2F|\/)account$/);

  // sign in again with the password: back to the account (the ?next= target)
  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('current-email')).toHaveText(email);

  // Español: the UI switches at once...
  const saved = page.waitForResponse((r) => r.url().endsWith('/api/me') && r.request().method() === 'PATCH');
  await page.getByLabel(label(en.language.label)).selectOption('es');
  expect((await saved).status()).toBe(200);
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await expect(page.getByRole('heading', { level: 1, name: es.account.title })).toBeVisible();
  await expect(page.getByRole('heading', { level: 2, name: es.account.profile.title })).toBeVisible();
  await expect(page.getByRole('navigation', { name: es.nav.label }).getByRole('link', { name: es.nav.home })).toBeVisible();
  await expect(page.getByRole('navigation', { name: es.nav.label }).getByRole('link', { name: es.nav.pricing })).toBeVisible();

  // ...and it is the account's choice, not only this browser's: forget the local one and reload
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await expect(page.getByRole('heading', { level: 1, name: es.account.title })).toBeVisible();
  await expect(page.getByRole('heading', { level: 2, name: es.account.sessions.title })).toBeVisible();
  await expect(page.getByTestId('session-list')).toContainText(es.account.sessions.thisDevice);
  await expect(page.getByRole('navigation', { name: es.nav.label }).getByRole('link', { name: es.nav.docs })).toBeVisible();
});

test('a wrong password gets the same answer whether or not the account exists', async ({ page, watcher }) => {
  watcher.expect({ method: 'POST', path: '/api/auth/sign-in/email', status: 401 });
  const email = uniqueEmail('wrongpw');
  await signUpByApi(page.request, email);

  const attempt = async (address: string) => {
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/auth/sign-in/email'));
    await signIn(page, address, 'not the password');
    expect((await answer).status()).toBe(401);
    const error = page.getByTestId('form-error');
    await expect(error).toBeVisible();
    return (await error.textContent())?.trim();
  };

  await page.goto('/sign-in');
  const known = await attempt(email);
  const unknown = await attempt(uniqueEmail('nobody'));

  expect(known).toBeTruthy();
  expect(unknown).toBe(known);
  expect(known).not.toMatch(/exist|not found|no account|unknown/i);
  await expect(page).toHaveURL(/\/sign-in$/);
});

test('forgot password: the mailed link sets a new password, once', async ({ page }) => {
  const email = uniqueEmail('reset');
  await signUpByApi(page.request, email);
  const newPassword = 'a brand new passphrase';

  await page.goto('/sign-in');
  await page.getByRole('link', { name: en.auth.signIn.forgot }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel(label(en.auth.fields.email)).fill(email);
  await page.getByRole('button', { name: en.auth.forgot.submit }).click();
  await expect(page.getByTestId('forgot-sent')).toContainText(en.auth.forgot.sent.replace('{{email}}', email));

  const link = await openMail(page, email, /password/i, /reset-password/);
  const href = await link.getAttribute('href');
  expect(href).toBeTruthy();
  await link.click();
  await expect(page).toHaveURL(/\/reset-password\?token=/);
  await expect(page.getByRole('heading', { level: 1, name: en.auth.reset.title })).toBeVisible();

  // the two fields must match
  await page.getByLabel(label(en.auth.fields.newPassword)).fill(newPassword);
  await page.getByLabel(label(en.auth.fields.confirmPassword)).fill(`${newPassword}!`);
  await page.getByRole('button', { name: en.auth.reset.submit }).click();
  await expect(page.getByText(en.auth.errors.mismatch)).toBeVisible();
  await page.getByLabel(label(en.auth.fields.confirmPassword)).fill(newPassword);
  await page.getByRole('button', { name: en.auth.reset.submit }).click();
  await expect(page.getByRole('heading', { level: 1, name: en.auth.reset.doneTitle })).toBeVisible();

  await page.getByRole('main').getByRole('link', { name: en.auth.signIn.title }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await signIn(page, email, newPassword);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('current-email')).toHaveText(email);

  // the same link again: used up
  await page.goto(href!);
  await expect(page).toHaveURL(/\/reset-password/);
  const expired = page.getByTestId('reset-expired');
  await expect(expired.getByRole('heading', { level: 1, name: en.auth.reset.expiredTitle })).toBeVisible();
  await expect(expired.getByRole('link', { name: en.auth.reset.requestNew })).toHaveAttribute('href', '/forgot-password');
});

test('the Spanish catalogue translates every English text', () => {
  const keys = (node: Record<string, unknown>, prefix = ''): string[] =>
    Object.entries(node).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`]));
  const spanish = new Set(keys(es));
  expect(keys(en).filter((k) => !spanish.has(k))).toEqual([]);
});
