import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { beforeEach, describe, expect, it, vi, type Mock } from 'vitest';
import { registryOfPayments, type PaymentEvent, type PaymentProvider } from '../../adapters/payments';
import type { DbHandle } from '../../db/client';
import type { JobQueue } from '../../jobs/queue';
import { createCredits, type Credits } from '../credits/credits';
import { createInMemoryCreditsRepo, type InMemoryCreditsRepo } from '../credits/in-memory-credits-repo';
import { createInMemoryBillingRepo, type InMemoryBillingRepo } from './in-memory-billing-repo';
import { createPaymentEvents, type PaymentEvents, type PaymentEventsDeps } from './payment-events';

/**
 * Payment-event application on in-memory repositories: exactly-once grants, refunds and disputes,
 * deferred (out-of-order) events, subscription periods. The same rules run against the database in
 * tests/integration/billing/events.test.ts.
 */

const DAY = 24 * 3600_000;
const tx = {} as DbHandle;
let clock: Date;
let repo: InMemoryBillingRepo;
let creditsRepo: InMemoryCreditsRepo;
let credits: Credits;
let queue: { enqueue: Mock<JobQueue['enqueue']> };
let events: PaymentEvents;

/** what the fake provider's webhook verification answers next */
let verdict: ReturnType<PaymentProvider['verifyWebhook']>;
const stripe = {
  id: 'stripe',
  supportsSubscriptions: true,
  verifyWebhook: () => verdict,
  enrich: async (e: PaymentEvent) => e,
} as unknown as PaymentProvider;

function build(partialPayments: 'none' | 'pro_rata' = 'none') {
  const database: PaymentEventsDeps['database'] = { ...tx, transaction: (fn) => fn(tx) };
  events = createPaymentEvents({
    database,
    repo,
    credits,
    queue,
    payments: registryOfPayments([stripe]),
    config: { NOWPAYMENTS_PARTIAL_PAYMENTS: partialPayments },
    logger: pino({ level: 'silent' }),
    clock: { now: () => new Date(clock) },
  });
}

beforeEach(() => {
  clock = new Date('2026-06-01T00:00:00.000Z');
  const now = () => new Date(clock);
  repo = createInMemoryBillingRepo({ now });
  creditsRepo = createInMemoryCreditsRepo();
  credits = createCredits(creditsRepo, { now });
  queue = { enqueue: vi.fn<JobQueue['enqueue']>(async () => 'job-id') };
  build();
});

const balance = (userId: string) => creditsRepo.balances.get(userId)?.balance ?? 0;
const order = (id: string) => repo.orders.get(id)!;
const ledger = (userId: string) => creditsRepo.ledger.filter((r) => r.userId === userId).map((r) => [r.kind, r.amount]);

function pending(plan: 'starter' | 'creator' | 'pro-monthly' | 'max-monthly', provider = 'stripe') {
  const id = randomUUID();
  const userId = `user-${id.slice(0, 6)}`;
  const o = repo.addPendingOrder({ id, userId, planId: plan, provider, checkoutRef: `cs_${id.slice(0, 8)}` });
  return { ...o, userId, checkoutRef: o.checkoutRef! };
}

const paid = (
  o: { id: string; checkoutRef: string; amountMinor: number },
  extra: Partial<Extract<PaymentEvent, { type: 'checkout.paid' }>> = {},
): PaymentEvent => ({
  type: 'checkout.paid',
  eventId: `evt_paid_${o.id}`,
  orderId: o.id,
  checkoutRef: o.checkoutRef,
  paymentRef: `pi_${o.id.slice(0, 8)}`,
  amountMinor: o.amountMinor,
  currency: 'usd',
  customerEmail: 'paid-with-this@example.net',
  ...extra,
});

const refunded = (o: { id: string }, refundedMinor: number, eventId = `evt_ref_${o.id}_${refundedMinor}`): PaymentEvent => ({
  type: 'payment.refunded',
  eventId,
  paymentRef: `pi_${o.id.slice(0, 8)}`,
  refundedMinor,
  currency: 'usd',
});

describe('a purchase', () => {
  it('grants the credits once, marks the order paid with a receipt number and queues one confirmation', async () => {
    const o = pending('starter');
    expect(await events.applyEvent('stripe', paid(o))).toBe('applied');
    expect(balance(o.userId)).toBe(1000);
    expect(order(o.id)).toMatchObject({
      status: 'paid',
      creditsGranted: 1000,
      paidMinor: 1000,
      checkoutEmail: 'paid-with-this@example.net',
      paymentRef: `pi_${o.id.slice(0, 8)}`,
    });
    expect(order(o.id).receiptNumber).toMatch(/^SS-2026-\d{6}$/);
    expect(creditsRepo.ledger).toMatchObject([{ kind: 'purchase', amount: 1000, reference: `order:${o.id}`, idempotencyKey: `order:${o.id}:grant:1000` }]);
    expect(queue.enqueue).toHaveBeenCalledTimes(1);
    expect(queue.enqueue.mock.calls[0]!.slice(1)).toEqual([{ orderId: o.id }, { tx, singletonKey: `confirmation:${o.id}` }]);
    expect(repo.events[0]).toMatchObject({ state: 'applied', orderId: o.id, attempts: 1 });
  });

  it('a duplicate delivery is a no-op, whenever it comes; the same payment under a new event id grants nothing', async () => {
    const o = pending('starter');
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => events.applyEvent('stripe', paid(o))));
    expect(outcomes.filter((x) => x === 'applied')).toHaveLength(1);
    expect(outcomes.filter((x) => x === 'duplicate')).toHaveLength(9);
    clock = new Date(clock.getTime() + 3 * DAY);
    expect(await events.applyEvent('stripe', paid(o))).toBe('duplicate');
    await events.applyEvent('stripe', paid(o, { eventId: 'evt_resent_with_new_id' }));
    expect(balance(o.userId)).toBe(1000);
    expect(ledger(o.userId)).toEqual([['purchase', 1000]]);
    expect(queue.enqueue).toHaveBeenCalledTimes(1);
  });

  it('a failure or expiry reported after the payment never undoes it', async () => {
    const o = pending('starter');
    await events.applyEvent('stripe', paid(o));
    expect(await events.applyEvent('stripe', { type: 'checkout.expired', eventId: 'evt_exp', orderId: o.id, checkoutRef: o.checkoutRef })).toBe('ignored');
    expect(order(o.id).status).toBe('paid');
    const other = pending('starter');
    expect(await events.applyEvent('stripe', { type: 'checkout.failed', eventId: 'evt_fail', orderId: other.id, checkoutRef: other.checkoutRef })).toBe(
      'applied',
    );
    expect(order(other.id).status).toBe('failed');
  });

  it('a partial crypto payment grants nothing by default, and its share with pro_rata; the rest when it finishes', async () => {
    const partial = (o: { id: string; checkoutRef: string }): PaymentEvent => ({
      type: 'checkout.partially_paid',
      eventId: `np_${o.id}:partially_paid`,
      orderId: o.id,
      checkoutRef: o.checkoutRef,
      paymentRef: `pi_${o.id.slice(0, 8)}`,
      paidMinor: 400,
      amountMinor: 1000,
      currency: 'usd',
    });
    const none = pending('starter');
    await events.applyEvent('stripe', partial(none));
    expect(order(none.id)).toMatchObject({ status: 'pending', paidMinor: 400, creditsGranted: 0 });
    expect(balance(none.userId)).toBe(0);

    build('pro_rata');
    const share = pending('starter');
    await events.applyEvent('stripe', partial(share));
    expect(order(share.id)).toMatchObject({ status: 'paid', paidMinor: 400, creditsGranted: 400 });
    await events.applyEvent('stripe', paid(share, { eventId: 'evt_finished' }));
    expect(order(share.id)).toMatchObject({ status: 'paid', paidMinor: 1000, creditsGranted: 1000 });
    expect(creditsRepo.ledger.filter((r) => r.userId === share.userId).map((r) => r.idempotencyKey)).toEqual([
      `order:${share.id}:grant:400`,
      `order:${share.id}:grant:1000`,
    ]);
    expect(balance(share.userId)).toBe(1000);
  });
});

describe('refunds and disputes', () => {
  it('take the credits back in proportion to the cumulative refund; replays and reordering change nothing', async () => {
    const o = pending('creator'); // 5000 credits for 4500
    await credits.grant(tx, { userId: o.userId, credits: 50, reason: 'other credits', source: 'operator' });
    await events.applyEvent('stripe', paid(o));
    await events.applyEvent('stripe', refunded(o, 1500));
    expect(order(o.id)).toMatchObject({ status: 'partially_refunded', refundedMinor: 1500, creditsClawedBack: 1666 });
    expect(balance(o.userId)).toBe(5050 - 1666);
    await events.applyEvent('stripe', refunded(o, 4500));
    await events.applyEvent('stripe', refunded(o, 1500, 'evt_late_copy_of_the_first'));
    expect(order(o.id)).toMatchObject({ status: 'refunded', refundedMinor: 4500, creditsClawedBack: 5000, clawbackShortfall: 0 });
    expect(balance(o.userId)).toBe(50);
    expect(creditsRepo.ledger.filter((r) => r.kind === 'clawback').map((r) => [r.amount, r.idempotencyKey])).toEqual([
      [-1666, `order:${o.id}:clawback:1666`],
      [-3334, `order:${o.id}:clawback:5000`],
    ]);
  });

  it('credits already spent: the balance ends at 0, the shortfall is recorded and the account flagged', async () => {
    const o = pending('starter');
    await events.applyEvent('stripe', paid(o));
    await credits.adjust(tx, { userId: o.userId, amount: -700, reason: 'spent on videos' });
    await events.applyEvent('stripe', refunded(o, 1000));
    expect(balance(o.userId)).toBe(0);
    expect(order(o.id)).toMatchObject({ status: 'refunded', creditsClawedBack: 300, clawbackShortfall: 700 });
    expect(repo.billingFlags.get(o.userId)).toBe('refund_shortfall');
  });

  it('a dispute takes all the credits back and marks the order disputed', async () => {
    const o = pending('starter');
    await events.applyEvent('stripe', paid(o));
    await events.applyEvent('stripe', {
      type: 'payment.disputed',
      eventId: 'evt_dp',
      paymentRef: `pi_${o.id.slice(0, 8)}`,
      amountMinor: 1000,
      currency: 'usd',
    });
    expect(order(o.id)).toMatchObject({ status: 'disputed', creditsClawedBack: 1000 });
    expect(balance(o.userId)).toBe(0);
    expect(repo.billingFlags.size).toBe(0);
  });
});

describe('out of order', () => {
  it('a refund before its payment waits, and is applied in the transaction that records the payment', async () => {
    const o = pending('starter');
    expect(await events.applyEvent('stripe', refunded(o, 1000))).toBe('deferred');
    expect(repo.events[0]).toMatchObject({ state: 'deferred', waitingFor: `pi_${o.id.slice(0, 8)}` });
    expect(await events.applyEvent('stripe', paid(o))).toBe('applied');
    expect(order(o.id)).toMatchObject({ status: 'refunded', refundedMinor: 1000, creditsGranted: 1000, creditsClawedBack: 1000, clawbackShortfall: 0 });
    expect(balance(o.userId)).toBe(0);
    expect(repo.events.map((e) => e.state)).toEqual(['applied', 'applied']);
    expect(await events.retryDeferred()).toBe(0);
  });

  it('an event for a checkout not recorded yet is retried by the job once it is 30 seconds old', async () => {
    const checkoutRef = 'cs_not_yet';
    const failed: PaymentEvent = { type: 'checkout.failed', eventId: 'evt_early_failure', checkoutRef };
    expect(await events.applyEvent('stripe', failed)).toBe('deferred');
    const o = repo.addPendingOrder({ id: randomUUID(), userId: 'late', planId: 'starter', provider: 'stripe', checkoutRef });
    expect(await events.retryDeferred()).toBe(0); // not due yet
    clock = new Date(clock.getTime() + 31_000);
    expect(await events.retryDeferred()).toBe(1);
    expect(order(o.id).status).toBe('failed');
    expect(repo.events[0]).toMatchObject({ state: 'applied', attempts: 2, waitingFor: null });
  });
});

describe('subscriptions', () => {
  const renewal = (ref: string, n: number, t0: number, extra: Partial<Extract<PaymentEvent, { type: 'subscription.renewed' }>> = {}): PaymentEvent => ({
    type: 'subscription.renewed',
    eventId: `evt_inv_${ref}_${n}`,
    subscriptionRef: ref,
    invoiceRef: `in_${ref}_${n}`,
    paymentRef: `pi_inv_${ref}_${n}`,
    amountMinor: 2500,
    currency: 'usd',
    periodStart: new Date(t0 + n * 30 * DAY),
    periodEnd: new Date(t0 + (n + 1) * 30 * DAY),
    ...extra,
  });

  it('each period grants once; unused credits of a plan without rollover expire when the period ends', async () => {
    const o = pending('pro-monthly');
    const t0 = clock.getTime() - 15 * DAY;
    await events.applyEvent('stripe', paid(o, { subscriptionRef: 'sub_A1', periodStart: new Date(t0), periodEnd: new Date(t0 + 30 * DAY) }));
    expect(balance(o.userId)).toBe(3000);
    // 1000 spent on a video in the first period
    await credits.hold(tx, { userId: o.userId, generationId: 'g1', credits: 1000, reason: 'a video' });
    await credits.capture(tx, { userId: o.userId, generationId: 'g1', credits: 1000, reason: 'a video' });
    expect(await events.applyEvent('stripe', renewal('sub_A1', 1, t0))).toBe('applied');
    // the 2000 unused credits expired, 3000 new ones came
    expect(balance(o.userId)).toBe(3000);
    expect(ledger(o.userId).slice(-2)).toEqual([
      ['expire', -2000],
      ['purchase', 3000],
    ]);
    // the same period under another invoice grants nothing
    expect(await events.applyEvent('stripe', renewal('sub_A1', 1, t0, { eventId: 'evt_other', invoiceRef: 'in_other' }))).toBe('ignored');
    const sub = [...repo.subscriptions.values()][0]!;
    expect(sub).toMatchObject({ providerRef: 'sub_A1', status: 'active', currentPeriodEnd: new Date(t0 + 60 * DAY) });
    expect([...repo.orders.values()].map((x) => [x.kind, x.status, x.creditsGranted])).toEqual([
      ['subscription', 'paid', 3000],
      ['renewal', 'paid', 3000],
    ]);
    // ended: the unused credits of the last period expire
    expect(await events.applyEvent('stripe', { type: 'subscription.ended', eventId: 'evt_end', subscriptionRef: 'sub_A1', endedAt: new Date(clock) })).toBe(
      'applied',
    );
    expect(balance(o.userId)).toBe(0);
    expect(
      await events.applyEvent('stripe', { type: 'subscription.ended', eventId: 'evt_end_again', subscriptionRef: 'sub_A1', endedAt: new Date(clock) }),
    ).toBe('ignored');
  });

  it('a renewal before its subscription is known waits for the checkout; a plan with rollover keeps unused credits', async () => {
    const o = pending('max-monthly');
    const t0 = clock.getTime() - 40 * DAY;
    expect(await events.applyEvent('stripe', renewal('sub_B1', 1, t0, { amountMinor: 7500 }))).toBe('deferred');
    await events.applyEvent('stripe', paid(o, { subscriptionRef: 'sub_B1', periodStart: new Date(t0), periodEnd: new Date(t0 + 30 * DAY) }));
    expect(balance(o.userId)).toBe(20_000);
    expect(repo.events.map((e) => e.state)).toEqual(['applied', 'applied']);
  });

  it('a cancellation that arrived before its subscription is applied later from its stored record', async () => {
    const o = pending('pro-monthly');
    const t0 = clock.getTime();
    const periodEnd = new Date(t0 + 30 * DAY);
    const canceled: PaymentEvent = { type: 'subscription.canceled', eventId: 'evt_cancel_early', subscriptionRef: 'sub_C1', atPeriodEnd: true, periodEnd };
    expect(await events.applyEvent('stripe', canceled)).toBe('deferred');
    // the stored event's dates are strings now (jsonb); applying it must not care
    await events.applyEvent('stripe', paid(o, { subscriptionRef: 'sub_C1', periodStart: new Date(t0), periodEnd }));
    expect(repo.events.map((e) => e.state)).toEqual(['applied', 'applied']);
    expect([...repo.subscriptions.values()][0]).toMatchObject({ cancelAtPeriodEnd: true, status: 'active', currentPeriodEnd: periodEnd });
    expect(balance(o.userId)).toBe(3000);
  });

  it('canceled at once: the unused credits of the period expire', async () => {
    const o = pending('pro-monthly');
    await events.applyEvent('stripe', paid(o, { subscriptionRef: 'sub_D1' }));
    // no period given: from now, for the plan's interval
    expect([...repo.subscriptions.values()][0]).toMatchObject({ currentPeriodStart: clock, currentPeriodEnd: new Date(clock.getTime() + 30 * DAY) });
    await events.applyEvent('stripe', { type: 'subscription.canceled', eventId: 'evt_cancel_now', subscriptionRef: 'sub_D1', atPeriodEnd: false });
    expect([...repo.subscriptions.values()][0]).toMatchObject({ status: 'canceled', cancelAtPeriodEnd: false });
    expect(balance(o.userId)).toBe(0);
  });
});

describe('an incoming payment callback', () => {
  it('answers 404 for a provider not configured and 400 for a bad signature, applying nothing', async () => {
    expect(await events.handlePaymentCallback('creem', Buffer.from('{}'), {})).toEqual({ status: 404, message: 'payments through creem are not configured' });
    verdict = { ok: false, reason: 'bad signature' };
    expect(await events.handlePaymentCallback('stripe', Buffer.from('{}'), {})).toEqual({ status: 400, message: 'bad signature' });
    expect(repo.events).toHaveLength(0);
  });

  it('applies each verified event exactly once', async () => {
    const a = pending('starter');
    const b = pending('creator');
    verdict = { ok: true, events: [paid(a), paid(b), paid(a)] };
    expect(await events.handlePaymentCallback('stripe', Buffer.from('{}'), {})).toEqual({ status: 200, message: 'ok' });
    expect([balance(a.userId), balance(b.userId)]).toEqual([1000, 5000]);
    expect(repo.events).toHaveLength(2);
  });
});
