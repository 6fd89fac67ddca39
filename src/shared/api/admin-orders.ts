import { z } from 'zod';
import { orderStatuses, paymentProviders } from './billing';
import { ledgerEntryView } from './credits';
import { safeText } from './text';

/**
 * The console's orders section (issue 18): list and filter orders, an order's page with its payment
 * events and the credits it moved, refunds through the provider that took the money, and asking
 * the provider about one order (reconcile). Refunds and reconciliations are in the audit log.
 */

/** a form's empty field is the same as an absent one */
const emptyAsAbsent = (v: unknown) => (v === '' ? undefined : v);

/** A day (`2026-12-01`) or an instant (`2026-12-01T10:00:00Z`); a day as `to` includes that whole day. */
export const adminDateBound = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

export const ADMIN_ORDER_REASON_MAX = 2000;

export const adminOrdersQuery = z.object({
  status: z.preprocess(emptyAsAbsent, z.enum(orderStatuses).optional()),
  provider: z.preprocess(emptyAsAbsent, z.enum(paymentProviders).optional()),
  currency: z.preprocess(
    emptyAsAbsent,
    z
      .string()
      .regex(/^[a-zA-Z]{3}$/, { error: 'must be a 3-letter currency code such as usd' })
      .transform((c) => c.toLowerCase())
      .optional(),
  ),
  /** an order id, a receipt number, the buyer's email (account or checkout) or a provider reference (payment, checkout, invoice) */
  q: safeText().trim().max(320).default(''),
  /** made at or after */
  from: z.preprocess(emptyAsAbsent, adminDateBound.optional()),
  /** made before (a day: up to the end of that day) */
  to: z.preprocess(emptyAsAbsent, adminDateBound.optional()),
  /** the previous page's nextCursor */
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
export type AdminOrdersQuery = z.infer<typeof adminOrdersQuery>;

export const adminOrderRow = z.object({
  id: z.string(),
  createdAt: z.string(),
  paidAt: z.string().nullable(),
  status: z.enum(orderStatuses),
  provider: z.string(),
  planName: z.string(),
  kind: z.enum(['pack', 'subscription', 'renewal']),
  credits: z.number().int(),
  /** the price, in the currency's minor units (cents) */
  amountMinor: z.number().int(),
  /** what was received (a partial crypto payment is less than the price) */
  paidMinor: z.number().int(),
  refundedMinor: z.number().int(),
  currency: z.string(),
  receiptNumber: z.string().nullable(),
  checkoutEmail: z.string().nullable(),
  /** null when the account was deleted (the order is kept for the tax period under a pseudonym) */
  user: z.object({ id: z.string(), email: z.string() }).nullable(),
});
export type AdminOrderRow = z.infer<typeof adminOrderRow>;

export const adminOrderList = z.object({ orders: z.array(adminOrderRow), nextCursor: z.string().nullable() });
export type AdminOrderList = z.infer<typeof adminOrderList>;

export const adminOrderIdParams = z.object({ id: z.string().min(1).max(100) });

export const adminOrderFull = adminOrderRow.extend({
  planId: z.string(),
  updatedAt: z.string(),
  /** the provider's references: the checkout, the payment refunds and disputes name, a renewal's invoice */
  checkoutRef: z.string().nullable(),
  paymentRef: z.string().nullable(),
  invoiceRef: z.string().nullable(),
  subscriptionId: z.string().nullable(),
  periodStart: z.string().nullable(),
  periodEnd: z.string().nullable(),
  creditsGranted: z.number().int(),
  creditsClawedBack: z.number().int(),
  /** credits a refund or dispute could not take back because they were already spent */
  clawbackShortfall: z.number().int(),
  /** the deleted account's pseudonym */
  subjectRef: z.string().nullable(),
});
export type AdminOrderFull = z.infer<typeof adminOrderFull>;

export const adminPaymentEventStates = ['applied', 'deferred', 'ignored'] as const;

/** One provider event about the order, as recorded (received, applied, what happened). */
export const adminPaymentEvent = z.object({
  eventId: z.string(),
  /** our normalized type: checkout.paid, payment.refunded, payment.disputed, ... */
  type: z.string(),
  state: z.enum(adminPaymentEventStates),
  /** the amount the event named: paid, the refunded total, the disputed amount */
  amountMinor: z.number().int().nullable(),
  /** what a deferred event waits for */
  waitingFor: z.string().nullable(),
  attempts: z.number().int(),
  receivedAt: z.string(),
  appliedAt: z.string().nullable(),
});
export type AdminPaymentEvent = z.infer<typeof adminPaymentEvent>;

/** Why an order cannot be refunded here (null: it can). */
export const refundBlockers = ['not_paid', 'refunded', 'disputed', 'account_terminated', 'provider_dashboard', 'provider_not_configured'] as const;
export type RefundBlocker = (typeof refundBlockers)[number];

export const adminOrderDetail = z.object({
  order: adminOrderFull,
  user: z.object({ id: z.string(), email: z.string(), name: z.string(), status: z.string(), billingFlag: z.string().nullable() }).nullable(),
  events: z.array(adminPaymentEvent),
  /** the credit ledger rows the order caused (purchase, clawback) */
  ledger: z.array(ledgerEntryView),
  refund: z.object({
    /** what is left to refund, in minor units */
    remainingMinor: z.number().int(),
    blocker: z.enum(refundBlockers).nullable(),
  }),
  /** the provider has an events API to ask about this order */
  reconcilable: z.boolean(),
});
export type AdminOrderDetail = z.infer<typeof adminOrderDetail>;

export const adminRefundBody = z.strictObject({
  /** minor units (cents); absent: everything that is left */
  amountMinor: z.number().int().positive().max(1_000_000_000_000).optional(),
  reason: safeText().trim().min(3).max(ADMIN_ORDER_REASON_MAX),
});
export type AdminRefundBody = z.infer<typeof adminRefundBody>;

/** `Idempotency-Key`: the same key never refunds twice (the console sends one per refund dialog). */
export const adminRefundHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, { error: 'must be 1-200 visible ASCII characters' })
    .optional(),
});

export const adminRefundResult = z.object({
  order: adminOrderFull,
  /** the amount this request refunded; for a replay, what the first request with its key refunded */
  refundedNowMinor: z.number().int(),
  /** true when the Idempotency-Key had refunded already: nothing new happened */
  replayed: z.boolean(),
});
export type AdminRefundResult = z.infer<typeof adminRefundResult>;

export const adminReconcileResult = z.object({
  order: adminOrderFull,
  /** events the provider listed since the order was made */
  fetched: z.number().int(),
  /** of those, the ones about this order */
  matched: z.number().int(),
  /** of those, the ones we had missed, now applied */
  applied: z.number().int(),
  since: z.string(),
});
export type AdminReconcileResult = z.infer<typeof adminReconcileResult>;
