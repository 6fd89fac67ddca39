import type { PaymentEvent } from '../../adapters/payments';
import type { orders, paymentEvents } from '../../db/schema';
import { DEFERRED_RETRY_AFTER_MS, type OrderRow, type PlanRow, type SubscriptionRow } from './billing.repo';
import type { PaymentEventsRepo } from './payment-events';
import { builtinPlans, seedColumns } from './plans-data';

/**
 * A test double of what payment-event application asks the billing repository: plans, orders,
 * subscriptions and recorded events in memory, answering as the SQL does (lookups by reference,
 * conflicts on the unique keys, cumulative sums). Recorded events go through JSON like the jsonb
 * column, so a deferred event comes back with its dates as strings. Locks are not modelled. Times
 * are the caller's, as in the SQL; `now` stands for the database's own defaults (created_at of
 * plans, subscriptions and test orders).
 */

type PaymentEventRow = typeof paymentEvents.$inferSelect;
type NewOrder = typeof orders.$inferInsert;

export interface InMemoryBillingRepo extends PaymentEventsRepo {
  readonly plans: Map<string, PlanRow>;
  readonly orders: Map<string, OrderRow>;
  readonly subscriptions: Map<string, SubscriptionRow>;
  readonly events: PaymentEventRow[];
  readonly billingFlags: Map<string, string>;
  /** a pending order as checkout leaves it */
  addPendingOrder(o: Pick<OrderRow, 'id' | 'userId' | 'planId' | 'provider'> & Partial<OrderRow>): OrderRow;
}

const MINUTE = 60_000;

/** The row, or the error a foreign key would have raised. */
function must<T>(row: T | undefined, what: string): T {
  if (row === undefined) throw new Error(`${what} does not exist`);
  return row;
}

export function createInMemoryBillingRepo(opts: { now?: () => Date } = {}): InMemoryBillingRepo {
  const now = opts.now ?? (() => new Date());
  let receipts = 0;
  const plans = new Map<string, PlanRow>(
    builtinPlans.map((p) => [p.id, { ...seedColumns(p), providerRefs: {}, active: true, apiRequestsPerMinute: null, createdAt: now(), updatedAt: now() }]),
  );
  const orderRows = new Map<string, OrderRow>();
  const subscriptions = new Map<string, SubscriptionRow>();
  const events: PaymentEventRow[] = [];
  const billingFlags = new Map<string, string>();

  const receiptNumber = (at: Date) => `SS-${String(at.getUTCFullYear())}-${String(++receipts).padStart(6, '0')}`;
  const findEvent = (provider: string, eventId: string) => events.find((e) => e.provider === provider && e.eventId === eventId);

  function newOrder(o: NewOrder): OrderRow {
    const row: OrderRow = {
      subjectRef: null,
      checkoutRef: null,
      paymentRef: null,
      invoiceRef: null,
      subscriptionId: null,
      status: 'pending',
      paidMinor: 0,
      refundedMinor: 0,
      creditsGranted: 0,
      creditsClawedBack: 0,
      clawbackShortfall: 0,
      checkoutEmail: null,
      checkoutIp: null,
      paymentFingerprint: null,
      riskOutcome: null,
      riskLevel: null,
      receiptNumber: null,
      periodStart: null,
      periodEnd: null,
      paidAt: null,
      userId: null,
      createdAt: now(),
      updatedAt: now(),
      ...o,
    };
    orderRows.set(row.id, row);
    return row;
  }

  return {
    plans,
    orders: orderRows,
    subscriptions,
    events,
    billingFlags,
    addPendingOrder(o) {
      const plan = must(plans.get(o.planId), `plan ${o.planId}`);
      const amountMinor = must(plan.prices.usd, `a usd price of ${plan.id}`);
      return newOrder({ planName: plan.name, kind: plan.kind, credits: plan.credits, amountMinor, currency: 'usd', ...o });
    },

    async getPlan(_db, id) {
      return plans.get(id) ?? null;
    },
    async findOrderForEvent(_db, provider, by) {
      const all = [...orderRows.values()].filter((o) => o.provider === provider);
      if (by.orderId && /^[0-9a-f-]{36}$/i.test(by.orderId)) {
        const o = all.find((x) => x.id === by.orderId);
        if (o) return { ...o };
      }
      if (by.checkoutRef) {
        const o = all.find((x) => x.checkoutRef === by.checkoutRef);
        if (o) return { ...o };
      }
      if (by.paymentRef) {
        const o = all.filter((x) => x.paymentRef === by.paymentRef).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())[0];
        if (o) return { ...o };
      }
      return null;
    },
    async updateOrder(_db, id, set, at, o = {}) {
      const row = must(orderRows.get(id), `order ${id}`);
      Object.assign(row, set, { updatedAt: at }, o.firstPayment ? { paidAt: at, receiptNumber: receiptNumber(at) } : {});
      return { ...row };
    },
    async isPeriodCovered(_db, subscriptionId, periodEnd) {
      return [...orderRows.values()].some(
        (o) => o.subscriptionId === subscriptionId && o.periodEnd && Math.abs(o.periodEnd.getTime() - periodEnd.getTime()) <= MINUTE,
      );
    },
    async insertRenewalOrder(_db, o, at) {
      if ([...orderRows.values()].some((x) => x.provider === o.provider && x.invoiceRef === o.invoiceRef)) return null;
      const row = newOrder({
        ...o,
        kind: 'renewal',
        status: 'paid',
        paidMinor: o.amountMinor,
        paidAt: at,
        receiptNumber: receiptNumber(at),
        createdAt: at,
        updatedAt: at,
      });
      return { ...row };
    },
    async creditsGrantedSince(_db, subscriptionId, periodStart) {
      // coalesce(period_start, paid_at) >= $2 - 1 minute: a null on both sides is not counted, as in SQL
      const since = periodStart.getTime() - MINUTE;
      return [...orderRows.values()]
        .filter((o) => o.subscriptionId === subscriptionId && o.status === 'paid' && (o.periodStart ?? o.paidAt ?? new Date(NaN)).getTime() >= since)
        .reduce((sum, o) => sum + o.creditsGranted - o.creditsClawedBack, 0);
    },

    async upsertSubscription(_db, s, at) {
      const existing = [...subscriptions.values()].find((x) => x.provider === s.provider && x.providerRef === s.providerRef);
      if (existing) {
        existing.updatedAt = at;
        return { ...existing };
      }
      const row: SubscriptionRow = {
        userId: null,
        subjectRef: null,
        status: 'active',
        currentPeriodStart: null,
        currentPeriodEnd: null,
        cancelAtPeriodEnd: false,
        createdAt: now(),
        ...s,
        updatedAt: at,
      };
      subscriptions.set(row.id, row);
      return { ...row };
    },
    async getSubscriptionByRef(_db, provider, ref) {
      const row = [...subscriptions.values()].find((x) => x.provider === provider && x.providerRef === ref);
      return row ? { ...row } : null;
    },
    async cancelSubscriptionRow(_db, id, c, at) {
      const row = must(subscriptions.get(id), `subscription ${id}`);
      row.cancelAtPeriodEnd = c.atPeriodEnd;
      if (!c.atPeriodEnd) row.status = 'canceled';
      if (c.periodEnd) row.currentPeriodEnd = c.periodEnd;
      row.updatedAt = at;
    },
    async endSubscription(_db, id, endedAt, at) {
      const row = must(subscriptions.get(id), `subscription ${id}`);
      row.status = 'expired';
      row.currentPeriodEnd = new Date(Math.min(row.currentPeriodEnd?.getTime() ?? endedAt.getTime(), endedAt.getTime()));
      row.updatedAt = at;
    },
    async startSubscriptionPeriod(_db, id, period, at) {
      Object.assign(must(subscriptions.get(id), `subscription ${id}`), {
        currentPeriodStart: period.start,
        currentPeriodEnd: period.end,
        status: 'active',
        updatedAt: at,
      });
    },

    async recordPaymentEvent(_db, provider, event, at) {
      if (findEvent(provider, event.eventId)) return false;
      const stored = JSON.parse(JSON.stringify(event)) as PaymentEvent;
      events.push({
        provider,
        eventId: event.eventId,
        type: event.type,
        state: 'applied',
        event: stored,
        orderId: null,
        waitingFor: null,
        attempts: 0,
        receivedAt: at,
        appliedAt: null,
      });
      return true;
    },
    async setPaymentEventOutcome(_db, provider, eventId, state, orderId, at) {
      const e = must(findEvent(provider, eventId), `payment event ${eventId}`);
      Object.assign(e, { state, orderId: orderId ?? e.orderId, waitingFor: null, appliedAt: at, attempts: e.attempts + 1 });
    },
    async deferPaymentEvent(_db, provider, eventId, waitingFor) {
      const e = must(findEvent(provider, eventId), `payment event ${eventId}`);
      Object.assign(e, { state: 'deferred', waitingFor, attempts: e.attempts + 1 });
    },
    async lockEventsWaitingFor(_db, provider, keys) {
      return events
        .filter((e) => e.provider === provider && e.state === 'deferred' && e.waitingFor !== null && keys.includes(e.waitingFor))
        .map((e) => e.event);
    },
    async dueDeferredEvents(_db, at) {
      const before = at.getTime() - DEFERRED_RETRY_AFTER_MS;
      return events.filter((e) => e.state === 'deferred' && e.receivedAt.getTime() < before).map((e) => ({ provider: e.provider, event: e.event }));
    },
    async lockDeferredEvent(_db, provider, eventId) {
      return findEvent(provider, eventId)?.state === 'deferred';
    },
    async setBillingFlag(_db, userId, flag) {
      billingFlags.set(userId, flag);
    },
  };
}
