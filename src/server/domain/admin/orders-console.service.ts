import { PaymentProviderError, type PaymentRegistry } from '../../adapters/payments';
import type { Database } from '../../db/client';
import { AppError, notFound } from '../../errors';
import type {
  AdminOrderDetail,
  AdminOrderFull,
  AdminOrderList,
  AdminOrderRow,
  AdminOrdersQuery,
  AdminReconcileResult,
  AdminRefundResult,
  RefundBlocker,
} from '../../../shared/api/admin-orders';
import { getOrder, type OrderRow } from '../billing/billing.repo';
import type { BillingService } from '../billing/billing.service';
import { providerLabel } from '../billing/views';
import type { AuditActor, AuditService } from './audit.service';
import { buyerOf, emailsOf, listOrders, orderEvents, orderLedger, refundByKey, type LedgerRow, type PaymentEventRow } from './orders-console.repo';

/**
 * The console's orders section and the CLI's billing commands (issue 18): find orders, show one
 * with its payment events and the credits it moved, refund it through the provider that took the
 * money, and ask that provider about it (reconcile). Every refund and reconciliation is in the audit
 * log; a refund's entry is written in the transaction that books it, by whichever request books it.
 *
 * A refund is never made twice for one request: an `Idempotency-Key` is remembered in the refund's
 * audit entry and sent to the provider (which refunds once per key); without one, identical
 * concurrent requests share the provider's key for the order's resulting refunded total.
 */

export interface RefundInput {
  /** minor units; absent: all that is left */
  amountMinor?: number | undefined;
  reason: string | null;
  idempotencyKey?: string | undefined;
}

export interface OrdersConsole {
  list(query: AdminOrdersQuery): Promise<AdminOrderList>;
  detail(id: string): Promise<AdminOrderDetail>;
  refund(actor: AuditActor, id: string, input: RefundInput): Promise<AdminRefundResult>;
  /** ask the order's provider about this order and apply the events we missed */
  reconcileOrder(actor: AuditActor, id: string): Promise<AdminReconcileResult>;
  /** every provider's recent events (the daily job's work, on demand: `billing:reconcile`) */
  reconcileAll(actor: AuditActor, opts: { sinceHours: number }): Promise<{ fetched: number; applied: number; deferredApplied: number }>;
}

export interface OrdersConsoleDeps {
  database: Database;
  payments: Pick<PaymentRegistry, 'has' | 'get'>;
  /** read when used: the services are built together (context.ts) */
  billing: () => Pick<BillingService, 'refund' | 'reconcile' | 'reconcileOrder' | 'retryDeferred'>;
  audit: () => Pick<AuditService, 'record'>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 24 * 3600_000;
/** Creem and NOWPayments refunds are made in their dashboards; their webhooks update the books (ADR 0010). */
const DASHBOARD_REFUNDS = new Set(['creem', 'nowpayments']);

/** A day bound (`2026-12-01`, UTC) or an instant; `to` as a day means up to the end of that day. */
export function dateBound(value: string | undefined, end: boolean): Date | undefined {
  if (!value) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return new Date(end ? start + DAY_MS : start);
  }
  return new Date(value);
}

const iso = (d: Date | null) => d?.toISOString() ?? null;
const paidBase = (o: OrderRow) => o.paidMinor || o.amountMinor;

function toRow(o: OrderRow, email: string | undefined): AdminOrderRow {
  return {
    id: o.id,
    createdAt: o.createdAt.toISOString(),
    paidAt: iso(o.paidAt),
    status: o.status,
    provider: o.provider,
    planName: o.planName,
    kind: o.kind,
    credits: o.credits,
    amountMinor: o.amountMinor,
    paidMinor: o.paidMinor,
    refundedMinor: o.refundedMinor,
    currency: o.currency,
    receiptNumber: o.receiptNumber,
    checkoutEmail: o.checkoutEmail,
    user: o.userId && email !== undefined ? { id: o.userId, email } : null,
  };
}

function toFull(o: OrderRow, email: string | undefined): AdminOrderFull {
  return {
    ...toRow(o, email),
    planId: o.planId,
    updatedAt: o.updatedAt.toISOString(),
    checkoutRef: o.checkoutRef,
    paymentRef: o.paymentRef,
    invoiceRef: o.invoiceRef,
    subscriptionId: o.subscriptionId,
    periodStart: iso(o.periodStart),
    periodEnd: iso(o.periodEnd),
    creditsGranted: o.creditsGranted,
    creditsClawedBack: o.creditsClawedBack,
    clawbackShortfall: o.clawbackShortfall,
    subjectRef: o.subjectRef,
  };
}

/** The amount an event names (paid, the refunded total, disputed), for the order's page. */
function eventAmount(e: PaymentEventRow): number | null {
  const ev = e.event;
  switch (ev.type) {
    case 'checkout.paid':
    case 'subscription.renewed':
    case 'payment.disputed':
      return ev.amountMinor;
    case 'checkout.partially_paid':
      return ev.paidMinor;
    case 'payment.refunded':
      return ev.refundedMinor;
    default:
      return null;
  }
}

const toLedgerView = (r: LedgerRow) => ({
  id: String(r.id),
  kind: r.kind,
  amount: r.amount,
  heldChange: r.heldDelta,
  balanceAfter: r.balanceAfter,
  reason: r.reason,
  reference: r.reference,
  createdAt: r.createdAt.toISOString(),
});

const blockerErrors: Record<RefundBlocker, (o: OrderRow) => AppError> = {
  not_paid: (o) => new AppError('order_not_paid', `Only paid orders can be refunded; this one is ${o.status.replace('_', ' ')}.`, 409),
  refunded: () => new AppError('already_refunded', 'This order has been refunded in full already.', 409),
  disputed: (o) =>
    new AppError(
      'order_disputed',
      `The payment is disputed: the buyer's bank decides now. Answer the dispute in the ${providerLabel(o.provider)} dashboard instead of refunding.`,
      409,
    ),
  account_terminated: () =>
    new AppError('account_terminated', 'This account was terminated for breaking the terms; its orders are not refunded (privacy policy 9).', 409),
  provider_dashboard: (o) =>
    new AppError(
      'refund_in_dashboard',
      `${providerLabel(o.provider)} refunds are made in the ${providerLabel(o.provider)} dashboard; its webhook then updates this order.`,
      409,
    ),
  provider_not_configured: (o) =>
    new AppError('provider_not_configured', `${providerLabel(o.provider)} is not configured on this server, so it cannot be asked to refund.`, 409),
};

export function createOrdersConsole(deps: OrdersConsoleDeps): OrdersConsole {
  const { database, payments } = deps;

  async function load(id: string): Promise<OrderRow> {
    const order = UUID.test(id) ? await getOrder(database, id.toLowerCase()) : null;
    if (!order) throw notFound('That order');
    return order;
  }

  const emailOf = async (o: OrderRow) => (o.userId ? (await emailsOf(database, [o.userId])).get(o.userId) : undefined);

  function refundBlocker(o: OrderRow, userStatus: string | null): RefundBlocker | null {
    if (!o.paymentRef || !o.paidAt || o.status === 'pending' || o.status === 'failed' || o.status === 'expired') return 'not_paid';
    if (o.status === 'disputed') return 'disputed';
    if (o.status === 'refunded' || o.refundedMinor >= paidBase(o)) return 'refunded';
    if (userStatus === 'terminated') return 'account_terminated';
    if (DASHBOARD_REFUNDS.has(o.provider)) return 'provider_dashboard';
    if (!payments.has(o.provider)) return 'provider_not_configured';
    return null;
  }

  const providerError = (o: OrderRow, what: string, err: PaymentProviderError) =>
    new AppError('payment_provider_error', `${providerLabel(o.provider)} ${what}: ${err.message}. Nothing was changed here.`, 502);

  const snapshot = (o: OrderRow) => ({ status: o.status, refundedMinor: o.refundedMinor, creditsClawedBack: o.creditsClawedBack });

  return {
    async list(q) {
      const page = await listOrders(database, {
        status: q.status,
        provider: q.provider,
        currency: q.currency,
        q: q.q,
        from: dateBound(q.from, false),
        to: dateBound(q.to, true),
        cursor: q.cursor,
        limit: q.limit,
      });
      if (!page) throw new AppError('invalid_request', 'cursor is not valid.', 400);
      const emails = await emailsOf(
        database,
        page.items.flatMap((o) => (o.userId ? [o.userId] : [])),
      );
      return { orders: page.items.map((o) => toRow(o, o.userId ? emails.get(o.userId) : undefined)), nextCursor: page.nextCursor };
    },

    async detail(id) {
      const order = await load(id);
      const [user, events, ledger] = await Promise.all([
        order.userId ? buyerOf(database, order.userId) : null,
        orderEvents(database, order),
        orderLedger(database, order),
      ]);
      const blocker = refundBlocker(order, user?.status ?? null);
      return {
        order: toFull(order, user?.email),
        user,
        events: events.map((e) => ({
          eventId: e.eventId,
          type: e.type,
          state: e.state,
          amountMinor: eventAmount(e),
          waitingFor: e.waitingFor,
          attempts: e.attempts,
          receivedAt: e.receivedAt.toISOString(),
          appliedAt: iso(e.appliedAt),
        })),
        ledger: ledger.map(toLedgerView),
        refund: { remainingMinor: Math.max(0, paidBase(order) - order.refundedMinor), blocker },
        reconcilable: payments.has(order.provider) && payments.get(order.provider).listEventsSince !== undefined,
      };
    },

    async refund(actor, id, input) {
      const order = await load(id);
      const key = input.idempotencyKey;
      if (key) {
        // read after the order: a refund booked with this key is in the log by then (same transaction)
        const earlier = await refundByKey(database, order.id, key);
        if (earlier) {
          const made = (earlier.after ?? {}) as { requestedMinor?: number | null; refundAmountMinor?: number };
          if ((made.requestedMinor ?? null) !== (input.amountMinor ?? null)) {
            throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used for another refund. Use a new key for a new refund.', 409);
          }
          return { order: toFull(order, await emailOf(order)), refundedNowMinor: made.refundAmountMinor ?? 0, replayed: true };
        }
      }
      const buyer = order.userId ? await buyerOf(database, order.userId) : null;
      const blocker = refundBlocker(order, buyer?.status ?? null);
      if (blocker) throw blockerErrors[blocker](order);
      const remaining = paidBase(order) - order.refundedMinor;
      if (input.amountMinor !== undefined && input.amountMinor > remaining) {
        throw new AppError(
          'over_refund',
          `At most ${remaining} can be refunded (${order.currency.toUpperCase()} minor units): ${order.refundedMinor} of ${paidBase(order)} were refunded already.`,
          409,
        );
      }
      const before = snapshot(order);
      const booked: { refund?: { refundRef: string; amountMinor: number } } = {};
      let after: OrderRow;
      try {
        after = await deps.billing().refund(order.id, input.amountMinor, {
          idempotencyKey: key,
          onBooked: async (tx, refund) => {
            booked.refund = refund;
            const now = (await getOrder(tx, order.id)) ?? order;
            await deps.audit().record(
              actor,
              {
                action: 'order.refund',
                targetType: 'order',
                targetId: order.id,
                reason: input.reason,
                before,
                after: {
                  ...snapshot(now),
                  clawbackShortfall: now.clawbackShortfall,
                  refundAmountMinor: refund.amountMinor,
                  requestedMinor: input.amountMinor ?? null,
                  currency: order.currency,
                  provider: order.provider,
                  refundRef: refund.refundRef,
                  idempotencyKey: key ?? null,
                },
              },
              tx,
            );
          },
        });
      } catch (err) {
        // a refund booked meanwhile by another request explains a refusal: say so instead
        const now =
          err instanceof PaymentProviderError || (err instanceof AppError && err.code === 'invalid_request') ? await getOrder(database, order.id) : null;
        if (now && now.refundedMinor !== order.refundedMinor) {
          throw now.refundedMinor >= paidBase(now)
            ? blockerErrors.refunded(now)
            : new AppError('order_changed', 'Another refund of this order was booked meanwhile. Reload the order and check what is left to refund.', 409);
        }
        if (err instanceof PaymentProviderError) throw providerError(order, 'refused the refund', err);
        throw err;
      }
      return {
        order: toFull(after, buyer?.email),
        refundedNowMinor: booked.refund?.amountMinor ?? input.amountMinor ?? remaining,
        // another identical request booked it: this one changed nothing
        replayed: booked.refund === undefined,
      };
    },

    async reconcileOrder(actor, id) {
      const order = await load(id);
      let result;
      try {
        result = await deps.billing().reconcileOrder(order.id);
      } catch (err) {
        if (err instanceof PaymentProviderError) throw providerError(order, 'could not be asked about the order', err);
        throw err;
      }
      const state = (o: OrderRow) => ({
        status: o.status,
        paidMinor: o.paidMinor,
        refundedMinor: o.refundedMinor,
        creditsGranted: o.creditsGranted,
        creditsClawedBack: o.creditsClawedBack,
      });
      await deps.audit().record(actor, {
        action: 'order.reconcile',
        targetType: 'order',
        targetId: order.id,
        before: state(order),
        after: { ...state(result.order), fetched: result.fetched, matched: result.matched, applied: result.applied },
      });
      return {
        order: toFull(result.order, await emailOf(result.order)),
        fetched: result.fetched,
        matched: result.matched,
        applied: result.applied,
        since: result.since.toISOString(),
      };
    },

    async reconcileAll(actor, opts) {
      const billing = deps.billing();
      let r;
      try {
        r = await billing.reconcile({ sinceHours: opts.sinceHours });
      } catch (err) {
        if (err instanceof PaymentProviderError)
          throw new AppError('payment_provider_error', `${providerLabel(err.provider)} could not be asked for its events: ${err.message}.`, 502);
        throw err;
      }
      const deferredApplied = await billing.retryDeferred();
      await deps.audit().record(actor, {
        action: 'billing.reconcile',
        targetType: 'billing',
        after: { sinceHours: opts.sinceHours, fetched: r.fetched, applied: r.applied, deferredApplied },
      });
      return { fetched: r.fetched, applied: r.applied, deferredApplied };
    },
  };
}
