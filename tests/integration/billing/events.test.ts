import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/server/adapters/clock';
import type { PaymentEvent } from '../../../src/server/adapters/payments';
import { getOrder } from '../../../src/server/domain/billing/billing.repo';
import { createBillingService } from '../../../src/server/domain/billing/billing.service';
import { credits } from '../../../src/server/domain/credits/credits';
import { billingSendConfirmation } from '../../../src/server/jobs/names';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';
import { jobsDone } from '../../helpers/wait';
import { closeAll } from '../../helpers/close';

/**
 * The books under webhook reality: duplicated, concurrent, replayed and out-of-order provider
 * events, applied through BillingService.applyEvent (what every verified webhook reaches). The
 * HTTP and signature side is tested per provider against the fakes (billing/checkout.test.ts).
 */
let app: TestApp;
let seq = 0;

beforeAll(async () => {
  app = await startTestApp({ env: { SIGNUP_FREE_CREDITS: '0', NOWPAYMENTS_PARTIAL_PAYMENTS: 'pro_rata' } });
});
afterAll(() => closeAll(app));

const billing = () => app.platform.ctx.services.billing;

async function user(credits = 0): Promise<string> {
  const u = await app.platform.ctx.services.users.create({
    email: `billing-${++seq}@example.com`,
    password: 'a fine password 1',
    name: `Buyer ${seq}`,
    credits,
  });
  return u.id;
}

async function balance(userId: string): Promise<number> {
  const [b] = await app.db.sql.query<{ balance: string }>('select balance from credit_balances where user_id = $1', [userId]);
  return Number(b?.balance ?? 0);
}

/** A pending order as checkout leaves it (the provider call itself is tested with the fakes), started now or `at.createdAt`. */
async function pendingOrder(
  userId: string,
  plan: 'starter' | 'creator' | 'pro-monthly' | 'max-monthly',
  provider = 'stripe',
  at: { id?: string; createdAt?: Date } = {},
): Promise<{ id: string; checkoutRef: string; credits: number; amount: number }> {
  const [p] = await app.db.sql.query<{ credits: number; prices: { usd: number }; name: string; kind: string }>('select * from plans where id = $1', [plan]);
  const id = at.id ?? randomUUID();
  const checkoutRef = `cs_${id.slice(0, 8)}`;
  await app.db.sql.query(
    `insert into orders (id, user_id, plan_id, plan_name, kind, credits, amount_minor, currency, provider, checkout_ref, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, 'usd', $8, $9, coalesce($10::timestamptz, now()))`,
    [id, userId, plan, p!.name, p!.kind, p!.credits, p!.prices.usd, provider, checkoutRef, at.createdAt?.toISOString() ?? null],
  );
  return { id, checkoutRef, credits: p!.credits, amount: p!.prices.usd };
}

const paid = (o: { id: string; checkoutRef: string; amount: number }, extra: Partial<Extract<PaymentEvent, { type: 'checkout.paid' }>> = {}): PaymentEvent => ({
  type: 'checkout.paid',
  eventId: `evt_paid_${o.id}`,
  orderId: o.id,
  checkoutRef: o.checkoutRef,
  paymentRef: `pi_${o.id.slice(0, 8)}`,
  amountMinor: o.amount,
  currency: 'usd',
  customerEmail: 'paid-with-this@example.net',
  ...extra,
});

describe('exactly once', () => {
  it('the same checkout.session.completed delivered 10 times concurrently grants the credits once', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'starter');
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => billing().applyEvent('stripe', paid(o))));
    expect(outcomes.filter((x) => x === 'applied')).toHaveLength(1);
    expect(outcomes.filter((x) => x === 'duplicate')).toHaveLength(9);
    expect(await balance(u)).toBe(1000);
    const order = (await getOrder(app.db, o.id))!;
    expect(order).toMatchObject({
      status: 'paid',
      creditsGranted: 1000,
      paidMinor: 1000,
      checkoutEmail: 'paid-with-this@example.net',
      paymentRef: `pi_${o.id.slice(0, 8)}`,
    });
    expect(order.receiptNumber).toMatch(/^SS-\d{4}-\d{6}$/);
    const rows = await app.db.sql.query('select kind, amount::int as amount from credit_ledger where user_id = $1', [u]);
    expect(rows).toEqual([{ kind: 'purchase', amount: 1000 }]);
    // and again later (a provider retry days after): still nothing
    expect(await billing().applyEvent('stripe', paid(o))).toBe('duplicate');
    expect(await balance(u)).toBe(1000);
  });

  it('a failure or expiry reported after the payment never undoes it', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'starter');
    await billing().applyEvent('stripe', paid(o));
    await billing().applyEvent('stripe', { type: 'checkout.expired', eventId: `evt_exp_${o.id}`, orderId: o.id, checkoutRef: o.checkoutRef });
    expect((await getOrder(app.db, o.id))!.status).toBe('paid');
    const other = await pendingOrder(u, 'starter');
    await billing().applyEvent('stripe', { type: 'checkout.failed', eventId: `evt_fail_${other.id}`, orderId: other.id, checkoutRef: other.checkoutRef });
    expect((await getOrder(app.db, other.id))!.status).toBe('failed');
    expect(await balance(u)).toBe(1000);
  });

  it('mails an order confirmation with the receipt link, once', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'creator');
    await billing().applyEvent('stripe', paid(o));
    await billing().applyEvent('stripe', paid(o, { eventId: `evt_again_${o.id}` }));
    const outbox = path.join(app.config.dataDir, 'outbox');
    const email = `billing-${seq}@example.com`;
    // the confirmation is a job: once none is waiting or running, every mail it could send is out
    await jobsDone(app, [billingSendConfirmation.name]);
    const mails = fs
      .readdirSync(outbox)
      .filter((f) => f.endsWith('.eml'))
      .map((f) => fs.readFileSync(path.join(outbox, f), 'utf8'))
      .filter((m) => m.includes(email) && m.includes('order is confirmed'));
    expect(mails).toHaveLength(1);
    expect(fs.readdirSync(outbox).filter((f) => f.endsWith('.eml') && fs.readFileSync(path.join(outbox, f), 'utf8').includes(email))).toHaveLength(1);
    expect(mails[0]!.replace(/=\r?\n/g, '')).toContain(`/api/billing/orders/${o.id}/receipt`);
  });
});

describe('subscriptions', () => {
  it('invoice.paid for three periods grants three times; a repeated period grants nothing; unused credits expire without rollover', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'pro-monthly');
    const day = 24 * 3600_000;
    // the first period started 15 days ago: what is spent now is spent in it
    const t0 = Date.now() - 15 * day;
    await billing().applyEvent('stripe', paid(o, { subscriptionRef: 'sub_A1', periodStart: new Date(t0), periodEnd: new Date(t0 + 30 * day) }));
    expect(await balance(u)).toBe(3000);
    // spend 1000 of the first period
    await app.db.transaction((tx) =>
      credits.apply(tx, { userId: u, kind: 'hold', amount: -1000, heldDelta: 1000, reason: 'spend', idempotencyKey: `test-hold-${u}` }),
    );
    await app.db.transaction((tx) =>
      credits.apply(tx, { userId: u, kind: 'capture', amount: 0, heldDelta: -1000, reason: 'spend', idempotencyKey: `test-capture-${u}` }),
    );
    const renew = (n: number): Extract<PaymentEvent, { type: 'subscription.renewed' }> => ({
      type: 'subscription.renewed',
      eventId: `evt_inv_${u}_${n}`,
      subscriptionRef: 'sub_A1',
      invoiceRef: `in_${u}_${n}`,
      paymentRef: `pi_inv_${u}_${n}`,
      amountMinor: 2500,
      currency: 'usd',
      periodStart: new Date(t0 + n * 30 * day),
      periodEnd: new Date(t0 + (n + 1) * 30 * day),
    });
    expect(await billing().applyEvent('stripe', renew(1))).toBe('applied');
    // the 2000 unused credits of period 1 expired, 3000 new ones came
    expect(await balance(u)).toBe(3000);
    expect(await billing().applyEvent('stripe', renew(2))).toBe('applied');
    // nothing was spent in period 2: its 3000 expired, 3000 new ones came
    expect(await balance(u)).toBe(3000);
    // the same period again under another event id (a provider announcing it twice) grants nothing
    expect(await billing().applyEvent('stripe', { ...renew(2), eventId: 'evt_other_id', invoiceRef: 'in_other' })).toBe('ignored');
    expect(await billing().applyEvent('stripe', renew(2))).toBe('duplicate');
    const orders = await app.db.sql.query<{ kind: string; status: string }>('select kind, status from orders where user_id = $1 order by created_at', [u]);
    expect(orders).toEqual([
      { kind: 'subscription', status: 'paid' },
      { kind: 'renewal', status: 'paid' },
      { kind: 'renewal', status: 'paid' },
    ]);
    const purchases = await app.db.sql.query<{ amount: string }>(`select amount from credit_ledger where user_id = $1 and kind = 'purchase'`, [u]);
    expect(purchases.map((p) => Number(p.amount))).toEqual([3000, 3000, 3000]);
    expect(await balance(u)).toBe(3000);

    // cancel at period end, then the end: the unused credits of the last period expire
    await billing().applyEvent('stripe', { type: 'subscription.canceled', eventId: `evt_cancel_${u}`, subscriptionRef: 'sub_A1', atPeriodEnd: true });
    expect((await billing().overview(u, { limit: 10 })).subscription).toMatchObject({ cancelAtPeriodEnd: true, status: 'active' });
    await billing().applyEvent('stripe', { type: 'subscription.ended', eventId: `evt_end_${u}`, subscriptionRef: 'sub_A1', endedAt: new Date() });
    expect((await billing().overview(u, { limit: 10 })).subscription).toBeNull();
    expect(await balance(u)).toBe(0);

    // the buyer's credit history shows the expiries
    const c = new TestClient(app.url);
    expect((await c.post('/api/auth/sign-in/email', { email: `billing-${seq}@example.com`, password: 'a fine password 1' })).status).toBe(200);
    const history = await c.get('/api/credits?limit=100');
    expect(history.status, history.body).toBe(200);
    expect(
      history
        .json<{ history: { items: { kind: string; amount: number }[] } }>()
        .history.items.filter((i) => i.kind === 'expire')
        .map((i) => i.amount),
    ).toEqual([-3000, -3000, -2000]);
  });

  it('a plan with rollover keeps unused credits; a renewal before its subscription is known waits for it', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'max-monthly');
    const day = 24 * 3600_000;
    const t0 = Date.now() - 40 * day;
    const renewal: PaymentEvent = {
      type: 'subscription.renewed',
      eventId: `evt_early_${u}`,
      subscriptionRef: 'sub_B1',
      invoiceRef: `in_early_${u}`,
      paymentRef: `pi_early_${u}`,
      amountMinor: 7500,
      currency: 'usd',
      periodStart: new Date(t0 + 30 * day),
      periodEnd: new Date(t0 + 60 * day),
    };
    expect(await billing().applyEvent('stripe', renewal)).toBe('deferred');
    expect(await balance(u)).toBe(0);
    await billing().applyEvent('stripe', paid(o, { subscriptionRef: 'sub_B1', periodStart: new Date(t0), periodEnd: new Date(t0 + 30 * day) }));
    // the first period, then the renewal that waited: both granted, nothing expired (rollover)
    expect(await balance(u)).toBe(20_000);
    const [event] = await app.db.sql.query<{ state: string }>('select state from payment_events where event_id = $1', [renewal.eventId]);
    expect(event!.state).toBe('applied');
  });
});

describe('refunds and disputes', () => {
  it('a refund event before the order is paid ends with the right final state', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'starter');
    const refund: PaymentEvent = {
      type: 'payment.refunded',
      eventId: `evt_ref_${o.id}`,
      paymentRef: `pi_${o.id.slice(0, 8)}`,
      refundedMinor: 1000,
      currency: 'usd',
    };
    expect(await billing().applyEvent('stripe', refund)).toBe('deferred');
    expect(await billing().applyEvent('stripe', paid(o))).toBe('applied');
    const order = (await getOrder(app.db, o.id))!;
    expect(order).toMatchObject({ status: 'refunded', refundedMinor: 1000, creditsGranted: 1000, creditsClawedBack: 1000, clawbackShortfall: 0 });
    expect(await balance(u)).toBe(0);
    // the deferred retry job finds nothing left to do
    expect(await billing().retryDeferred()).toBe(0);
  });

  it('partial then full refunds take back the credits in proportion; replays and reordering change nothing', async () => {
    const u = await user(50);
    const o = await pendingOrder(u, 'creator'); // 5000 credits for 4500
    await billing().applyEvent('stripe', paid(o));
    const refunded = (amount: number, id: string): PaymentEvent => ({
      type: 'payment.refunded',
      eventId: id,
      paymentRef: `pi_${o.id.slice(0, 8)}`,
      refundedMinor: amount,
      currency: 'usd',
    });
    await billing().applyEvent('stripe', refunded(1500, `evt_r1_${o.id}`));
    expect((await getOrder(app.db, o.id))!).toMatchObject({ status: 'partially_refunded', refundedMinor: 1500, creditsClawedBack: 1666 });
    expect(await balance(u)).toBe(5050 - 1666);
    // the full refund, then the first one again late (cumulative amounts: no effect)
    await billing().applyEvent('stripe', refunded(4500, `evt_r2_${o.id}`));
    await billing().applyEvent('stripe', refunded(1500, `evt_r1b_${o.id}`));
    expect((await getOrder(app.db, o.id))!).toMatchObject({ status: 'refunded', refundedMinor: 4500, creditsClawedBack: 5000, clawbackShortfall: 0 });
    expect(await balance(u)).toBe(50);
  });

  it('a refund after the credits were spent leaves balance 0, records the shortfall and flags the account', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'starter');
    await billing().applyEvent('stripe', paid(o));
    await app.db.transaction((tx) => credits.apply(tx, { userId: u, kind: 'adjustment', amount: -700, reason: 'spent on videos' }));
    await billing().applyEvent('stripe', {
      type: 'payment.refunded',
      eventId: `evt_spent_${o.id}`,
      paymentRef: `pi_${o.id.slice(0, 8)}`,
      refundedMinor: 1000,
      currency: 'usd',
    });
    expect(await balance(u)).toBe(0);
    expect((await getOrder(app.db, o.id))!).toMatchObject({ status: 'refunded', creditsClawedBack: 300, clawbackShortfall: 700 });
    const [flag] = await app.db.sql.query<{ billing_flag: string }>('select billing_flag from users where id = $1', [u]);
    expect(flag!.billing_flag).toBe('refund_shortfall');
  });

  it('a dispute takes the credits back and marks the order disputed', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'starter');
    await billing().applyEvent('stripe', paid(o));
    await billing().applyEvent('stripe', {
      type: 'payment.disputed',
      eventId: `evt_dp_${o.id}`,
      paymentRef: `pi_${o.id.slice(0, 8)}`,
      amountMinor: 1000,
      currency: 'usd',
    });
    expect((await getOrder(app.db, o.id))!).toMatchObject({ status: 'disputed', creditsClawedBack: 1000 });
    expect(await balance(u)).toBe(0);
  });

  it('a terminated account is not refunded (privacy policy 9)', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'starter');
    await billing().applyEvent('stripe', paid(o));
    await app.db.sql.query(`update users set status = 'terminated' where id = $1`, [u]);
    await expect(billing().refund(o.id)).rejects.toMatchObject({ code: 'account_terminated', status: 409 });
    expect((await getOrder(app.db, o.id))!.status).toBe('paid');
  });
});

describe('crypto (NOWPayments) states', () => {
  const np = (o: { id: string; checkoutRef: string }, status: string, extra: object = {}): PaymentEvent =>
    status === 'finished'
      ? {
          type: 'checkout.paid',
          eventId: `np_${o.id}:${status}`,
          orderId: o.id,
          checkoutRef: o.checkoutRef,
          paymentRef: `np-pay-${o.id.slice(0, 6)}`,
          amountMinor: 1000,
          currency: 'usd',
          ...extra,
        }
      : status === 'partially_paid'
        ? {
            type: 'checkout.partially_paid',
            eventId: `np_${o.id}:${status}`,
            orderId: o.id,
            checkoutRef: o.checkoutRef,
            paymentRef: `np-pay-${o.id.slice(0, 6)}`,
            paidMinor: 400,
            amountMinor: 1000,
            currency: 'usd',
          }
        : { type: 'ignored', eventId: `np_${o.id}:${status}`, providerType: status };

  it('confirming then finished grants once, at finished', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'starter', 'nowpayments');
    expect(await billing().applyEvent('nowpayments', np(o, 'confirming'))).toBe('ignored');
    expect(await balance(u)).toBe(0);
    expect((await getOrder(app.db, o.id))!.status).toBe('pending');
    expect(await billing().applyEvent('nowpayments', np(o, 'finished'))).toBe('applied');
    expect(await billing().applyEvent('nowpayments', np(o, 'finished'))).toBe('duplicate');
    expect(await balance(u)).toBe(1000);
  });

  it('partially_paid grants the paid share when the setting is pro_rata, and the rest when it finishes', async () => {
    const u = await user();
    const o = await pendingOrder(u, 'starter', 'nowpayments');
    await billing().applyEvent('nowpayments', np(o, 'partially_paid'));
    expect(await balance(u)).toBe(400);
    expect((await getOrder(app.db, o.id))!).toMatchObject({ status: 'paid', paidMinor: 400, creditsGranted: 400 });
    await billing().applyEvent('nowpayments', np(o, 'finished'));
    expect(await balance(u)).toBe(1000);
    expect((await getOrder(app.db, o.id))!).toMatchObject({ status: 'paid', paidMinor: 1000, creditsGranted: 1000 });
  });
});

/**
 * What waits for time: a deferred event is retried 30 seconds after it arrived, a checkout left
 * pending expires 48 hours after it started. A billing service on the app's database, timed by a
 * clock the test moves. The clock starts an hour ahead of the real time, so the app's own jobs
 * (on the real clock) leave these events and orders alone.
 */
describe('on the clock', () => {
  const clock = new FakeClock(Date.now() + 3600_000);
  const books = () => {
    const ctx = app.platform.ctx;
    return createBillingService({
      database: ctx.database,
      queue: ctx.queue,
      payments: ctx.payments,
      catalog: ctx.services.catalog,
      config: ctx.config,
      logger: ctx.logger,
      clock,
    });
  };

  it('an event for a checkout not recorded yet is retried by the job once it has waited 30 seconds', async () => {
    const u = await user();
    const id = randomUUID();
    const service = books();
    // the webhook came before our checkout recorded its order (and the checkout's own look for waiting events missed it)
    const event = paid({ id, checkoutRef: `cs_${id.slice(0, 8)}`, amount: 1000 });
    expect(await service.applyEvent('stripe', event)).toBe('deferred');
    const receivedAt = clock.now();
    await pendingOrder(u, 'starter', 'stripe', { id, createdAt: receivedAt });
    expect(await service.retryDeferred()).toBe(0);
    await clock.advance(30_000);
    expect(await service.retryDeferred()).toBe(0);
    await clock.advance(1);
    expect(await service.retryDeferred()).toBe(1);
    expect(await balance(u)).toBe(1000);
    const order = (await getOrder(app.db, id))!;
    expect(order).toMatchObject({ status: 'paid', creditsGranted: 1000, paidAt: clock.now(), updatedAt: clock.now() });
    expect(order.receiptNumber).toMatch(new RegExp(`^SS-${String(clock.now().getUTCFullYear())}-\\d{6}$`));
    const [row] = await app.db.sql.query<{ state: string; attempts: number; received_at: Date; applied_at: Date }>(
      'select state, attempts, received_at, applied_at from payment_events where event_id = $1',
      [event.eventId],
    );
    expect(row).toMatchObject({ state: 'applied', attempts: 2 });
    expect([new Date(row!.received_at).getTime(), new Date(row!.applied_at).getTime()]).toEqual([receivedAt.getTime(), clock.nowMs()]);
    expect(await service.retryDeferred()).toBe(0);
  });

  it('a checkout left pending expires 48 hours after it started, and not before', async () => {
    const u = await user();
    const service = books();
    const first = await pendingOrder(u, 'starter', 'stripe', { createdAt: clock.now() });
    await clock.advance(24 * 3600_000);
    const second = await pendingOrder(u, 'starter', 'stripe', { createdAt: clock.now() });
    await clock.advance(24 * 3600_000);
    // exactly 48 hours: not yet
    await service.expireAbandoned(48);
    expect(await getOrder(app.db, first.id)).toMatchObject({ status: 'pending' });
    await clock.advance(1);
    expect(await service.expireAbandoned(48)).toBeGreaterThanOrEqual(1);
    expect(await getOrder(app.db, first.id)).toMatchObject({ status: 'expired', updatedAt: clock.now() });
    expect(await getOrder(app.db, second.id)).toMatchObject({ status: 'pending' });
    await clock.advance(24 * 3600_000);
    expect(await service.expireAbandoned(48)).toBeGreaterThanOrEqual(1);
    expect(await getOrder(app.db, second.id)).toMatchObject({ status: 'expired' });
  });
});
