import { expect } from 'vitest';
import type { CheckoutResponse, OrderView } from '../../../src/shared/api';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';
import { until } from '../../helpers/wait';
import { startFakeCreem, type FakeCreem } from '../../fakes/creem';
import { startFakeNowPayments, type FakeNowPayments } from '../../fakes/nowpayments';
import { startFakeStripe, type FakeStripe } from '../../fakes/stripe';

/** The platform with fake Stripe, Creem and NOWPayments servers configured, and a buyer's moves. */
export interface BillingApp {
  app: TestApp;
  stripe: FakeStripe;
  creem: FakeCreem;
  np: FakeNowPayments;
  /** a new signed-in (verified) user with no credits */
  buyer(): Promise<TestClient & { userId: string; email: string }>;
  checkout(c: TestClient, plan: string, provider: string): Promise<CheckoutResponse>;
  /** what a browser does on a fake hosted page: load it, submit its form; answers the redirect */
  payOnPage(url: string, outcome?: 'paid' | 'declined'): Promise<string | null>;
  waitOrder(c: TestClient, id: string, status: OrderView['status'], timeoutMs?: number): Promise<OrderView>;
  balance(c: TestClient): Promise<number>;
  close(): Promise<void>;
}

let n = 0;

/**
 * What a browser does on a fake provider's hosted payment page: load it and submit its form with the
 * outcome. Answers the redirect the page sends back to (null when there is none).
 */
export async function payOnFakePage(url: string, outcome: 'paid' | 'declined' = 'paid'): Promise<string | null> {
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? new URL(url).pathname;
  const res = await fetch(new URL(action.replace(/&amp;/g, '&'), url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ outcome }).toString(),
    redirect: 'manual',
  });
  return res.headers.get('location');
}

export async function startBillingApp(env: Record<string, string> = {}): Promise<BillingApp> {
  const [stripe, creem, np] = await Promise.all([startFakeStripe(), startFakeCreem(), startFakeNowPayments()]);
  const app = await startTestApp({
    env: {
      SIGNUP_FREE_CREDITS: '0',
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
      STRIPE_API_BASE: stripe.url,
      CREEM_API_KEY: creem.apiKey,
      CREEM_WEBHOOK_SECRET: creem.webhookSecret,
      CREEM_API_BASE: creem.url,
      NOWPAYMENTS_API_KEY: np.apiKey,
      NOWPAYMENTS_IPN_SECRET: np.ipnSecret,
      NOWPAYMENTS_API_BASE: np.url,
      ...env,
    },
  });
  stripe.setWebhookUrl(`${app.url}/webhooks/stripe`);
  creem.setWebhookUrl(`${app.url}/webhooks/creem`);
  // Creem sells its own products: the starter pack is one
  creem.createProduct({ id: 'prod_starter', name: 'Starter', price: 1000, currency: 'usd', billingType: 'onetime' });
  await app.db.sql.query(`update plans set provider_refs = '{"creemProductId":"prod_starter"}'::jsonb where id = 'starter'`);

  return {
    app,
    stripe,
    creem,
    np,
    async buyer() {
      const email = `buyer-${++n}-${Date.now()}@example.com`;
      const password = 'a fine password 1';
      const u = await app.platform.ctx.services.users.create({ email, password, name: `Buyer ${n}` });
      const c = new TestClient(app.url, { ip: `198.51.100.${(n % 250) + 1}` });
      expect((await c.post('/api/auth/sign-in/email', { email, password })).status).toBe(200);
      return Object.assign(c, { userId: u.id, email });
    },
    async checkout(c, plan, provider) {
      const res = await c.post('/api/billing/checkout', { plan, provider, currency: 'usd' });
      expect(res.status, res.body).toBe(200);
      return res.json<CheckoutResponse>();
    },
    payOnPage: payOnFakePage,
    async waitOrder(c, id, status, timeoutMs = 10_000) {
      let seen = '';
      return until(
        async () => {
          const o = (await c.get(`/api/billing/orders/${id}`)).json<OrderView>();
          seen = o.status;
          return o.status === status && o;
        },
        { app, timeoutMs, what: () => `order ${id} to be ${status} (it is ${seen})` },
      );
    },
    balance: async (c) => (await c.get('/api/credits')).json<{ balance: number }>().balance,
    async close() {
      // the fakes' last webhooks answered first: a request still open holds the server's close up
      await Promise.allSettled([stripe.settled(), creem.idle(), np.idle()]);
      await app.close();
      await Promise.allSettled([stripe.close(), creem.close(), np.close()]);
    },
  };
}
