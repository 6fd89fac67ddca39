import type { Logger } from 'pino';
import type { Clock } from '../../adapters/clock';
import type { PaymentEvent, PaymentProviderId, PaymentRegistry } from '../../adapters/payments';
import type { Database, DbHandle } from '../../db/client';
import { AppError, notFound } from '../../errors';
import type { BillingRepo, OrderRow } from './billing.repo';
import type { ApplyOutcome } from './payment-events';
import { providerLabel } from './views';

/** Operators' side of the books: refunds through the provider, catching up on missed events, abandoned checkouts. */

export interface RefundsDeps {
  database: Database;
  repo: Pick<BillingRepo, 'getOrder' | 'findUserStatus' | 'expireAbandonedOrders'>;
  payments: PaymentRegistry;
  logger: Logger;
  clock: Pick<Clock, 'now' | 'nowMs'>;
  applyEvent: (provider: PaymentProviderId, event: PaymentEvent, onApplied?: (tx: DbHandle) => Promise<void>) => Promise<ApplyOutcome>;
}

export interface RefundOptions {
  /**
   * The caller's key for this refund (the console's Idempotency-Key): the provider refunds once per
   * key. Without one, the key is the order and its refunded total after this refund, so identical
   * concurrent requests refund once.
   */
  idempotencyKey?: string | undefined;
  /** Runs in the transaction that books the refund, once, whichever request books it (the operator's audit entry). */
  onBooked?: ((tx: DbHandle, refund: { refundRef: string; amountMinor: number }) => Promise<void>) | undefined;
}

/** What asking the provider about one order found. */
export interface OrderReconciliation {
  /** events the provider listed since the order was made */
  fetched: number;
  /** of those, the ones about this order */
  matched: number;
  /** of those, the ones we had not recorded (now applied) */
  applied: number;
  since: Date;
  order: OrderRow;
}

/** Whether a provider event is about this order (its checkout, its payment, its renewal invoice). */
function concernsOrder(order: OrderRow, e: PaymentEvent): boolean {
  switch (e.type) {
    case 'checkout.paid':
    case 'checkout.partially_paid':
    case 'checkout.failed':
    case 'checkout.expired':
      return e.orderId === order.id || (order.checkoutRef !== null && e.checkoutRef === order.checkoutRef);
    case 'payment.refunded':
    case 'payment.disputed':
      return order.paymentRef !== null && e.paymentRef === order.paymentRef;
    case 'subscription.renewed':
      return order.invoiceRef !== null && e.invoiceRef === order.invoiceRef;
    default:
      return false;
  }
}

/** How far back the provider's events API reaches (Stripe keeps 30 days). */
const EVENTS_KEPT_MS = 30 * 24 * 3600_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createRefunds({ database, repo, payments, logger, clock, applyEvent }: RefundsDeps) {
  /** Refund an order fully (no amount) or partly, through the provider; the books follow at once. */
  async function refund(orderId: string, amountMinor?: number, opts: RefundOptions = {}): Promise<OrderRow> {
    const order = UUID.test(orderId) ? await repo.getOrder(database, orderId) : null;
    if (!order) throw notFound('That order');
    if (!order.paymentRef || !order.paidAt) throw new AppError('invalid_request', 'Only paid orders can be refunded.', 400);
    if (order.userId && (await repo.findUserStatus(database, order.userId))?.status === 'terminated') {
      throw new AppError('account_terminated', 'This account was terminated for breaking the terms; its orders are not refunded (privacy policy 9).', 409);
    }
    const base = order.paidMinor || order.amountMinor;
    const remaining = base - order.refundedMinor;
    const amount = amountMinor ?? remaining;
    if (!Number.isInteger(amount) || amount <= 0 || amount > remaining) {
      throw new AppError('invalid_request', `The refund must be between 1 and ${remaining} (${order.currency.toUpperCase()} minor units).`, 400);
    }
    const provider = payments.get(order.provider as PaymentProviderId);
    const total = order.refundedMinor + amount;
    const result = await provider.refund({
      paymentRef: order.paymentRef,
      amountMinor: amount,
      currency: order.currency,
      reason: 'requested_by_customer',
      idempotencyKey: opts.idempotencyKey ? `refund:${order.id}:key:${opts.idempotencyKey}` : `refund:${order.id}:${total}`,
    });
    if (result.status === 'failed') throw new AppError('payment_provider_error', `${providerLabel(order.provider)} refused the refund.`, 502);
    // the provider's own refund event is then a no-op (cumulative amount)
    const onBooked = opts.onBooked;
    await applyEvent(
      order.provider as PaymentProviderId,
      {
        type: 'payment.refunded',
        eventId: `admin-refund:${result.refundRef}`,
        paymentRef: order.paymentRef,
        refundedMinor: total,
        currency: order.currency,
      },
      onBooked && ((tx) => onBooked(tx, { refundRef: result.refundRef, amountMinor: amount })),
    );
    const after = await repo.getOrder(database, order.id);
    if (!after) throw notFound('That order');
    return after;
  }

  /** Fetch recent provider events (Stripe's events API) and apply what we missed. */
  async function reconcile(opts: { sinceHours?: number } = {}): Promise<{ fetched: number; applied: number }> {
    const since = new Date(clock.nowMs() - (opts.sinceHours ?? 72) * 3600_000);
    let fetched = 0;
    let applied = 0;
    for (const id of payments.ids) {
      const p = payments.get(id);
      if (!p.listEventsSince) continue;
      const events = await p.listEventsSince(since);
      fetched += events.length;
      for (const e of events) if ((await applyEvent(id, p.enrich ? await p.enrich(e) : e)) === 'applied') applied++;
    }
    if (applied) logger.warn({ fetched, applied }, 'billing: reconciliation applied events the webhooks had missed');
    return { fetched, applied };
  }

  /**
   * Ask the order's provider for the events about this order (since it was made, as far back as the
   * events API reaches) and apply the ones we missed. Providers without an events API answer 409.
   */
  async function reconcileOrder(orderId: string): Promise<OrderReconciliation> {
    const order = UUID.test(orderId) ? await repo.getOrder(database, orderId) : null;
    if (!order) throw notFound('That order');
    const id = order.provider as PaymentProviderId;
    const p = payments.has(id) ? payments.get(id) : null;
    if (!p?.listEventsSince) {
      throw new AppError(
        'reconcile_unsupported',
        `${providerLabel(order.provider)} has no events API to ask; check this order in its dashboard (its webhooks are retried by ${providerLabel(order.provider)}).`,
        409,
      );
    }
    const since = new Date(Math.max(order.createdAt.getTime() - 3600_000, clock.nowMs() - EVENTS_KEPT_MS));
    const events = await p.listEventsSince(since);
    let matched = 0;
    let applied = 0;
    for (const e of events) {
      if (!concernsOrder(order, e)) continue;
      matched++;
      if ((await applyEvent(id, p.enrich ? await p.enrich(e) : e)) === 'applied') applied++;
    }
    if (applied) logger.warn({ order: order.id, matched, applied }, 'billing: reconciling an order applied events the webhooks had missed');
    return { fetched: events.length, matched, applied, since, order: (await repo.getOrder(database, order.id)) ?? order };
  }

  return {
    refund,
    reconcile,
    reconcileOrder,
    /** pending orders whose checkout was abandoned long ago become expired */
    expireAbandoned: (hours = 48) => repo.expireAbandonedOrders(database, hours, clock.now()),
  };
}
