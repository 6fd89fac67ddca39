import { and, asc, eq, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { DbHandle } from '../../db/client';
import { keysetPage, type KeysetPage } from '../../db/keyset.repo';
import { rowMapper } from '../../db/rows';
import { auditLog, creditLedger, orders, paymentEvents, users } from '../../db/schema';
import type { OrderRow } from '../billing/billing.repo';

/** SQL for the console's orders section (issue 18): the filtered list, an order's events and ledger rows. */

export type PaymentEventRow = typeof paymentEvents.$inferSelect;
export type LedgerRow = typeof creditLedger.$inferSelect;

export interface OrderFilter {
  status?: string | undefined;
  provider?: string | undefined;
  currency?: string | undefined;
  /** what the search box holds (see `searchCondition`) */
  q?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  cursor?: string | undefined;
  limit: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RECEIPT = /^SS-\d{4}-\d+$/i;

/**
 * The search box, by the shape of what was typed, so that each case uses an index: an email (the
 * account's or the one used at checkout), a uuid (the order or the buyer's account), a receipt
 * number, or else a provider's reference (payment, checkout, invoice).
 */
function searchCondition(q: string, param: (v: unknown) => string): string {
  if (q.includes('@')) {
    const p = param(q);
    return `(user_id in (select id from users where lower(email) = lower(${p})) or lower(checkout_email) = lower(${p}))`;
  }
  if (UUID.test(q)) {
    const p = param(q.toLowerCase());
    return `(id = ${p} or user_id = ${p})`;
  }
  if (RECEIPT.test(q)) return `receipt_number = ${param(q.toUpperCase())}`;
  const p = param(q);
  return `(payment_ref = ${p} or checkout_ref = ${p} or invoice_ref = ${p} or receipt_number = ${p})`;
}

const orderFromRow = rowMapper(orders);

/** Orders matching the filter, newest first (keyset on created_at, id); null for a malformed cursor. */
export async function listOrders(db: DbHandle, f: OrderFilter): Promise<KeysetPage<OrderRow> | null> {
  const params: unknown[] = [];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where = ['true'];
  if (f.status) where.push(`status = ${param(f.status)}`);
  if (f.provider) where.push(`provider = ${param(f.provider)}`);
  if (f.currency) where.push(`currency = ${param(f.currency)}`);
  if (f.from) where.push(`created_at >= ${param(f.from.toISOString())}::timestamptz`);
  if (f.to) where.push(`created_at < ${param(f.to.toISOString())}::timestamptz`);
  if (f.q) where.push(searchCondition(f.q, param));
  return keysetPage(db, { table: 'orders', where, params, limit: f.limit, cursor: f.cursor, map: orderFromRow });
}

/** Emails of these accounts (the buyers shown in a list). */
export async function emailsOf(db: DbHandle, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map();
  const rows = await db.db
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(inArray(users.id, [...new Set(ids)]));
  return new Map(rows.map((r) => [r.id, r.email]));
}

export async function buyerOf(db: DbHandle, userId: string) {
  const [row] = await db.db
    .select({ id: users.id, email: users.email, name: users.name, status: users.status, billingFlag: users.billingFlag })
    .from(users)
    .where(eq(users.id, userId));
  return row ?? null;
}

/**
 * The order's events: those applied to it, and those still deferred waiting for one of its
 * references (a refund that arrived before the payment), oldest first.
 */
export async function orderEvents(db: DbHandle, order: Pick<OrderRow, 'id' | 'provider' | 'checkoutRef' | 'paymentRef'>): Promise<PaymentEventRow[]> {
  const refs = [order.checkoutRef, order.paymentRef].filter((r): r is string => !!r);
  const byOrder = eq(paymentEvents.orderId, order.id);
  const waiting = refs.length
    ? and(eq(paymentEvents.provider, order.provider), eq(paymentEvents.state, 'deferred'), inArray(paymentEvents.waitingFor, refs))
    : undefined;
  return db.db
    .select()
    .from(paymentEvents)
    .where(waiting ? or(byOrder, waiting) : byOrder)
    .orderBy(asc(paymentEvents.receivedAt), asc(paymentEvents.eventId))
    .limit(500);
}

/** The credit ledger rows an order caused (purchase, clawback), oldest first. */
export async function orderLedger(db: DbHandle, order: Pick<OrderRow, 'id' | 'userId'>): Promise<LedgerRow[]> {
  const reference = eq(creditLedger.reference, `order:${order.id}`);
  return db.db
    .select()
    .from(creditLedger)
    .where(order.userId ? and(eq(creditLedger.userId, order.userId), reference) : and(isNull(creditLedger.userId), reference))
    .orderBy(asc(creditLedger.id))
    .limit(500);
}

/** The audit entry of the refund an Idempotency-Key made on this order, if any. */
export async function refundByKey(db: DbHandle, orderId: string, key: string): Promise<{ after: unknown } | null> {
  const conditions: SQL[] = [
    eq(auditLog.targetType, 'order'),
    eq(auditLog.targetId, orderId),
    eq(auditLog.action, 'order.refund'),
    sql`${auditLog.after}->>'idempotencyKey' = ${key}`,
  ];
  const [row] = await db.db
    .select({ after: auditLog.after })
    .from(auditLog)
    .where(and(...conditions))
    .limit(1);
  return row ?? null;
}
