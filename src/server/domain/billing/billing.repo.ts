import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { PaymentEvent } from '../../adapters/payments';
import type { DbHandle } from '../../db/client';
import { keysetPage, type KeysetPage } from '../../db/keyset.repo';
import { rowMapper } from '../../db/rows';
import { orders, paymentEvents, plans, subscriptions, users } from '../../db/schema';
import { findUserStatus } from '../users/users.repo';
import { builtinPlans, seedColumns } from './plans-data';

/**
 * SQL for plans, orders, subscriptions and recorded payment events. Every time a statement writes or
 * compares is the caller's (`at` / `now`, read from the Clock), never the database's `now()`: paid_at,
 * updated_at, applied_at, the receipt's year, an order's start (created_at, from which an abandoned
 * checkout expires) and an event's arrival (received_at, from which a deferred event is retried).
 * Only created_at columns that merely order rows are left to the database.
 */

export type PlanRow = typeof plans.$inferSelect;
export type OrderRow = typeof orders.$inferSelect;
export type SubscriptionRow = typeof subscriptions.$inferSelect;
type NewOrder = typeof orders.$inferInsert;
/** An order that was paid: it has its payment date and receipt number. */
export type PaidOrder = OrderRow & { paidAt: Date; receiptNumber: string };
type NewSubscription = typeof subscriptions.$inferInsert;

/** What an order update may change (updated_at is always set). */
export type OrderChanges = Partial<
  Pick<
    NewOrder,
    | 'status'
    | 'paymentRef'
    | 'checkoutRef'
    | 'paidMinor'
    | 'refundedMinor'
    | 'creditsGranted'
    | 'creditsClawedBack'
    | 'clawbackShortfall'
    | 'checkoutEmail'
    | 'subscriptionId'
    | 'periodStart'
    | 'periodEnd'
  >
>;

/**
 * The next receipt number, `SS-2026-000042` (the year of `at`, in UTC): the sequence is gapless enough
 * for humans and unique for the law.
 */
const nextReceiptNumber = (at: Date) => sql`${`SS-${String(at.getUTCFullYear())}-`}::text || lpad(nextval('receipt_number_seq')::text, 6, '0')`;

// ---------------------------------------------------------------------------------------------
// plans

/** Insert the built-in plans that are not in the table yet (an operator's changes are kept). */
export async function seedPlans(db: DbHandle): Promise<void> {
  for (const p of builtinPlans) {
    await db.db.insert(plans).values(seedColumns(p)).onConflictDoNothing({ target: plans.id });
  }
}

export async function listPlans(db: DbHandle, opts: { activeOnly: boolean }): Promise<PlanRow[]> {
  return db.db
    .select()
    .from(plans)
    .where(opts.activeOnly ? eq(plans.active, true) : undefined)
    .orderBy(asc(plans.sort), asc(plans.id));
}

export async function getPlan(db: DbHandle, id: string): Promise<PlanRow | null> {
  const [row] = await db.db.select().from(plans).where(eq(plans.id, id));
  return row ?? null;
}

/** Everything an operator sets on a plan (plans:set). */
export type PlanSettings = Omit<PlanRow, 'createdAt' | 'updatedAt'>;

/** Operators: creates the plan, or replaces every setting of an existing one. */
export async function savePlan(db: DbHandle, p: PlanSettings, at: Date): Promise<PlanRow> {
  const { id: _id, ...settings } = p;
  const [row] = await db.db
    .insert(plans)
    .values({ ...p, createdAt: at, updatedAt: at })
    .onConflictDoUpdate({ target: plans.id, set: { ...settings, updatedAt: at } })
    .returning();
  if (!row) throw new Error('the plan upsert returned no row');
  return row;
}

// ---------------------------------------------------------------------------------------------
// orders

/** A checkout starting at `at` (an order still pending long after expires: expireAbandonedOrders). */
export async function insertPendingOrder(
  db: DbHandle,
  o: Pick<NewOrder, 'id' | 'userId' | 'planId' | 'planName' | 'kind' | 'credits' | 'amountMinor' | 'currency' | 'provider'> &
    Pick<Partial<NewOrder>, 'checkoutIp'>,
  at: Date,
): Promise<void> {
  await db.db.insert(orders).values({ ...o, createdAt: at, updatedAt: at });
}

/** A checkout the provider refused: the order fails unless something (a webhook) moved it on already. */
export async function failPendingOrder(db: DbHandle, id: string, at: Date): Promise<void> {
  await db.db
    .update(orders)
    .set({ status: 'failed', updatedAt: at })
    .where(and(eq(orders.id, id), eq(orders.status, 'pending')));
}

export async function getOrder(db: DbHandle, id: string): Promise<OrderRow | null> {
  const [row] = await db.db.select().from(orders).where(eq(orders.id, id));
  return row ?? null;
}

/** The order a provider event names: by our id, by the checkout, or by the payment. Locked. */
export async function findOrderForEvent(
  db: DbHandle,
  provider: string,
  by: { orderId?: string | undefined; checkoutRef?: string | undefined; paymentRef?: string | undefined },
): Promise<OrderRow | null> {
  const lockedFirst = async (where: ReturnType<typeof and>, oldestFirst = false) => {
    const [row] = await db.db
      .select()
      .from(orders)
      .where(where)
      .orderBy(...(oldestFirst ? [asc(orders.createdAt)] : []))
      .limit(1)
      .for('update');
    return row ?? null;
  };
  if (by.orderId && /^[0-9a-f-]{36}$/i.test(by.orderId)) {
    const row = await lockedFirst(and(eq(orders.id, by.orderId), eq(orders.provider, provider)));
    if (row) return row;
  }
  if (by.checkoutRef) {
    const row = await lockedFirst(and(eq(orders.provider, provider), eq(orders.checkoutRef, by.checkoutRef)));
    if (row) return row;
  }
  if (by.paymentRef) return lockedFirst(and(eq(orders.provider, provider), eq(orders.paymentRef, by.paymentRef)), true);
  return null;
}

/**
 * Changes an order at `at` and answers it as it is now. `firstPayment` also stamps paid_at and gives
 * the order its receipt number.
 */
export async function updateOrder(db: DbHandle, id: string, set: OrderChanges, at: Date, opts: { firstPayment?: boolean } = {}): Promise<OrderRow> {
  const [row] = await db.db
    .update(orders)
    .set({ ...set, ...(opts.firstPayment ? { paidAt: at, receiptNumber: nextReceiptNumber(at) } : {}), updatedAt: at })
    .where(eq(orders.id, id))
    .returning();
  if (!row) throw new Error(`order ${id} does not exist`);
  return row;
}

/** Whether an order of this subscription already covers the period ending at `periodEnd` (within a minute). */
export async function isPeriodCovered(db: DbHandle, subscriptionId: string, periodEnd: Date): Promise<boolean> {
  const rows = await db.sql.query(
    `select 1 from orders where subscription_id = $1 and period_end is not null
        and period_end between $2::timestamptz - interval '1 minute' and $2::timestamptz + interval '1 minute' limit 1`,
    [subscriptionId, periodEnd.toISOString()],
  );
  return rows.length > 0;
}

/** A renewal paid at `at`, with its receipt number; null when this invoice was recorded already. */
export async function insertRenewalOrder(
  db: DbHandle,
  o: Pick<
    NewOrder,
    | 'id'
    | 'userId'
    | 'planId'
    | 'planName'
    | 'credits'
    | 'amountMinor'
    | 'currency'
    | 'provider'
    | 'paymentRef'
    | 'invoiceRef'
    | 'subscriptionId'
    | 'periodStart'
    | 'periodEnd'
  >,
  at: Date,
): Promise<OrderRow | null> {
  const [row] = await db.db
    .insert(orders)
    .values({
      ...o,
      kind: 'renewal',
      status: 'paid',
      paidMinor: o.amountMinor,
      paidAt: at,
      receiptNumber: nextReceiptNumber(at),
      createdAt: at,
      updatedAt: at,
    })
    .onConflictDoNothing({ target: [orders.provider, orders.invoiceRef] })
    .returning();
  return row ?? null;
}

/** Credits the subscription's paid orders granted (less what was taken back) since the period started (a minute's slack). */
export async function creditsGrantedSince(db: DbHandle, subscriptionId: string, periodStart: Date): Promise<number> {
  const [row] = await db.sql.query<{ credits: string | number }>(
    `select coalesce(sum(credits_granted - credits_clawed_back), 0) as credits from orders
      where subscription_id = $1 and status = 'paid' and coalesce(period_start, paid_at) >= $2::timestamptz - interval '1 minute'`,
    [subscriptionId, periodStart.toISOString()],
  );
  return Number(row?.credits ?? 0);
}

/** Pending orders whose checkout started more than `hours` before `now` become expired; returns how many. */
export async function expireAbandonedOrders(db: DbHandle, hours: number, now: Date): Promise<number> {
  const rows = await db.db
    .update(orders)
    .set({ status: 'expired', updatedAt: now })
    .where(and(eq(orders.status, 'pending'), lt(orders.createdAt, new Date(now.getTime() - hours * 3600_000))))
    .returning({ id: orders.id });
  return rows.length;
}

const orderFromRow = rowMapper(orders);

/** The user's orders, newest first; null when the cursor is not valid. */
export async function userOrdersPage(db: DbHandle, userId: string, page: { limit: number; cursor?: string | undefined }): Promise<KeysetPage<OrderRow> | null> {
  return keysetPage(db, { table: 'orders', where: ['user_id = $1'], params: [userId], limit: page.limit, cursor: page.cursor, map: orderFromRow });
}

/** Operators: the latest orders, of one user (by email, any letter case) or of everyone. */
export async function latestOrders(db: DbHandle, opts: { email?: string | undefined; limit: number }): Promise<OrderRow[]> {
  if (opts.email === undefined) return db.db.select().from(orders).orderBy(desc(orders.createdAt)).limit(opts.limit);
  const rows = await db.db
    .select({ order: orders })
    .from(orders)
    .innerJoin(users, eq(users.id, orders.userId))
    .where(sql`lower(${users.email}) = lower(${opts.email})`)
    .orderBy(desc(orders.createdAt))
    .limit(opts.limit);
  return rows.map((r) => r.order);
}

// ---------------------------------------------------------------------------------------------
// subscriptions

/** The subscription a first checkout starts (the same provider reference again: the existing one). */
export async function upsertSubscription(
  db: DbHandle,
  s: Pick<NewSubscription, 'id' | 'userId' | 'planId' | 'provider' | 'providerRef' | 'currentPeriodStart' | 'currentPeriodEnd'>,
  at: Date,
): Promise<SubscriptionRow> {
  const [row] = await db.db
    .insert(subscriptions)
    .values({ ...s, updatedAt: at })
    .onConflictDoUpdate({ target: [subscriptions.provider, subscriptions.providerRef], set: { updatedAt: at } })
    .returning();
  if (!row) throw new Error('the subscription upsert returned no row');
  return row;
}

/** Locked until the transaction ends. */
export async function getSubscriptionByRef(db: DbHandle, provider: string, ref: string): Promise<SubscriptionRow | null> {
  const [row] = await db.db
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.provider, provider), eq(subscriptions.providerRef, ref)))
    .for('update');
  return row ?? null;
}

/** The user's subscription that still runs (or ends at the period end), newest first. */
export async function currentSubscription(db: DbHandle, userId: string): Promise<SubscriptionRow | null> {
  const [row] = await db.db
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.userId, userId), inArray(subscriptions.status, ['active', 'past_due'])))
    .orderBy(desc(subscriptions.createdAt))
    .limit(1);
  return row ?? null;
}

/** Canceled at the period end (it runs until then), or at once; the provider may move the period end. */
export async function cancelSubscriptionRow(db: DbHandle, id: string, c: { atPeriodEnd: boolean; periodEnd: Date | null }, at: Date): Promise<void> {
  await db.db
    .update(subscriptions)
    .set({
      cancelAtPeriodEnd: c.atPeriodEnd,
      ...(c.atPeriodEnd ? {} : { status: 'canceled' as const }),
      ...(c.periodEnd ? { currentPeriodEnd: c.periodEnd } : {}),
      updatedAt: at,
    })
    .where(eq(subscriptions.id, id));
}

/** Ended: expired, its period ending no later than `endedAt`. */
export async function endSubscription(db: DbHandle, id: string, endedAt: Date, at: Date): Promise<void> {
  await db.sql.query(
    `update subscriptions set status = 'expired', current_period_end = least(coalesce(current_period_end, $2::timestamptz), $2::timestamptz), updated_at = $3::timestamptz
      where id = $1`,
    [id, endedAt.toISOString(), at.toISOString()],
  );
}

/** A renewal moved the subscription to its next period. */
export async function startSubscriptionPeriod(db: DbHandle, id: string, period: { start: Date; end: Date }, at: Date): Promise<void> {
  await db.db
    .update(subscriptions)
    .set({ currentPeriodStart: period.start, currentPeriodEnd: period.end, status: 'active', updatedAt: at })
    .where(eq(subscriptions.id, id));
}

export async function markCancelAtPeriodEnd(db: DbHandle, id: string, at: Date): Promise<void> {
  await db.db.update(subscriptions).set({ cancelAtPeriodEnd: true, updatedAt: at }).where(eq(subscriptions.id, id));
}

// ---------------------------------------------------------------------------------------------
// payment events

/** A deferred event is retried by the job once it has waited this long (what it waits for may have come meanwhile). */
export const DEFERRED_RETRY_AFTER_MS = 30_000;

/** Records a provider event by its id, received at `at` (as applied; run() then sets what happened). False: it was recorded before. */
export async function recordPaymentEvent(db: DbHandle, provider: string, event: PaymentEvent, at: Date): Promise<boolean> {
  const rows = await db.db
    .insert(paymentEvents)
    .values({ provider, eventId: event.eventId, type: event.type, state: 'applied', event, receivedAt: at })
    .onConflictDoNothing({ target: [paymentEvents.provider, paymentEvents.eventId] })
    .returning({ eventId: paymentEvents.eventId });
  return rows.length > 0;
}

/** The event ran: applied (with the order it concerned, when there is one) or ignored. */
export async function setPaymentEventOutcome(
  db: DbHandle,
  provider: string,
  eventId: string,
  state: 'applied' | 'ignored',
  orderId: string | null,
  at: Date,
): Promise<void> {
  await db.db
    .update(paymentEvents)
    .set({
      state,
      ...(orderId ? { orderId } : {}),
      waitingFor: null,
      appliedAt: at,
      attempts: sql`${paymentEvents.attempts} + 1`,
    })
    .where(and(eq(paymentEvents.provider, provider), eq(paymentEvents.eventId, eventId)));
}

/** The event waits for `waitingFor` (a checkout, payment or subscription reference not seen yet). */
export async function deferPaymentEvent(db: DbHandle, provider: string, eventId: string, waitingFor: string): Promise<void> {
  await db.db
    .update(paymentEvents)
    .set({ state: 'deferred', waitingFor, attempts: sql`${paymentEvents.attempts} + 1` })
    .where(and(eq(paymentEvents.provider, provider), eq(paymentEvents.eventId, eventId)));
}

/** Deferred events waiting for any of `keys`, oldest first, locked (ones another transaction holds are skipped). */
export async function lockEventsWaitingFor(db: DbHandle, provider: string, keys: string[]): Promise<PaymentEvent[]> {
  const rows = await db.db
    .select({ event: paymentEvents.event })
    .from(paymentEvents)
    .where(and(eq(paymentEvents.provider, provider), eq(paymentEvents.state, 'deferred'), inArray(paymentEvents.waitingFor, keys)))
    .orderBy(asc(paymentEvents.receivedAt))
    .for('update', { skipLocked: true });
  return rows.map((r) => r.event);
}

/** Deferred events received more than 30 seconds before `now`, oldest first (at most 200). */
export async function dueDeferredEvents(db: DbHandle, now: Date): Promise<{ provider: string; event: PaymentEvent }[]> {
  return db.db
    .select({ provider: paymentEvents.provider, event: paymentEvents.event })
    .from(paymentEvents)
    .where(and(eq(paymentEvents.state, 'deferred'), lt(paymentEvents.receivedAt, new Date(now.getTime() - DEFERRED_RETRY_AFTER_MS))))
    .orderBy(asc(paymentEvents.receivedAt))
    .limit(200);
}

/** Locks one event while it is still deferred; false when it is not (applied meanwhile, or locked by another transaction). */
export async function lockDeferredEvent(db: DbHandle, provider: string, eventId: string): Promise<boolean> {
  const rows = await db.db
    .select({ eventId: paymentEvents.eventId })
    .from(paymentEvents)
    .where(and(eq(paymentEvents.provider, provider), eq(paymentEvents.eventId, eventId), eq(paymentEvents.state, 'deferred')))
    .for('update', { skipLocked: true });
  return rows.length > 0;
}

// ---------------------------------------------------------------------------------------------
// the buyer

/** Marks an account whose refunded or disputed credits were already spent. */
export async function setBillingFlag(db: DbHandle, userId: string, flag: 'refund_shortfall' | 'dispute_shortfall', at: Date): Promise<void> {
  await db.db.update(users).set({ billingFlag: flag, updatedAt: at }).where(eq(users.id, userId));
}

/** The repository as one value, so the billing service can be given another (tests: in memory). */
export const sqlBillingRepo = {
  listPlans,
  getPlan,
  savePlan,
  insertPendingOrder,
  failPendingOrder,
  getOrder,
  findOrderForEvent,
  updateOrder,
  isPeriodCovered,
  insertRenewalOrder,
  creditsGrantedSince,
  expireAbandonedOrders,
  userOrdersPage,
  latestOrders,
  upsertSubscription,
  getSubscriptionByRef,
  currentSubscription,
  cancelSubscriptionRow,
  endSubscription,
  startSubscriptionPeriod,
  markCancelAtPeriodEnd,
  recordPaymentEvent,
  setPaymentEventOutcome,
  deferPaymentEvent,
  lockEventsWaitingFor,
  dueDeferredEvents,
  lockDeferredEvent,
  setBillingFlag,
  /** a refund is refused to a terminated account */
  findUserStatus,
};
export type BillingRepo = typeof sqlBillingRepo;
