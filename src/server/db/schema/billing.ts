import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgSequence, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { PaymentEvent } from '../../adapters/payments/payment';
import { users } from './users';

export const planKinds = ['pack', 'subscription'] as const;
export const orderKinds = ['pack', 'subscription', 'renewal'] as const;
export const orderStatuses = ['pending', 'paid', 'failed', 'expired', 'refunded', 'partially_refunded', 'disputed'] as const;
export const subscriptionStatuses = ['active', 'past_due', 'canceled', 'expired'] as const;
export const paymentEventStates = ['applied', 'deferred', 'ignored'] as const;
/** the provider's own ids of a plan, where the operator set them */
export interface PlanProviderRefs {
  stripePriceId?: string;
  creemProductId?: string;
}
const inList = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/** Receipt numbers: gapless enough for humans, unique for the law (`SS-2026-000042`). */
export const receiptNumberSeq = pgSequence('receipt_number_seq', { startWith: 1 });

/**
 * What can be bought: one-time credit packs and monthly/yearly subscriptions, with a price per
 * currency (minor units). Built-in plans are seeded once; operators change them with the CLI.
 */
export const plans = pgTable(
  'plans',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    kind: text('kind', { enum: planKinds }).notNull(),
    credits: integer('credits').notNull(),
    interval: text('interval').$type<'month' | 'year'>(),
    /** subscriptions: unused credits of a period carry over (false: they expire at its end) */
    rollover: boolean('rollover').notNull().default(false),
    /** {usd: 999, eur: 899}: minor units per lowercase currency */
    prices: jsonb('prices').$type<Record<string, number>>().notNull(),
    /** the provider's own ids where the operator set them: {stripePriceId, creemProductId} */
    providerRefs: jsonb('provider_refs')
      .$type<PlanProviderRefs>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    active: boolean('active').notNull().default(true),
    highlighted: boolean('highlighted').notNull().default(false),
    /** subscribers' API requests per minute (unset: API_RATE_PER_MINUTE) */
    apiRequestsPerMinute: integer('api_requests_per_minute'),
    sort: integer('sort').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('plans_kind_check', sql.raw(`kind in (${inList(planKinds)})`)), check('plans_credits_check', sql`${t.credits} > 0`)],
);

/**
 * One purchase (privacy policy 1.3): plan, amount, currency, provider and its references, status,
 * refunds, the email used at checkout. Never a card number or a wallet secret.
 */
export const orders = pgTable(
  'orders',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** the deleted account's pseudonym (account_deletions.subject_ref): kept for the tax period without the link */
    subjectRef: text('subject_ref'),
    planId: text('plan_id').notNull(),
    planName: text('plan_name').notNull(),
    kind: text('kind', { enum: orderKinds }).notNull(),
    credits: integer('credits').notNull(),
    amountMinor: bigint('amount_minor', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    provider: text('provider').notNull(),
    /** the provider's checkout id (Stripe session, Creem checkout, NOWPayments invoice) */
    checkoutRef: text('checkout_ref'),
    /** what refunds and disputes name (payment intent, transaction, payment id) */
    paymentRef: text('payment_ref'),
    /** renewals: the provider's id of the period's invoice/transaction */
    invoiceRef: text('invoice_ref'),
    subscriptionId: text('subscription_id'),
    status: text('status', { enum: orderStatuses }).notNull().default('pending'),
    /** what was actually received (a partial crypto payment is less than amount_minor) */
    paidMinor: bigint('paid_minor', { mode: 'number' }).notNull().default(0),
    refundedMinor: bigint('refunded_minor', { mode: 'number' }).notNull().default(0),
    /** credits granted for it, and taken back after refunds or disputes */
    creditsGranted: integer('credits_granted').notNull().default(0),
    creditsClawedBack: integer('credits_clawed_back').notNull().default(0),
    /** credits a clawback could not take because they were spent */
    clawbackShortfall: integer('clawback_shortfall').notNull().default(0),
    checkoutEmail: text('checkout_email'),
    /** the address the checkout was started from (velocity rules) */
    checkoutIp: text('checkout_ip'),
    /** an HMAC of the card's (Stripe) or payer's (NOWPayments) fingerprint: many accounts per card */
    paymentFingerprint: text('payment_fingerprint'),
    /** Stripe Radar's outcome on the charge, when present: `outcome.type` and `outcome.risk_level` */
    riskOutcome: text('risk_outcome'),
    riskLevel: text('risk_level'),
    receiptNumber: text('receipt_number'),
    periodStart: timestamp('period_start', { withTimezone: true }),
    periodEnd: timestamp('period_end', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    paidAt: timestamp('paid_at', { withTimezone: true }),
  },
  (t) => [
    check('orders_kind_check', sql.raw(`kind in (${inList(orderKinds)})`)),
    check('orders_status_check', sql.raw(`status in (${inList(orderStatuses)})`)),
    check('orders_amount_check', sql`${t.amountMinor} >= 0 and ${t.refundedMinor} >= 0`),
    uniqueIndex('orders_checkout_ref_idx').on(t.provider, t.checkoutRef),
    uniqueIndex('orders_invoice_ref_idx').on(t.provider, t.invoiceRef),
    index('orders_payment_ref_idx').on(t.provider, t.paymentRef),
    index('orders_user_created_idx').on(t.userId, t.createdAt, t.id),
    /** the console's list of every order, newest first */
    index('orders_created_idx').on(t.createdAt, t.id),
    uniqueIndex('orders_receipt_number_idx').on(t.receiptNumber),
    /** velocity rules: orders per card and per address lately */
    index('orders_payment_fingerprint_idx')
      .on(t.paymentFingerprint, t.createdAt)
      .where(sql`payment_fingerprint is not null`),
    index('orders_checkout_ip_idx')
      .on(t.checkoutIp, t.createdAt)
      .where(sql`checkout_ip is not null`),
    /** the dashboard's revenue (migration 0011) */
    index('orders_paid_idx')
      .on(t.paidAt)
      .where(sql`paid_at is not null`),
  ],
);

export const subscriptions = pgTable(
  'subscriptions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** the deleted account's pseudonym (account_deletions.subject_ref): kept for the tax period without the link */
    subjectRef: text('subject_ref'),
    planId: text('plan_id').notNull(),
    provider: text('provider').notNull(),
    providerRef: text('provider_ref').notNull(),
    status: text('status', { enum: subscriptionStatuses }).notNull().default('active'),
    currentPeriodStart: timestamp('current_period_start', { withTimezone: true }),
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('subscriptions_status_check', sql.raw(`status in (${inList(subscriptionStatuses)})`)),
    uniqueIndex('subscriptions_provider_ref_idx').on(t.provider, t.providerRef),
    index('subscriptions_user_idx').on(t.userId),
  ],
);

/**
 * Every verified provider event, recorded by its id in the same transaction as its effect: a
 * replayed, duplicated or concurrent delivery finds the row and does nothing. An event that
 * depends on one not seen yet (a refund before the payment) is kept `deferred` and applied when
 * its order appears, or by the retry job.
 */
export const paymentEvents = pgTable(
  'payment_events',
  {
    provider: text('provider').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    state: text('state', { enum: paymentEventStates }).notNull(),
    /** the normalized event (PaymentEvent), to apply a deferred one later */
    event: jsonb('event').$type<PaymentEvent>().notNull(),
    /** the order it concerns, once known */
    orderId: text('order_id'),
    /** what a deferred event waits for (a payment ref, a subscription ref) */
    waitingFor: text('waiting_for'),
    attempts: integer('attempts').notNull().default(0),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    appliedAt: timestamp('applied_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('payment_events_pk').on(t.provider, t.eventId),
    check('payment_events_state_check', sql.raw(`state in (${inList(paymentEventStates)})`)),
    index('payment_events_waiting_idx')
      .on(t.provider, t.waitingFor)
      .where(sql`state = 'deferred'`),
    /** an order's events (the console's order page) */
    index('payment_events_order_idx')
      .on(t.orderId)
      .where(sql`order_id is not null`),
    /** the dashboard's refunds and disputes (migration 0011) */
    index('payment_events_takeback_idx')
      .on(t.appliedAt)
      .where(sql`state = 'applied' and type in ('payment.refunded', 'payment.disputed')`),
    index('payment_events_takeback_order_idx')
      .on(t.orderId, t.appliedAt)
      .where(sql`state = 'applied' and type in ('payment.refunded', 'payment.disputed')`),
  ],
);
