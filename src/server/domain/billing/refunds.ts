import type { Logger } from 'pino';
import type { Clock } from '../../adapters/clock';
import type { PaymentEvent, PaymentProviderId, PaymentRegistry } from '../../adapters/payments';
import type { Database } from '../../db/client';
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
  applyEvent: (provider: PaymentProviderId, event: PaymentEvent) => Promise<ApplyOutcome>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createRefunds({ database, repo, payments, logger, clock, applyEvent }: RefundsDeps) {
  /** Refund an order fully (no amount) or partly, through the provider; the books follow at once. */
  async function refund(orderId: string, amountMinor?: number): Promise<OrderRow> {
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
      idempotencyKey: `refund:${order.id}:${total}`,
    });
    if (result.status === 'failed') throw new AppError('payment_provider_error', `${providerLabel(order.provider)} refused the refund.`, 502);
    // the provider's own refund event is then a no-op (cumulative amount)
    await applyEvent(order.provider as PaymentProviderId, {
      type: 'payment.refunded',
      eventId: `admin-refund:${result.refundRef}`,
      paymentRef: order.paymentRef,
      refundedMinor: total,
      currency: order.currency,
    });
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

  return {
    refund,
    reconcile,
    /** pending orders whose checkout was abandoned long ago become expired */
    expireAbandoned: (hours = 48) => repo.expireAbandonedOrders(database, hours, clock.now()),
  };
}
