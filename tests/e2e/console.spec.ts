import type { Page } from '@playwright/test';
import { cli, E2E_PASSWORD, en, expect, label, signUpAndVerify, test, uniqueEmail } from './support';

/*
 * The operator console, end to end (issue 18): an admin signs in, sees the dashboard drawn from what
 * happened on this server, finds a user by email and grants credits, refunds an order through the
 * fake Stripe, enters a KIE key in the settings and generates with Veo through the fake KIE (started
 * by scripts/e2e-server.ts, not configured in the server's environment) without a restart, and finds
 * each of those actions in the audit log.
 */

const KIE_URL = 'http://127.0.0.1:3109';

/** What a browser does on the fake Stripe's hosted page: submit its form with "paid". */
async function buyStarterWithStripe(page: Page, origin: string): Promise<string> {
  // a script's call, so it says where it comes from as the browser would (the CSRF check)
  const res = await page.request.post('/api/billing/checkout', { data: { plan: 'starter', provider: 'stripe', currency: 'usd' }, headers: { origin } });
  expect(res.status(), await res.text()).toBe(200);
  const { url } = (await res.json()) as { url: string };
  const html = await (await page.request.get(url)).text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? new URL(url).pathname;
  const paid = await page.request.post(new URL(action.replace(/&amp;/g, '&'), url).toString(), { form: { outcome: 'paid' }, maxRedirects: 0 });
  expect(paid.status()).toBeLessThan(400);
  const billing = async () => (await (await page.request.get('/api/billing')).json()) as { orders: Array<{ id: string; status: string }> };
  await expect.poll(async () => (await billing()).orders[0]?.status, { message: 'the webhook marks the order paid', timeout: 20_000 }).toBe('paid');
  return (await billing()).orders[0]!.id;
}

async function signIn(page: Page, email: string) {
  await page.goto('/sign-in');
  await page.getByLabel(label(en.auth.fields.email)).fill(email);
  await page.getByLabel(label(en.auth.fields.password)).fill(E2E_PASSWORD);
  await page.getByRole('button', { name: en.auth.signIn.submit, exact: true }).click();
  await expect(page.getByTestId('account-menu-button')).toBeVisible();
}

test('an admin runs the service from the console: dashboard, a user, credits, a refund, a KIE key, the audit log', async ({ page, baseURL }) => {
  test.setTimeout(180_000);

  // a customer who buys the starter pack with Stripe
  const buyer = await signUpAndVerify(page, 'console-buyer', 'Casey Customer');
  const orderId = await buyStarterWithStripe(page, new URL(baseURL!).origin);
  // signed out, in the same browser: its device cookie stays, so the admin's account will share the
  // device with the customer's (the risk pages below show the link)
  const device = (await page.context().cookies()).filter((c) => c.name === 'savesora_device');
  expect(device).toHaveLength(1);
  await page.context().clearCookies();
  await page.context().addCookies(device);

  // the admin: made with the CLI (credits for the Veo test), signs in through the page
  const admin = uniqueEmail('console-admin');
  await cli(['user:create', '--email', admin, '--password', E2E_PASSWORD, '--name', 'Ada Admin', '--role', 'admin', '--credits', '500']);
  await cli(['stats:rollup']);
  await signIn(page, admin);

  // the dashboard, from the aggregates: a sign-up, the revenue of the order, credits granted
  await page.getByTestId('account-menu-button').click();
  await page.getByTestId('account-menu-console').click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByTestId('dashboard-kpi-signups-value')).not.toHaveText('0');
  for (const chart of ['credits', 'revenue', 'users']) await expect(page.getByTestId(`dashboard-chart-${chart}`).locator('svg').first()).toBeVisible();

  // find the customer by email and grant 50 credits with a reason
  await page.getByTestId('admin-nav-users').click();
  await page.getByTestId('admin-user-search').fill(buyer);
  await page.getByTestId('admin-user-search').press('Enter');
  await expect(page.getByTestId('admin-user-row')).toHaveCount(1);
  await page.getByTestId('admin-user-row').getByTestId('admin-user-link').click();
  const balance = page.getByTestId('admin-user-balance');
  await expect(balance).toBeVisible();
  const before = Number((await balance.getAttribute('data-balance')) ?? NaN);
  await page.getByTestId('admin-user-grant').click();
  await page.getByTestId('admin-user-credits-amount').fill('50');
  await page.getByTestId('admin-user-credits-reason').fill('support: a render that failed');
  await page.getByTestId('admin-user-credits-submit').click();
  await expect(balance).toHaveAttribute('data-balance', String(before + 50));

  // the customer's risk (issue 19): the device and card signals, the free credits granted on
  // verification, and the admin's account linked through the shared device
  await expect(page.getByTestId('admin-risk-signal').and(page.locator('[data-kind="device"]'))).toHaveCount(1);
  await expect(page.getByTestId('admin-risk-signal').and(page.locator('[data-kind="card"]'))).toHaveCount(1);
  await expect(page.getByTestId('admin-risk-free-credits')).toHaveAttribute('data-state', 'granted');
  await expect(page.getByTestId('admin-risk-linked')).toContainText(admin);
  // and the cluster of accounts sharing that device
  await page.getByTestId('admin-nav-risk').click();
  await expect(page).toHaveURL(/\/admin\/risk/);
  const cluster = page.getByTestId('admin-risk-cluster').and(page.locator('[data-kind="device"]'));
  await expect(cluster.first()).toBeVisible();
  let found = false;
  for (const c of await cluster.all()) {
    await c.getByTestId('admin-risk-cluster-toggle').click();
    const members = c.getByTestId('admin-risk-cluster-member');
    await expect(members.first()).toBeVisible();
    const text = (await members.allTextContents()).join(' ');
    if (text.includes(buyer) && text.includes(admin)) found = true;
  }
  expect(found, 'a device cluster holds the customer and the admin').toBe(true);

  // refund the order in full through the fake Stripe
  await page.getByTestId('admin-nav-orders').click();
  await page.getByTestId('admin-order-search').fill(orderId);
  await page.getByTestId('admin-order-search').press('Enter');
  await page.getByTestId('admin-order-row').first().getByRole('link').first().click();
  await expect(page.getByTestId('admin-order-detail')).toBeVisible();
  await page.getByTestId('admin-order-refund').click();
  await page.getByTestId('admin-refund-reason').fill('customer asked within 14 days');
  await page.getByTestId('admin-refund-submit').click();
  await expect(page.getByTestId('admin-order-status')).toHaveAttribute('data-status', 'refunded', { timeout: 20_000 });

  // Veo needs a provider key: none in the environment, so the model is unavailable until one is entered here
  const veo = async () =>
    ((await (await page.request.get('/api/models')).json()) as { models: Array<{ id: string; available: boolean }> }).models.find(
      (m) => m.id === 'veo-3.1-fast',
    );
  expect((await veo())?.available).toBe(false);
  await page.getByTestId('admin-nav-settings').click();
  await page.getByTestId('admin-settings-KIE_API_KEY').fill('kie-test-key');
  await page.getByTestId('admin-settings-KIE_BASE_URL').fill(KIE_URL);
  await page.getByTestId('admin-settings-KIE_UPLOAD_URL').fill(KIE_URL);
  await page.getByTestId('admin-settings-test-kie').click();
  await expect(page.getByTestId('admin-settings-test-result-kie')).toHaveAttribute('data-ok', 'true');
  await page.getByTestId('admin-settings-save-kie').click();
  await expect(page.getByTestId('admin-settings-outcome-kie')).toHaveAttribute('data-tone', 'success');
  await expect.poll(async () => (await veo())?.available, { message: 'Veo is available without a restart' }).toBe(true);

  // generate with Veo 3.1 Fast in the Studio: it runs through the fake KIE
  await page.goto('/studio');
  const picker = page.getByRole('group', { name: en.studio.model.legend });
  await picker.getByRole('radio', { name: 'Veo 3.1 Fast', exact: true }).check();
  await page.getByLabel(label(en.studio.fields.prompt)).fill('A lighthouse keeper waves at a passing ship at dawn');
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/generations' && r.request().method() === 'POST');
  await page.getByRole('button', { name: en.studio.submit, exact: true }).click();
  expect((await answer).status()).toBe(202);
  const card = page.getByTestId('generation').first();
  await expect(card.getByTestId('generation-status')).toHaveText(en.generation.status.succeeded, { timeout: 60_000 });

  // every action is in the audit log, with who did it
  await page.goto('/admin/audit');
  const rows = page.getByTestId('audit-row');
  for (const action of ['user.credits.grant', 'order.refund', 'settings.update']) {
    await expect(rows.filter({ hasText: action }).first()).toBeVisible();
  }
  await expect(rows.first()).toContainText(admin);

  // the server is shared with the other specs, which expect no provider key: clear what this test entered
  const cleared = await page.request.put('/api/admin/settings', {
    data: { values: { KIE_API_KEY: null, KIE_BASE_URL: null, KIE_UPLOAD_URL: null } },
    headers: { origin: new URL(baseURL!).origin },
  });
  expect(cleared.status(), await cleared.text()).toBe(200);
  await expect.poll(async () => (await veo())?.available, { message: 'Veo is unavailable again' }).toBe(false);
});

test('a normal user finds no console: the page is not found and every console call answers 404', async ({ page, watcher }) => {
  await signUpAndVerify(page, 'console-normal');
  watcher.expect({ method: 'GET', path: '/api/admin/dashboard', status: 404 });
  await page.goto('/admin');
  await expect(page.getByRole('heading', { name: en.notFound.title })).toBeVisible();
  await page.getByTestId('account-menu-button').click();
  await expect(page.getByTestId('account-menu-console')).toHaveCount(0);
  const res = await page.request.get('/api/admin/dashboard');
  expect(res.status()).toBe(404);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
});
