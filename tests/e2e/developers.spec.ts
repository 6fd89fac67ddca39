import type { Cookie, Page } from '@playwright/test';
import { E2E_PASSWORD, en, expect, label, signUpAndVerify, test, uniqueEmail } from './support';
import { botHeaders } from './bot-solver';

/*
 * The developer pages, end to end: an API key made in the UI works against the OpenAI-compatible
 * API, its request shows on the Usage page, and revoking it in the UI shuts it out.
 *
 * The API calls go through the `request` fixture, not `page.request`: that one shares the
 * browser's cookies, and a session cookie riding along would hide whether the key alone is
 * what the API accepts (and, after revoking, refuses).
 *
 * Sign-ups are limited to 10 per hour per address and the whole suite shares that budget, so the
 * tests here share one account: the first signs up, the others reuse its session cookies.
 */

let session: Cookie[] | undefined;

/** Signed in as this file's account, on /account. */
async function signIn(page: Page): Promise<void> {
  if (session) {
    await page.context().addCookies(session);
    await page.goto('/account');
    await expect(page.getByTestId('account-page')).toBeVisible();
    return;
  }
  await signUpAndVerify(page, 'developers');
  session = await page.context().cookies();
}

test('an API key made in the UI calls /v1/videos, shows in Usage, and stops working once revoked', async ({ page, request, baseURL }) => {
  await signIn(page);

  // the account menu leads to the developer hub, which opens on the quick start
  await page.getByTestId('account-menu-button').click();
  await page.getByTestId('account-menu').getByRole('link', { name: en.nav.developers }).click();
  await expect(page).toHaveURL(/\/developers$/);
  await expect(page.getByRole('heading', { level: 1, name: en.developers.title })).toBeVisible();
  await expect(page.getByTestId('developers-tab-quickStart')).toHaveAttribute('aria-current', 'page');
  // the samples carry this installation's real origin
  await expect(page.getByTestId('quick-start').locator('pre').first()).toBeVisible();
  await expect(page.getByTestId('quick-start')).toContainText(`curl ${baseURL!}/v1/videos`);

  // create a key
  await page.getByTestId('quick-start-create-key').click();
  await expect(page).toHaveURL(/\/developers\/keys$/);
  await expect(page.getByTestId('api-keys').getByTestId('empty-state')).toBeVisible();
  await page.getByLabel(label(en.developers.keys.name)).fill('E2E key');
  await page.getByTestId('create-key').click();

  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(en.developers.keys.onceTitle);
  const secret = await page.getByTestId('new-key-secret').inputValue();
  expect(secret.length).toBeGreaterThan(20);
  await page.getByTestId('new-key-done').click();
  await expect(dialog).toBeHidden();

  const row = page.getByTestId('api-key').filter({ hasText: 'E2E key' });
  await expect(row).toHaveAttribute('data-state', 'active');
  // the list shows only the prefix, never the secret
  await expect(page.getByTestId('api-key-list')).not.toContainText(secret);

  // the key works on the OpenAI-compatible API
  const auth = { Authorization: `Bearer ${secret}` };
  const list = await request.get('/v1/videos', { headers: auth });
  expect(list.status(), await list.text()).toBe(200);
  expect(await list.json()).toMatchObject({ object: 'list', data: [] });

  // …and the request appears in the Usage page's log
  await page.getByTestId('developers-tab-usage').click();
  await expect(page).toHaveURL(/\/developers\/usage/);
  const logged = page.getByTestId('usage-log-row').filter({ hasText: '/v1/videos' }).filter({ hasText: 'E2E key' });
  await expect(async () => {
    await page.getByTestId('usage-refresh').click();
    await expect(logged.first()).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await expect(logged.first()).toHaveAttribute('data-status', '200');
  await expect(page.getByTestId('usage-total-requests')).not.toHaveText('0');
  await expect(page.getByTestId('usage-requests-chart').locator('svg[role="img"]')).toBeVisible();
  await expect(page.getByTestId('usage-retention')).toBeVisible();

  // revoke it
  await page.getByTestId('developers-tab-keys').click();
  await row.getByTestId('revoke-key').click();
  await expect(page.getByRole('dialog')).toContainText(en.developers.keys.revokeBody);
  await page.getByTestId('confirm-revoke').click();
  await expect(page.getByRole('dialog')).toBeHidden();
  await expect(row).toHaveAttribute('data-state', 'revoked');
  await expect(row.getByTestId('api-key-revoked')).toBeVisible();
  await expect(row.getByTestId('revoke-key')).toHaveCount(0);

  // the API no longer accepts it
  const refused = await request.get('/v1/videos', { headers: auth });
  expect(refused.status(), await refused.text()).toBe(401);
});

test('webhooks: add an endpoint, see its secret, send a test event and find it in the delivery log', async ({ page, baseURL }) => {
  await signIn(page);
  // Endpoints must be public addresses unless WEBHOOK_ALLOW_HOSTS names the host, and this machine
  // resolves no public names: the endpoint points at the app itself (whose /e2e-webhook-sink answers
  // 404, so deliveries fail, which the log shows just as well), and that needs the host allowed.
  const sink = `${baseURL!}/e2e-webhook-sink`;
  const sameSite = { origin: new URL(baseURL!).origin }; // the CSRF check wants to see where a request comes from
  const probe = await page.request.post('/api/webhooks/endpoints', { data: { url: sink }, headers: sameSite });
  test.skip(probe.status() === 400, `the server refuses ${sink} (${await probe.text()}); start it with WEBHOOK_ALLOW_HOSTS=${new URL(sink).hostname}`);
  expect(probe.status(), await probe.text()).toBe(201);
  const probed = (await probe.json()) as { id: string };
  expect((await page.request.delete(`/api/webhooks/endpoints/${probed.id}`, { headers: sameSite })).status()).toBe(204);

  await page.goto('/developers/webhooks');
  await expect(page.getByTestId('webhooks').getByTestId('empty-state')).toBeVisible();

  // a URL that is not one is refused next to the field, before anything is sent
  await page.getByLabel(label(en.developers.webhooks.url)).fill('not a url');
  await page.getByTestId('add-endpoint').click();
  await expect(page.getByText(en.developers.webhooks.urlInvalid)).toBeVisible();

  await page.getByLabel(label(en.developers.webhooks.url)).fill(sink);
  await page.getByTestId('add-endpoint').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(en.developers.webhooks.createdTitle);
  await expect(page.getByTestId('webhook-secret')).toHaveValue(/^whsec_/);
  const secret = await page.getByTestId('webhook-secret').inputValue();
  await page.getByTestId('webhook-secret-done').click();

  const endpoint = page.getByTestId('webhook-endpoint').filter({ hasText: sink });
  await expect(endpoint).toBeVisible();
  await expect(endpoint).toContainText('video.completed');
  await expect(endpoint).toContainText('video.failed');

  // the secret can be shown again
  await endpoint.getByTestId('webhook-reveal').click();
  await expect(page.getByTestId('webhook-secret')).toHaveValue(secret);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // a test event shows in the endpoint's delivery log
  await endpoint.getByTestId('webhook-test').click();
  await expect(endpoint.getByTestId('webhook-deliveries')).toBeVisible();
  await expect(endpoint.getByTestId('webhook-delivery').first()).toBeVisible({ timeout: 10_000 });

  // turning it off is kept
  const toggle = endpoint.getByTestId('webhook-enabled');
  await expect(toggle).toHaveAttribute('aria-checked', 'true');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-checked', 'false');
  await page.reload();
  await expect(page.getByTestId('webhook-endpoint').getByTestId('webhook-enabled')).toHaveAttribute('aria-checked', 'false');

  // and it can be deleted
  await page.getByTestId('webhook-endpoint').getByTestId('webhook-delete').click();
  await page.getByTestId('confirm-delete-endpoint').click();
  await expect(page.getByTestId('webhook-endpoint')).toHaveCount(0);
  await expect(page.getByTestId('webhooks').getByTestId('empty-state')).toBeVisible();
});

test('an unverified account is told to verify its address before making a key or a webhook endpoint', async ({ page, baseURL, watcher }) => {
  // the server refuses both for an unverified address; those answers are the point of this test
  watcher.expect({ method: 'POST', path: '/api/keys', status: 403 });
  watcher.expect({ method: 'POST', path: '/api/webhooks/endpoints', status: 403 });
  const email = uniqueEmail('developers-unverified');
  const res = await page.request.post('/api/auth/sign-up/email', {
    data: { email, password: E2E_PASSWORD, name: 'Unverified Dev', region: 'US', ageConfirmed: true, callbackURL: '/account' },
    headers: await botHeaders(page.request, 'signup'),
  });
  expect(res.status(), await res.text()).toBe(200);
  await page.goto('/sign-in?next=%2Fdevelopers%2Fkeys');
  await page.getByLabel(label(en.auth.fields.email)).fill(email);
  await page.getByLabel(label(en.auth.fields.password)).fill(E2E_PASSWORD);
  await page.getByRole('button', { name: en.auth.signIn.submit, exact: true }).click();
  await expect(page).toHaveURL(/\/developers\/keys$/);

  // API keys: the notice is there before anything is tried; a refused attempt turns it into an alert
  const keysNotice = page.getByTestId('api-keys').getByTestId('developer-verify-notice');
  await expect(keysNotice).toContainText(en.developers.verify.title);
  await expect(keysNotice).toContainText(en.developers.verify.keysBody.replace('{{email}}', email));
  await page.getByLabel(label(en.developers.keys.name)).fill('Too early');
  const keyAnswer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/keys' && r.request().method() === 'POST');
  await page.getByTestId('create-key').click();
  expect((await keyAnswer).status()).toBe(403);
  await expect(keysNotice).toHaveAttribute('role', 'alert');
  await expect(page.locator(':focus')).toContainText(en.developers.verify.title);
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.getByTestId('api-keys').getByTestId('empty-state')).toBeVisible();

  // webhooks: the same
  await page.getByTestId('developers-tab-webhooks').click();
  const hooksNotice = page.getByTestId('webhooks').getByTestId('developer-verify-notice');
  await expect(hooksNotice).toContainText(en.developers.verify.webhooksBody.replace('{{email}}', email));
  await page.getByLabel(label(en.developers.webhooks.url)).fill(`${baseURL!}/e2e-webhook-sink`);
  const hookAnswer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/webhooks/endpoints' && r.request().method() === 'POST');
  await page.getByTestId('add-endpoint').click();
  expect((await hookAnswer).status()).toBe(403);
  await expect(hooksNotice).toHaveAttribute('role', 'alert');
  await expect(page.getByTestId('webhooks').getByTestId('empty-state')).toBeVisible();

  // the link can be sent again from here
  await hooksNotice.getByRole('button', { name: en.auth.verify.resend }).click();
  await expect(hooksNotice).toContainText(en.auth.verify.resent);
});

test('the developer pages fit a 375 px screen and need a signed-in user', async ({ page }) => {
  await page.goto('/developers/keys');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fdevelopers%2Fkeys/);

  await page.setViewportSize({ width: 375, height: 740 });
  await signIn(page);
  for (const path of ['/developers', '/developers/keys', '/developers/usage', '/developers/webhooks']) {
    await page.goto(path);
    await expect(page.getByRole('heading', { level: 1, name: en.developers.title })).toBeVisible();
    await expect(page.getByRole('heading', { level: 2 }).first()).toBeVisible();
    // nothing but the code blocks and tables (which scroll inside themselves) is wider than the screen
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, path).toBeLessThanOrEqual(0);
  }
  // the mobile menu links here too
  await page.getByTestId('mobile-menu-button').click();
  await expect(page.getByTestId('mobile-menu').getByRole('link', { name: en.nav.developers })).toBeVisible();
});

test('the API reference at /docs renders every operation under its Content Security Policy, with no console errors', async ({ page }) => {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  const res = await page.goto('/docs');
  expect(res?.status()).toBe(200);
  const csp = res?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('validator.swagger.io');
  await expect(page.locator('.opblock').first()).toBeVisible({ timeout: 30_000 });
  // every operation of the OpenAPI document is drawn (once under each of its tags). Swagger UI 5 keeps
  // only the sections in view in the page, so scroll through it and collect what each screen shows
  const doc = (await (await page.request.get('/docs/json')).json()) as { paths: Record<string, Record<string, { tags?: string[] }>> };
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
  let expected = 0;
  for (const item of Object.values(doc.paths)) {
    for (const [method, op] of Object.entries(item)) if (methods.has(method)) expected += Math.max(1, op.tags?.length ?? 0);
  }
  expect(expected).toBeGreaterThan(100);
  const seen = new Set<string>();
  await expect
    .poll(
      async () => {
        for (const id of await page.locator('.opblock').evaluateAll((els) => els.map((e) => e.id))) seen.add(id);
        const atEnd = await page.evaluate(() => window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2);
        // half a screen at a time, back to the top after the end (a section drawn late is met again)
        await page.evaluate((end) => (end ? window.scrollTo(0, 0) : window.scrollBy(0, window.innerHeight / 2)), atEnd);
        return seen.size;
      },
      { timeout: 30_000, intervals: [100] },
    )
    .toBe(expected);
  expect(problems).toEqual([]);
});
