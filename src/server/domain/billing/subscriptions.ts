import { randomUUID } from 'node:crypto';
import type { PaymentEvent, PaymentProviderId } from '../../adapters/payments';
import type { DbHandle } from '../../db/client';
import type { JobQueue } from '../../jobs/queue';
import type { Credits } from '../credits/credits';
import type { BillingRepo, SubscriptionRow } from './billing.repo';
import { enqueueOrderConfirmation } from './confirmation';

/**
 * Subscription periods in the books: a renewal is a paid order that grants the plan's credits for
 * its period; when a period of a plan without rollover ends (renewed, canceled at once, or ended),
 * the credits it granted and that were not spent expire. All of it runs inside the transaction that
 * records the provider's event, at the instant `at` that application read from the clock.
 */

export type SubscriptionBooksRepo = Pick<
  BillingRepo,
  | 'getPlan'
  | 'isPeriodCovered'
  | 'insertRenewalOrder'
  | 'startSubscriptionPeriod'
  | 'creditsGrantedSince'
  | 'cancelSubscriptionRow'
  | 'endSubscription'
  | 'updateOrder'
>;

export interface SubscriptionBooksDeps {
  repo: SubscriptionBooksRepo;
  credits: Credits;
  queue: Pick<JobQueue, 'enqueue'>;
}

type Renewed = Extract<PaymentEvent, { type: 'subscription.renewed' }>;
type Canceled = Extract<PaymentEvent, { type: 'subscription.canceled' }>;

export function createSubscriptionBooks({ repo, credits, queue }: SubscriptionBooksDeps) {
  /**
   * At the end of a period of a plan without rollover, the credits it granted that were not spent
   * expire: what it granted, less what was spent on videos since it started (spending counts
   * against subscription credits first), never more than the balance.
   */
  async function expirePeriodCredits(tx: DbHandle, sub: SubscriptionRow, why: string): Promise<void> {
    if (!sub.userId) return;
    const plan = await repo.getPlan(tx, sub.planId);
    if (!plan || plan.rollover || !sub.currentPeriodStart) return;
    const granted = await repo.creditsGrantedSince(tx, sub.id, sub.currentPeriodStart);
    const spent = await credits.capturedBetween(tx, sub.userId, sub.currentPeriodStart, sub.currentPeriodEnd);
    const balance = await credits.lockBalance(tx, sub.userId);
    const expiring = Math.min(balance, Math.max(0, granted - spent));
    if (expiring <= 0) return;
    await credits.expire(tx, {
      userId: sub.userId,
      subscriptionId: sub.id,
      periodStart: sub.currentPeriodStart,
      credits: expiring,
      reason: `${plan.name}: ${expiring.toLocaleString('en-US')} unused credits expired (${why})`,
    });
  }

  /** A paid period after the first: a renewal order and its credits. Returns the order id, or null when the period was granted already. */
  async function renew(tx: DbHandle, provider: PaymentProviderId, sub: SubscriptionRow, e: Renewed, at: Date): Promise<string | null> {
    const periodEnd = new Date(e.periodEnd);
    // a period already granted (the first one comes with the checkout; a provider may announce a
    // period twice, under another invoice). Renewals can arrive out of order (concurrent deliveries,
    // retries), so this asks which periods have an order, not whether this one is the latest.
    if (await repo.isPeriodCovered(tx, sub.id, periodEnd)) return null;
    const latest = !sub.currentPeriodEnd || periodEnd.getTime() > sub.currentPeriodEnd.getTime() + 60_000;
    const plan = await repo.getPlan(tx, sub.planId);
    if (!plan) throw new Error(`subscription ${sub.id} has an unknown plan ${sub.planId}`);
    const periodStart = new Date(e.periodStart);
    const order = await repo.insertRenewalOrder(
      tx,
      {
        id: randomUUID(),
        userId: sub.userId,
        planId: plan.id,
        planName: plan.name,
        credits: plan.credits,
        amountMinor: e.amountMinor,
        currency: e.currency,
        provider,
        paymentRef: e.paymentRef,
        invoiceRef: e.invoiceRef,
        subscriptionId: sub.id,
        periodStart,
        periodEnd,
      },
      at,
    );
    if (!order) return null; // this invoice was recorded already
    if (latest) {
      // unused credits of the period that ended expire, unless the plan rolls them over
      await expirePeriodCredits(tx, sub, 'the subscription period ended');
      await repo.startSubscriptionPeriod(tx, sub.id, { start: periodStart, end: periodEnd }, at);
    }
    // else: an earlier period paid late (its invoice arrived after a later one); it is granted,
    // and the subscription keeps its current period
    if (order.userId) {
      await credits.purchase(tx, {
        userId: order.userId,
        orderId: order.id,
        credits: order.credits,
        grantedTotal: order.credits,
        reason: `${order.planName}: ${order.credits.toLocaleString('en-US')} credits for the new period`,
      });
      await repo.updateOrder(tx, order.id, { creditsGranted: order.credits }, at);
    }
    await enqueueOrderConfirmation(queue, tx, order.id);
    return order.id;
  }

  /** Canceled at the period end (nothing changes until then) or at once (the period's unused credits expire). */
  async function cancel(tx: DbHandle, sub: SubscriptionRow, e: Canceled, at: Date): Promise<void> {
    // a deferred event comes back from its JSON record, its dates as strings
    await repo.cancelSubscriptionRow(tx, sub.id, { atPeriodEnd: e.atPeriodEnd, periodEnd: e.periodEnd ? new Date(e.periodEnd) : null }, at);
    if (!e.atPeriodEnd) await expirePeriodCredits(tx, sub, 'the subscription was canceled');
  }

  /** The subscription ended; false when it had ended already. */
  async function end(tx: DbHandle, sub: SubscriptionRow, endedAt: Date, at: Date): Promise<boolean> {
    if (sub.status === 'expired' || sub.status === 'canceled') return false;
    await repo.endSubscription(tx, sub.id, new Date(endedAt), at);
    await expirePeriodCredits(tx, sub, 'the subscription ended');
    return true;
  }

  return { renew, cancel, end };
}

export type SubscriptionBooks = ReturnType<typeof createSubscriptionBooks>;
