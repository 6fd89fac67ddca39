import type { Page } from '@playwright/test';
import type { PlansResponse } from '../../src/shared/api/billing';
import { en, expect, signUpAndVerify, test, type watch } from './support';

/*
 * Buying credits, end to end: the pricing page, checkout on the fake Stripe's hosted page (another
 * origin, started by playwright.config.ts), the signed webhook it sends to the app, and the billing
 * page the buyer comes back to. New accounts start with SIGNUP_FREE_CREDITS (20 by default).
 */

const FREE_CREDITS = 20;
const STARTER_CREDITS = 1_000;

/**
 * The fake provider's hosted page is the one place a test leaves the app's origin: its requests
 * (and whatever that page logs) are the fake's business, not the app's. Everything else still fails the test.
 */
function allowProviderPage(watcher: ReturnType<typeof watch>, origin: string) {
  for (let i = watcher.problems.length - 1; i >= 0; i--) if (watcher.problems[i]!.includes(origin)) watcher.problems.splice(i, 1);
}

async function balance(page: Page): Promise<number> {
  const res = await page.request.get('/api/credits?limit=1');
  expect(res.status()).toBe(200);
  return ((await res.json()) as { balance: number }).balance;
}

/** The buy button of a plan with Stripe: its own button when Stripe is the only provider, else Stripe's in the "Pay with" group. */
const buyWithStripe = (page: Page, plan: string) => page.getByTestId(`buy-${plan}-stripe`).or(page.getByTestId(`buy-${plan}`));

/** The origin of the provider's hosted page the current test went to, if any. */
let providerOrigin: string | undefined;

test.beforeEach(() => {
  providerOrigin = undefined;
});

test.afterEach(({ watcher }) => {
  if (providerOrigin) allowProviderPage(watcher, providerOrigin);
});

/** From /pricing to the fake Stripe's page for the starter pack; answers the new order's id. */
async function checkoutStarter(page: Page): Promise<string> {
  const checkout = page.waitForResponse((r) => r.url().endsWith('/api/billing/checkout') && r.request().method() === 'POST');
  await buyWithStripe(page, 'starter').click();
  expect((await checkout).status()).toBe(200);
  await page.waitForURL(/\/pay\//);
  providerOrigin = new URL(page.url()).origin;
  await expect(page.getByTestId('fake-pay')).toBeVisible();
  // the order it made: the newest (and only) one of this new account
  const billing = (await (await page.request.get('/api/billing')).json()) as { orders: Array<{ id: string; status: string; planId: string }> };
  expect(billing.orders).toHaveLength(1);
  expect(billing.orders[0]).toMatchObject({ planId: 'starter', status: 'pending' });
  return billing.orders[0]!.id;
}

test('signed out: the pricing page is public, buying asks to sign in, billing needs an account', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('navigation', { name: en.nav.label }).getByRole('link', { name: en.nav.pricing }).click();
  await expect(page).toHaveURL(/\/pricing$/);
  await expect(page.getByRole('heading', { level: 1, name: en.pricing.title })).toBeVisible();

  const plans = (await (await page.request.get('/api/billing/plans')).json()) as PlansResponse;
  const starter = plans.plans.find((p) => p.id === 'starter')!;
  expect(starter.providers).toContain('stripe');

  // packs and subscriptions in their own groups; the highlighted plan is marked
  const packs = page.getByTestId('plans-packs');
  await expect(packs.getByRole('heading', { level: 2 })).toHaveText(en.pricing.packs.title);
  for (const p of plans.plans.filter((x) => x.kind === 'pack')) await expect(packs.getByTestId(`plan-${p.id}`)).toBeVisible();
  const subs = plans.plans.filter((x) => x.kind === 'subscription');
  if (subs.length) {
    const group = page.getByTestId('plans-subscriptions');
    for (const p of subs) {
      const card = group.getByTestId(`plan-${p.id}`);
      await expect(card).toContainText(p.rollover ? en.pricing.rollover.month : en.pricing.expire.month);
    }
  }
  for (const p of plans.plans) await expect(page.getByTestId(`plan-${p.id}`).getByTestId('plan-highlighted')).toHaveCount(p.highlighted ? 1 : 0);

  // the price in the default currency, the credits and the "about N videos" lines
  const card = page.getByTestId('plan-starter');
  const currency = plans.currencies[0]!;
  const price = new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase(), minimumFractionDigits: 0 }).format(
    starter.prices[currency]! / 100,
  );
  await expect(card.getByTestId('plan-price')).toContainText(price);
  await expect(card).toContainText('1,000 credits');
  for (const e of starter.examples) await expect(card).toContainText(`About ${e.count} × ${e.seconds} s ${e.modelName} video`);
  await expect(page.getByTestId('payment-note')).toHaveText(en.pricing.secureNote);

  // another currency changes the prices
  const other = plans.currencies.find((c) => c !== currency && starter.prices[c] !== undefined);
  if (other) {
    await page.getByTestId('currency-switch').getByText(other, { exact: true }).click();
    const otherPrice = new Intl.NumberFormat('en', { style: 'currency', currency: other.toUpperCase(), minimumFractionDigits: 0 }).format(
      starter.prices[other]! / 100,
    );
    await expect(card.getByTestId('plan-price')).toContainText(otherPrice);
  }

  // buying needs an account: sign in, then back to the pricing page
  await buyWithStripe(page, 'starter').click();
  await expect(page).toHaveURL(/\/sign-in\?next=(%2F|\/)pricing$/);

  await page.goto('/billing');
  await expect(page).toHaveURL(/\/sign-in\?next=(%2F|\/)billing$/);
});

test('buy the starter pack with Stripe: pay, come back, see the credits, the order and its receipt', async ({ page }) => {
  test.setTimeout(90_000);
  await signUpAndVerify(page, 'billing-paid');
  expect(await balance(page)).toBe(FREE_CREDITS);

  // the account menu leads to billing: nothing bought yet
  await page.getByTestId('account-menu-button').click();
  await page.getByTestId('account-menu').getByRole('link', { name: en.nav.billing }).click();
  await expect(page).toHaveURL(/\/billing$/);
  await expect(page.getByTestId('billing-balance')).toHaveAttribute('data-balance', String(FREE_CREDITS));
  await expect(page.getByTestId('subscription')).toHaveAttribute('data-status', 'none');
  await expect(page.getByRole('heading', { name: en.billing.orders.emptyTitle })).toBeVisible();
  await page.getByTestId('empty-pricing-link').click();
  await expect(page).toHaveURL(/\/pricing$/);

  const orderId = await checkoutStarter(page);
  await page.getByTestId('fake-pay').click();

  // back on /billing?order=…: the banner follows the order until the webhook has marked it paid
  await page.waitForURL((u) => u.pathname === '/billing' && u.searchParams.get('order') === orderId);
  await expect(page.getByTestId('order-paid')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('order-paid')).toContainText('Payment received: 1,000 credits added');
  await expect(page.getByTestId('billing-balance')).toHaveAttribute('data-balance', String(FREE_CREDITS + STARTER_CREDITS));
  expect(await balance(page)).toBe(FREE_CREDITS + STARTER_CREDITS);

  // the order in the history, paid, with its receipt
  const row = page.getByTestId(`order-${orderId}`);
  await expect(row).toHaveAttribute('data-status', 'paid');
  await expect(row.getByTestId('order-status')).toHaveText(en.billing.status.paid);
  await expect(row).toContainText(en.pricing.providers.stripe);
  const receipt = row.getByTestId(`receipt-${orderId}`);
  await expect(receipt).toBeVisible();

  const downloading = page.waitForEvent('download');
  await receipt.click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/\.pdf$/);
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks).subarray(0, 5).toString('latin1')).toBe('%PDF-');

  // the same file over HTTP, and only for its owner's session
  const pdf = await page.request.get((await receipt.getAttribute('href'))!);
  expect(pdf.status()).toBe(200);
  expect(pdf.headers()['content-type']).toContain('application/pdf');
  expect((await pdf.body()).subarray(0, 5).toString('latin1')).toBe('%PDF-');
});

test('declining on the provider page adds no credits and says nothing was charged', async ({ page }) => {
  test.setTimeout(90_000);
  await signUpAndVerify(page, 'billing-declined');
  await page.goto('/pricing');
  const orderId = await checkoutStarter(page);
  await page.getByTestId('fake-decline').click();

  await page.waitForURL((u) => u.pathname === '/billing');
  const url = new URL(page.url());
  if (url.searchParams.get('canceled')) {
    await expect(page.getByTestId('checkout-canceled')).toContainText(en.billing.canceled.title);
  } else {
    await expect(page.getByTestId('order-failed')).toContainText(en.billing.order.failed);
  }

  // the webhook of the failed payment settles the order; no credits either way
  await expect
    .poll(async () => ((await (await page.request.get(`/api/billing/orders/${orderId}`)).json()) as { status: string }).status, { timeout: 15_000 })
    .not.toBe('pending');
  const order = (await (await page.request.get(`/api/billing/orders/${orderId}`)).json()) as { status: string; receiptUrl: string | null };
  expect(['failed', 'expired']).toContain(order.status);
  expect(order.receiptUrl).toBeNull();
  expect(await balance(page)).toBe(FREE_CREDITS);

  await page.reload();
  await expect(page.getByTestId('billing-balance')).toHaveAttribute('data-balance', String(FREE_CREDITS));
  const row = page.getByTestId(`order-${orderId}`);
  await expect(row).toHaveAttribute('data-status', order.status);
  await expect(row.getByTestId(`receipt-${orderId}`)).toHaveCount(0);
});
