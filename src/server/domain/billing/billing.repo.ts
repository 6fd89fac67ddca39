import type { DbHandle } from '../../db/client';
import type { OrderStatus } from '../../../shared/api/billing';
import { builtinPlans } from './plans-data';

/** SQL for plans, orders, subscriptions and recorded payment events. */

export interface PlanRow {
  id: string;
  name: string;
  kind: 'pack' | 'subscription';
  credits: number;
  interval: 'month' | 'year' | null;
  rollover: boolean;
  prices: Record<string, number>;
  providerRefs: { stripePriceId?: string; creemProductId?: string };
  active: boolean;
  highlighted: boolean;
  sort: number;
}

export interface OrderRow {
  id: string;
  userId: string | null;
  planId: string;
  planName: string;
  kind: 'pack' | 'subscription' | 'renewal';
  credits: number;
  amountMinor: number;
  currency: string;
  provider: string;
  checkoutRef: string | null;
  paymentRef: string | null;
  invoiceRef: string | null;
  subscriptionId: string | null;
  status: OrderStatus;
  paidMinor: number;
  refundedMinor: number;
  creditsGranted: number;
  creditsClawedBack: number;
  clawbackShortfall: number;
  checkoutEmail: string | null;
  receiptNumber: string | null;
  periodStart: Date | null;
  periodEnd: Date | null;
  createdAt: Date;
  updatedAt: Date;
  paidAt: Date | null;
}

export interface SubscriptionRow {
  id: string;
  userId: string | null;
  planId: string;
  provider: string;
  providerRef: string;
  status: 'active' | 'past_due' | 'canceled' | 'expired';
  currentPeriodStart: Date | null;
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  createdAt: Date;
}

type Raw = Record<string, unknown>;
const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T));

export function mapPlan(r: Raw): PlanRow {
  return {
    id: r.id as string,
    name: r.name as string,
    kind: r.kind as PlanRow['kind'],
    credits: Number(r.credits),
    interval: (r.interval as PlanRow['interval']) ?? null,
    rollover: Boolean(r.rollover),
    prices: json<Record<string, number>>(r.prices),
    providerRefs: json<PlanRow['providerRefs']>(r.provider_refs) ?? {},
    active: Boolean(r.active),
    highlighted: Boolean(r.highlighted),
    sort: Number(r.sort),
  };
}

export function mapOrder(r: Raw): OrderRow {
  return {
    id: r.id as string,
    userId: (r.user_id as string | null) ?? null,
    planId: r.plan_id as string,
    planName: r.plan_name as string,
    kind: r.kind as OrderRow['kind'],
    credits: Number(r.credits),
    amountMinor: Number(r.amount_minor),
    currency: r.currency as string,
    provider: r.provider as string,
    checkoutRef: (r.checkout_ref as string | null) ?? null,
    paymentRef: (r.payment_ref as string | null) ?? null,
    invoiceRef: (r.invoice_ref as string | null) ?? null,
    subscriptionId: (r.subscription_id as string | null) ?? null,
    status: r.status as OrderStatus,
    paidMinor: Number(r.paid_minor),
    refundedMinor: Number(r.refunded_minor),
    creditsGranted: Number(r.credits_granted),
    creditsClawedBack: Number(r.credits_clawed_back),
    clawbackShortfall: Number(r.clawback_shortfall),
    checkoutEmail: (r.checkout_email as string | null) ?? null,
    receiptNumber: (r.receipt_number as string | null) ?? null,
    periodStart: date(r.period_start),
    periodEnd: date(r.period_end),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
    paidAt: date(r.paid_at),
  };
}

export function mapSubscription(r: Raw): SubscriptionRow {
  return {
    id: r.id as string,
    userId: (r.user_id as string | null) ?? null,
    planId: r.plan_id as string,
    provider: r.provider as string,
    providerRef: r.provider_ref as string,
    status: r.status as SubscriptionRow['status'],
    currentPeriodStart: date(r.current_period_start),
    currentPeriodEnd: date(r.current_period_end),
    cancelAtPeriodEnd: Boolean(r.cancel_at_period_end),
    createdAt: new Date(r.created_at as string),
  };
}

/** Insert the built-in plans that are not in the table yet (an operator's changes are kept). */
export async function seedPlans(db: DbHandle): Promise<void> {
  for (const p of builtinPlans) {
    await db.sql.query(
      `insert into plans (id, name, kind, credits, interval, rollover, prices, highlighted, sort)
       values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) on conflict (id) do nothing`,
      [p.id, p.name, p.kind, p.credits, p.interval ?? null, p.rollover ?? false, JSON.stringify(p.prices), p.highlighted ?? false, p.sort],
    );
  }
}

export async function listPlans(db: DbHandle, opts: { activeOnly: boolean }): Promise<PlanRow[]> {
  const rows = await db.sql.query(`select * from plans ${opts.activeOnly ? 'where active' : ''} order by sort, id`);
  return rows.map(mapPlan);
}

export async function getPlan(db: DbHandle, id: string): Promise<PlanRow | null> {
  const rows = await db.sql.query('select * from plans where id = $1', [id]);
  return rows[0] ? mapPlan(rows[0]) : null;
}

export async function getOrder(db: DbHandle, id: string, opts: { forUpdate?: boolean } = {}): Promise<OrderRow | null> {
  const rows = await db.sql.query(`select * from orders where id = $1 ${opts.forUpdate ? 'for update' : ''}`, [id]);
  return rows[0] ? mapOrder(rows[0]) : null;
}

/** The order a provider event names: by our id, by the checkout, or by the payment. Locked. */
export async function findOrderForEvent(
  db: DbHandle,
  provider: string,
  by: { orderId?: string | undefined; checkoutRef?: string | undefined; paymentRef?: string | undefined },
): Promise<OrderRow | null> {
  if (by.orderId && /^[0-9a-f-]{36}$/i.test(by.orderId)) {
    const rows = await db.sql.query('select * from orders where id = $1 and provider = $2 for update', [by.orderId, provider]);
    if (rows[0]) return mapOrder(rows[0]);
  }
  if (by.checkoutRef) {
    const rows = await db.sql.query('select * from orders where provider = $1 and checkout_ref = $2 for update', [provider, by.checkoutRef]);
    if (rows[0]) return mapOrder(rows[0]);
  }
  if (by.paymentRef) {
    const rows = await db.sql.query('select * from orders where provider = $1 and payment_ref = $2 order by created_at limit 1 for update', [provider, by.paymentRef]);
    if (rows[0]) return mapOrder(rows[0]);
  }
  return null;
}

export async function getSubscriptionByRef(db: DbHandle, provider: string, ref: string): Promise<SubscriptionRow | null> {
  const rows = await db.sql.query('select * from subscriptions where provider = $1 and provider_ref = $2 for update', [provider, ref]);
  return rows[0] ? mapSubscription(rows[0]) : null;
}

/** The user's subscription that still runs (or ends at the period end), newest first. */
export async function currentSubscription(db: DbHandle, userId: string): Promise<SubscriptionRow | null> {
  const rows = await db.sql.query(`select * from subscriptions where user_id = $1 and status in ('active', 'past_due') order by created_at desc limit 1`, [userId]);
  return rows[0] ? mapSubscription(rows[0]) : null;
}

/** Columns an order update may set. */
const orderColumns = new Set([
  'status',
  'payment_ref',
  'checkout_ref',
  'paid_minor',
  'refunded_minor',
  'credits_granted',
  'credits_clawed_back',
  'clawback_shortfall',
  'checkout_email',
  'receipt_number',
  'subscription_id',
  'period_start',
  'period_end',
  'paid_at',
]);

export async function updateOrder(db: DbHandle, id: string, set: Record<string, unknown>): Promise<OrderRow> {
  const params: unknown[] = [id];
  const assignments = ['updated_at = now()'];
  for (const [column, value] of Object.entries(set)) {
    if (!orderColumns.has(column)) throw new Error(`not an order column: ${column}`);
    if (value && typeof value === 'object' && 'sql' in value) {
      assignments.push(`${column} = ${(value as { sql: string }).sql}`);
      continue;
    }
    params.push(value instanceof Date ? value.toISOString() : value);
    assignments.push(`${column} = $${params.length}`);
  }
  const rows = await db.sql.query(`update orders set ${assignments.join(', ')} where id = $1 returning *`, params);
  return mapOrder(rows[0]!);
}
