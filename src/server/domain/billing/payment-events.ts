import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../adapters/clock';
import type { PaymentEvent, PaymentProviderId, PaymentRegistry } from '../../adapters/payments';
import type { Config } from '../../config';
import type { Database, DbHandle } from '../../db/client';
import type { JobQueue } from '../../jobs/queue';
import type { PaymentRisk } from '../abuse/payment-risk.service';
import type { Credits } from '../credits/credits';
import type { BillingRepo, OrderRow } from './billing.repo';
import { enqueueOrderConfirmation } from './confirmation';
import { createSubscriptionBooks, type SubscriptionBooksRepo } from './subscriptions';

/**
 * Payment-event application. Every provider event is recorded by its id in the same transaction as
 * its effect (grant, refund clawback, subscription change), so a replayed, duplicated or concurrent
 * delivery changes nothing the second time, and answers 200. An event that depends on one not seen
 * yet (a refund before its payment, a renewal before its subscription) is kept `deferred` and
 * applied in the transaction that records what it waited for, or by the retry job. Refund amounts
 * are cumulative, so refunds applied in any order end in the same state. Each application reads the
 * clock once: the instant it stamps on everything it writes (paid_at, updated_at, applied_at).
 */

export type ApplyOutcome = 'applied' | 'duplicate' | 'deferred' | 'ignored';

export type PaymentEventsRepo = SubscriptionBooksRepo &
  Pick<
    BillingRepo,
    | 'findOrderForEvent'
    | 'upsertSubscription'
    | 'getSubscriptionByRef'
    | 'recordPaymentEvent'
    | 'setPaymentEventOutcome'
    | 'deferPaymentEvent'
    | 'lockEventsWaitingFor'
    | 'dueDeferredEvents'
    | 'lockDeferredEvent'
    | 'setBillingFlag'
  >;

export interface PaymentEventsDeps {
  database: Pick<Database, 'transaction'> & DbHandle;
  repo: PaymentEventsRepo;
  credits: Credits;
  queue: Pick<JobQueue, 'enqueue'>;
  payments: PaymentRegistry;
  config: Pick<Config, 'NOWPAYMENTS_PARTIAL_PAYMENTS'>;
  logger: Logger;
  clock: Pick<Clock, 'now'>;
  /** payment fraud (issue 19): a charge's risk facts, and the generation hold a dispute places */
  risk?: Pick<PaymentRisk, 'recordCharge' | 'holdForDispute'> | undefined;
}

/** Where a provider's event must wait, when what it refers to is not known yet. */
class Deferred extends Error {
  constructor(readonly waitingFor: string) {
    super(`waiting for ${waitingFor}`);
  }
}

type Paid = Extract<PaymentEvent, { type: 'checkout.paid' | 'checkout.partially_paid' }>;

/** Where a refund moved an order to. */
const refundStatus = (order: OrderRow, refunded: number): OrderRow['status'] =>
  refunded >= (order.paidMinor || order.amountMinor) ? 'refunded' : refunded > 0 ? 'partially_refunded' : order.status;

export function createPaymentEvents({ database, repo, credits, queue, payments, config, logger, clock, risk }: PaymentEventsDeps) {
  const subscriptions = createSubscriptionBooks({ repo, credits, queue });

  /**
   * Record the event and apply it, all in one transaction; a second delivery is a no-op. `onApplied`
   * runs inside that transaction when this delivery applied the event (an operator's audit entry).
   */
  async function applyEvent(provider: PaymentProviderId, event: PaymentEvent, onApplied?: (tx: DbHandle) => Promise<void>): Promise<ApplyOutcome> {
    return database.transaction(async (tx) => {
      const at = clock.now();
      if (!(await repo.recordPaymentEvent(tx, provider, event, at))) return 'duplicate';
      const outcome = await run(tx, provider, event, at);
      if (outcome === 'applied') await onApplied?.(tx);
      return outcome;
    });
  }

  /** Apply an event already recorded (fresh, or deferred before) at `at`; sets its state. */
  async function run(tx: DbHandle, provider: PaymentProviderId, event: PaymentEvent, at: Date): Promise<ApplyOutcome> {
    try {
      const orderId = await effect(tx, provider, event, at);
      const state = orderId === null ? 'ignored' : 'applied';
      await repo.setPaymentEventOutcome(tx, provider, event.eventId, state, orderId === null || orderId === true ? null : orderId, at);
      return state;
    } catch (err) {
      if (!(err instanceof Deferred)) throw err;
      await repo.deferPaymentEvent(tx, provider, event.eventId, err.waitingFor);
      logger.info({ provider, event: event.eventId, type: event.type, waitingFor: err.waitingFor }, 'billing: event deferred until what it refers to arrives');
      return 'deferred';
    }
  }

  /** Deferred events waiting for any of `keys`, applied now (inside the caller's transaction). */
  async function applyWaiting(tx: DbHandle, provider: string, keys: (string | null | undefined)[]): Promise<void> {
    const wanted = keys.filter((k): k is string => !!k);
    if (!wanted.length) return;
    for (const event of await repo.lockEventsWaitingFor(tx, provider, wanted)) await run(tx, provider as PaymentProviderId, event, clock.now());
  }

  /**
   * The effect of one event. Returns the order id it concerned, `true` when it changed something
   * without an order (a subscription), or null when there was nothing to do. Throws Deferred when
   * what it refers to is not known yet.
   */
  async function effect(tx: DbHandle, provider: PaymentProviderId, e: PaymentEvent, at: Date): Promise<string | true | null> {
    switch (e.type) {
      case 'ignored':
        return null;
      case 'checkout.paid':
      case 'checkout.partially_paid': {
        const order = await repo.findOrderForEvent(tx, provider, { orderId: e.orderId, checkoutRef: e.checkoutRef, paymentRef: e.paymentRef });
        if (!order) throw new Deferred(e.checkoutRef);
        return (await markPaid(tx, order, e, at)).id;
      }
      case 'checkout.failed':
      case 'checkout.expired': {
        const order = await repo.findOrderForEvent(tx, provider, { orderId: e.orderId, checkoutRef: e.checkoutRef });
        if (!order) throw new Deferred(e.checkoutRef);
        if (order.status !== 'pending') return null; // a late failure never undoes a payment
        await repo.updateOrder(tx, order.id, { status: e.type === 'checkout.failed' ? 'failed' : 'expired' }, at);
        return order.id;
      }
      case 'subscription.renewed': {
        const sub = await repo.getSubscriptionByRef(tx, provider, e.subscriptionRef);
        if (!sub) throw new Deferred(e.subscriptionRef);
        const orderId = await subscriptions.renew(tx, provider, sub, e, at);
        if (orderId) await applyWaiting(tx, provider, [e.paymentRef]);
        return orderId;
      }
      case 'subscription.canceled': {
        const sub = await repo.getSubscriptionByRef(tx, provider, e.subscriptionRef);
        if (!sub) throw new Deferred(e.subscriptionRef);
        await subscriptions.cancel(tx, sub, e, at);
        return true;
      }
      case 'subscription.ended': {
        const sub = await repo.getSubscriptionByRef(tx, provider, e.subscriptionRef);
        if (!sub) throw new Deferred(e.subscriptionRef);
        return (await subscriptions.end(tx, sub, e.endedAt, at)) ? true : null;
      }
      case 'payment.refunded':
      case 'payment.disputed': {
        const order = await repo.findOrderForEvent(tx, provider, { paymentRef: e.paymentRef });
        if (!order || order.status === 'pending') throw new Deferred(e.paymentRef);
        const after = await takeBack(tx, order, e.type === 'payment.refunded' ? { refundedMinor: e.refundedMinor } : { disputed: true }, at);
        // a dispute or chargeback also holds the account's generation until an operator reviews it
        if (e.type === 'payment.disputed') await risk?.holdForDispute(tx, provider, after, e, at);
        return after.id;
      }
      case 'payment.charge': {
        // the order by our id (Stripe copies it onto the charge), else by the payment it belongs to
        const order = await repo.findOrderForEvent(tx, provider, { orderId: e.orderId, paymentRef: e.paymentRef });
        if (!order) {
          // a subscription's charge (it names a customer, not our order) comes before its order is known and
          // waits for it, for a day at most; any other charge no order claims is not ours (a shared Stripe account)
          const recent = e.created === undefined || at.getTime() - e.created * 1000 < 24 * 3600_000;
          if (e.succeeded && !e.orderId && e.customerRef && recent) throw new Deferred(e.paymentRef);
          return null;
        }
        if (!risk) return null;
        await risk.recordCharge(tx, provider, order, e, at);
        return order.id;
      }
    }
  }

  /** Credits granted now: all of them, or for a partial (crypto) payment what the setting allows. */
  function creditsDue(order: OrderRow, e: Paid): number {
    if (e.type === 'checkout.paid') return order.credits;
    // pro rata (a setting) for crypto payments that stopped short; nothing at all otherwise
    if (config.NOWPAYMENTS_PARTIAL_PAYMENTS !== 'pro_rata') return 0;
    return Math.floor((order.credits * Math.min(e.paidMinor, order.amountMinor)) / Math.max(1, order.amountMinor));
  }

  async function markPaid(tx: DbHandle, order: OrderRow, e: Paid, at: Date): Promise<OrderRow> {
    const paidMinor = e.type === 'checkout.partially_paid' ? e.paidMinor : e.amountMinor;
    const due = creditsDue(order, e);
    const grant = Math.max(0, due - order.creditsGranted);
    if (['refunded', 'partially_refunded', 'disputed'].includes(order.status) || (order.status === 'paid' && grant === 0)) return order;
    if (e.type === 'checkout.partially_paid' && due === 0) {
      // recorded; the order stays pending until a full payment arrives
      return repo.updateOrder(tx, order.id, { paymentRef: e.paymentRef, paidMinor }, at);
    }
    const firstPayment = order.status !== 'paid';
    let subscriptionId = order.subscriptionId;
    // when the provider did not say which period a subscription checkout paid: from now, for the plan's interval
    let periodStart = e.type === 'checkout.paid' ? e.periodStart : undefined;
    let periodEnd = e.type === 'checkout.paid' ? e.periodEnd : undefined;
    if (e.type === 'checkout.paid' && e.subscriptionRef && !subscriptionId) {
      periodStart ??= at;
      const plan = await repo.getPlan(tx, order.planId);
      periodEnd ??= new Date(new Date(periodStart).getTime() + (plan?.interval === 'year' ? 365 : 30) * 24 * 3600_000);
      const sub = await repo.upsertSubscription(
        tx,
        {
          id: randomUUID(),
          userId: order.userId,
          planId: order.planId,
          provider: order.provider,
          providerRef: e.subscriptionRef,
          currentPeriodStart: new Date(periodStart),
          currentPeriodEnd: new Date(periodEnd),
        },
        at,
      );
      subscriptionId = sub.id;
    }
    const updated = await repo.updateOrder(
      tx,
      order.id,
      {
        status: 'paid',
        paymentRef: e.paymentRef,
        paidMinor: Math.max(paidMinor, order.paidMinor),
        creditsGranted: order.creditsGranted + grant,
        ...(e.type === 'checkout.paid' && e.customerEmail ? { checkoutEmail: e.customerEmail } : {}),
        ...(subscriptionId ? { subscriptionId } : {}),
        ...(periodStart ? { periodStart: new Date(periodStart) } : {}),
        ...(periodEnd ? { periodEnd: new Date(periodEnd) } : {}),
      },
      at,
      { firstPayment },
    );
    if (grant > 0 && order.userId) {
      await credits.purchase(tx, {
        userId: order.userId,
        orderId: order.id,
        credits: grant,
        grantedTotal: order.creditsGranted + grant,
        reason: `${order.planName}: ${grant.toLocaleString('en-US')} credits bought`,
      });
    }
    if (firstPayment) await enqueueOrderConfirmation(queue, tx, order.id);
    await applyWaiting(tx, order.provider, [e.paymentRef, e.type === 'checkout.paid' ? e.subscriptionRef : undefined]);
    return updated;
  }

  /**
   * A refund (cumulative amount) or a dispute: the credits bought are taken back in proportion,
   * never below zero; what could not be taken (already spent) is recorded and the account flagged.
   */
  async function takeBack(tx: DbHandle, order: OrderRow, what: { refundedMinor: number } | { disputed: true }, at: Date): Promise<OrderRow> {
    const disputed = 'disputed' in what;
    const base = order.paidMinor || order.amountMinor;
    const refunded = disputed ? order.refundedMinor : Math.min(base, Math.max(order.refundedMinor, what.refundedMinor));
    const status = disputed ? 'disputed' : refundStatus(order, refunded);
    if (status === order.status && refunded === order.refundedMinor) return order;
    const target = disputed || refunded >= base ? order.creditsGranted : Math.floor((order.creditsGranted * refunded) / Math.max(1, base));
    const due = Math.max(0, target - order.creditsClawedBack - order.clawbackShortfall);
    let taken = 0;
    if (due > 0 && order.userId) {
      taken = Math.min(due, await credits.lockBalance(tx, order.userId));
      if (taken > 0) {
        await credits.clawback(tx, {
          userId: order.userId,
          orderId: order.id,
          credits: taken,
          clawedBackTotal: order.creditsClawedBack + taken,
          reason: disputed ? `${order.planName}: credits taken back (payment disputed)` : `${order.planName}: credits taken back (payment refunded)`,
        });
      }
      if (due > taken) {
        await repo.setBillingFlag(tx, order.userId, disputed ? 'dispute_shortfall' : 'refund_shortfall', at);
        logger.warn({ order: order.id, user: order.userId, shortfall: due - taken }, 'billing: refunded credits were already spent; account flagged');
      }
    }
    return repo.updateOrder(
      tx,
      order.id,
      {
        status,
        refundedMinor: refunded,
        creditsClawedBack: order.creditsClawedBack + taken,
        clawbackShortfall: order.clawbackShortfall + (due - taken),
      },
      at,
    );
  }

  /** An incoming payment callback: verify it on the raw body, then apply each event exactly once. */
  async function handlePaymentCallback(provider: string, rawBody: Buffer, headers: Record<string, string | string[] | undefined>) {
    if (!payments.has(provider)) return { status: 404 as const, message: `payments through ${provider} are not configured` };
    const p = payments.get(provider);
    const verdict = p.verifyWebhook(rawBody, headers);
    if (!verdict.ok) return { status: 400 as const, message: verdict.reason };
    for (const raw of verdict.events) {
      const event = p.enrich ? await p.enrich(raw) : raw;
      const outcome = await applyEvent(provider, event);
      logger.info({ provider, event: event.eventId, type: event.type, outcome }, 'billing: webhook event');
    }
    return { status: 200 as const, message: 'ok' };
  }

  /** Apply deferred events (waiting 30 s or more) whose dependency has arrived meanwhile; returns how many were applied. */
  async function retryDeferred(): Promise<number> {
    let n = 0;
    for (const { provider, event } of await repo.dueDeferredEvents(database, clock.now())) {
      const outcome = await database.transaction(async (tx) =>
        (await repo.lockDeferredEvent(tx, provider, event.eventId)) ? run(tx, provider as PaymentProviderId, event, clock.now()) : 'duplicate',
      );
      if (outcome === 'applied') n++;
    }
    return n;
  }

  return { applyEvent, applyWaiting, handlePaymentCallback, retryDeferred };
}

export type PaymentEvents = ReturnType<typeof createPaymentEvents>;
