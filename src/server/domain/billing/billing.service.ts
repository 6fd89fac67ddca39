import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../adapters/clock';
import { PaymentProviderError, type PaymentEvent, type PaymentProviderId, type PaymentRegistry } from '../../adapters/payments';
import type { Config } from '../../config';
import type { Database } from '../../db/client';
import { AppError, notFound } from '../../errors';
import type { JobQueue } from '../../jobs/queue';
import type { BillingResponse, CheckoutInput, CheckoutResponse, OrderView, PlansResponse, SubscriptionView } from '../../../shared/api/billing';
import type { CatalogService } from '../catalog/catalog.service';
import { createCredits, type Credits } from '../credits/credits';
import { sqlCreditsRepo } from '../credits/credits.repo';
import { sqlBillingRepo, type BillingRepo, type OrderRow, type PaidOrder, type PlanRow, type PlanSettings } from './billing.repo';
import type { PaymentRisk } from '../abuse/payment-risk.service';
import { createCheckout } from './checkout';
import { createPaymentEvents, type ApplyOutcome } from './payment-events';
import { createRefunds, type OrderReconciliation, type RefundOptions } from './refunds';
import { providerLabel, toOrderView, toSubscriptionView } from './views';

/**
 * Billing: plans, checkout, and the books. The parts live beside this file — checkout.ts (what is
 * on sale, starting a purchase), payment-events.ts (applying provider events exactly once, with
 * subscriptions.ts for subscription periods), refunds.ts (operators' refunds and reconciliation) —
 * and this façade is what the rest of the app uses.
 */

export type { ApplyOutcome } from './payment-events';
export type { PaidOrder } from './billing.repo';
export type { OrderReconciliation, RefundOptions } from './refunds';

export interface BillingService {
  plans(): Promise<PlansResponse>;
  /** `ip`: the address the checkout comes from (velocity rules; stored only as a keyed hash) */
  checkout(user: { id: string; email: string }, input: CheckoutInput, meta?: { ip?: string }): Promise<CheckoutResponse>;
  overview(userId: string, query: { limit: number; cursor?: string | undefined }): Promise<BillingResponse>;
  order(userId: string, id: string): Promise<OrderView>;
  /** the user's paid order, for its receipt */
  paidOrder(userId: string, id: string): Promise<PaidOrder>;
  cancelSubscription(userId: string): Promise<SubscriptionView>;
  /** an incoming payment provider callback: verify, then apply each event exactly once */
  handlePaymentCallback(
    provider: string,
    rawBody: Buffer,
    headers: Record<string, string | string[] | undefined>,
  ): Promise<{ status: 200 | 400 | 404; message: string }>;
  applyEvent(provider: PaymentProviderId, event: PaymentEvent): Promise<ApplyOutcome>;
  /** operators: refund an order fully (no amount) or partly, through the provider */
  refund(orderId: string, amountMinor?: number, opts?: RefundOptions): Promise<OrderRow>;
  /** fetch recent provider events (Stripe's events API) and apply what we missed */
  reconcile(opts?: { sinceHours?: number }): Promise<{ fetched: number; applied: number }>;
  /** operators: ask the order's provider about this one order and apply the events we missed */
  reconcileOrder(orderId: string): Promise<OrderReconciliation>;
  /** apply deferred events whose dependency has arrived meanwhile; returns how many were applied */
  retryDeferred(): Promise<number>;
  /** pending orders whose checkout was abandoned long ago become expired */
  expireAbandoned(hours?: number): Promise<number>;
  /** operators: the latest orders, of one user (by email) or of everyone, newest first */
  latestOrders(opts: { email?: string | undefined; limit: number }): Promise<OrderRow[]>;
  /** operators: every plan, on sale or not */
  allPlans(): Promise<PlanRow[]>;
  plan(id: string): Promise<PlanRow | null>;
  /** operators: create a plan or replace its settings */
  savePlan(plan: PlanSettings): Promise<PlanRow>;
  toOrderView(order: OrderRow): OrderView;
}

export interface BillingDeps {
  database: Database;
  queue: Pick<JobQueue, 'enqueue'>;
  payments: PaymentRegistry;
  catalog: CatalogService;
  config: Pick<Config, 'PUBLIC_URL' | 'BILLING_CURRENCIES' | 'NOWPAYMENTS_PARTIAL_PAYMENTS' | 'CREEM_CHECKOUTS_ENABLED'>;
  logger: Logger;
  /** default: the system clock */
  clock?: Clock;
  /** default: the SQL repositories */
  repo?: BillingRepo;
  /** default: the credits module on the database, on `clock` */
  credits?: Credits;
  /** payment fraud rules (issue 19): velocity at checkout, risk facts of charges, the dispute hold */
  risk?: PaymentRisk | undefined;
}

const isPaid = (order: OrderRow): order is PaidOrder => order.paidAt !== null && order.receiptNumber !== null;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createBillingService(deps: BillingDeps): BillingService {
  const { database, payments, logger } = deps;
  const repo = deps.repo ?? sqlBillingRepo;
  const clock = deps.clock ?? systemClock;
  const events = createPaymentEvents({ ...deps, repo, clock, credits: deps.credits ?? createCredits(sqlCreditsRepo, clock) });
  const sales = createCheckout({ ...deps, repo, clock, applyWaiting: events.applyWaiting });
  const refunds = createRefunds({ database, repo, payments, logger, clock, applyEvent: events.applyEvent });

  async function ownOrder(userId: string, id: string): Promise<OrderRow> {
    const order = UUID.test(id) ? await repo.getOrder(database, id) : null;
    if (!order || order.userId !== userId) throw notFound('That order');
    return order;
  }

  async function cancelSubscription(userId: string): Promise<SubscriptionView> {
    const sub = await repo.currentSubscription(database, userId);
    if (!sub) throw notFound('An active subscription');
    if (!sub.cancelAtPeriodEnd) {
      const p = payments.has(sub.provider) ? payments.get(sub.provider) : null;
      if (!p?.cancelSubscription)
        throw new AppError('payment_provider_error', `Subscriptions through ${providerLabel(sub.provider)} cannot be canceled here; contact support.`, 502);
      try {
        await p.cancelSubscription(sub.providerRef, { atPeriodEnd: true, idempotencyKey: `cancel:${sub.id}` });
      } catch (err) {
        if (err instanceof PaymentProviderError)
          throw new AppError('payment_provider_error', `${providerLabel(sub.provider)} could not cancel the subscription: ${err.message}`, 502);
        throw err;
      }
      await repo.markCancelAtPeriodEnd(database, sub.id, clock.now());
    }
    const now = await repo.getSubscriptionByRef(database, sub.provider, sub.providerRef);
    if (!now) throw notFound('An active subscription');
    return toSubscriptionView(now, await repo.getPlan(database, sub.planId));
  }

  return {
    plans: sales.plans,
    checkout: sales.checkout,
    async overview(userId, query) {
      const page = await repo.userOrdersPage(database, userId, query);
      if (!page) throw new AppError('invalid_request', 'cursor is not valid.', 400);
      const sub = await repo.currentSubscription(database, userId);
      return {
        orders: page.items.map(toOrderView),
        nextCursor: page.nextCursor,
        subscription: sub ? toSubscriptionView(sub, await repo.getPlan(database, sub.planId)) : null,
      };
    },
    order: async (userId, id) => toOrderView(await ownOrder(userId, id)),
    async paidOrder(userId, id) {
      const order = await ownOrder(userId, id);
      if (!isPaid(order)) throw notFound('A receipt for that order');
      return order;
    },
    cancelSubscription,
    handlePaymentCallback: events.handlePaymentCallback,
    applyEvent: events.applyEvent,
    refund: refunds.refund,
    reconcile: refunds.reconcile,
    reconcileOrder: refunds.reconcileOrder,
    retryDeferred: events.retryDeferred,
    expireAbandoned: refunds.expireAbandoned,
    latestOrders: (opts) => repo.latestOrders(database, opts),
    allPlans: () => repo.listPlans(database, { activeOnly: false }),
    plan: (id) => repo.getPlan(database, id),
    savePlan: (plan) => repo.savePlan(database, plan, clock.now()),
    toOrderView,
  };
}
