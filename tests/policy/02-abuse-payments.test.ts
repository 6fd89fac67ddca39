import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client';
import { closeAll } from '../helpers/close';
import { startBillingApp, type BillingApp } from '../integration/billing/setup';

// Privacy policy section 2: "we detect and block … payment fraud" (issue 19). The payments half.
let b: BillingApp;
beforeAll(async () => {
  b = await startBillingApp({ TRUST_PROXY: 'true', PAYMENT_FAILURES_PER_HOUR: '3' });
});
afterAll(() => closeAll(b));

async function person(email: string, ip: string) {
  const u = await b.app.platform.ctx.services.users.create({ email, password: 'a fine password 1', name: 'Policy buyer' });
  const c = new TestClient(b.app.url, { ip });
  expect((await c.post('/api/auth/sign-in/email', { email, password: 'a fine password 1' })).status).toBe(200);
  return Object.assign(c, { userId: u.id });
}

const checkout = (c: TestClient) => c.post('/api/billing/checkout', { plan: 'starter', provider: 'stripe', currency: 'usd' });
const sessionOf = (res: Awaited<ReturnType<typeof checkout>>) => res.json<{ url: string }>().url.split('/pay/')[1]!;

describe('2 How we use your information', () => {
  it('2 detects and blocks payment fraud', async () => {
    // card testing: one account trying card after card is refused further checkouts after three failures
    const tester = await person('policy-2-card-tester@example.com', '198.51.100.201');
    const first = await checkout(tester);
    expect(first.status).toBe(200);
    for (const fp of ['fp_a', 'fp_b', 'fp_c']) b.stripe.declineCard(sessionOf(first), { card: { fingerprint: fp } });
    await b.stripe.settled();
    const refused = await checkout(tester);
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ error: { code: 'payment_velocity' } });

    // a chargeback: the account's generation stops until an operator reviews it, and the review has a case
    const buyer = await person('policy-2-chargeback@example.com', '198.51.100.202');
    const res = await checkout(buyer);
    const session = sessionOf(res);
    b.stripe.completeCheckout(session, 'paid', { risk: { level: 'normal' } });
    await b.stripe.settled();
    const { orderId } = res.json<{ orderId: string }>();
    await b.waitOrder(buyer, orderId, 'paid');
    const [order] = await b.app.db.sql.query<{ risk_level: string }>('select risk_level from orders where id = $1', [orderId]);
    expect(order!.risk_level).toBe('normal');
    b.stripe.dispute(String(b.stripe.sessions.get(session)!.payment_intent));
    await b.stripe.settled();
    const gen = await buyer.post('/api/generations', { model: 'local-preview', prompt: 'a quiet lake', duration: 2, resolution: '480p' });
    expect(gen.status).toBe(403);
    expect(gen.json()).toMatchObject({ error: { code: 'generation_on_hold' } });
    const cases = await b.app.db.sql.query<{ subject: string; status: string }>('select subject, status from moderation_cases where user_id = $1', [
      buyer.userId,
    ]);
    expect(cases).toEqual([{ subject: 'account', status: 'open' }]);
  });
});
