import { z } from 'zod';
import { safeText } from './text';

/** Plans, checkout, orders, receipts and the subscription: what the API answers and the web shows. */

export const paymentProviders = ['stripe', 'creem', 'nowpayments'] as const;
export type PaymentProviderName = (typeof paymentProviders)[number];

export const orderStatuses = ['pending', 'paid', 'failed', 'expired', 'refunded', 'partially_refunded', 'disputed'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export const planView = z.object({
  id: z.string(),
  /** product name (not translated) */
  name: z.string(),
  kind: z.enum(['pack', 'subscription']),
  /** credits bought (packs) or granted each paid period (subscriptions) */
  credits: z.number().int(),
  interval: z.enum(['month', 'year']).nullable(),
  /** subscriptions: unused credits carry over to the next period (otherwise they expire at its end) */
  rollover: z.boolean(),
  /** price per currency, in minor units: {usd: 999} */
  prices: z.record(z.string(), z.number().int()),
  /** about how many videos it buys, for the pricing page: e.g. {model: 'veo-3.1', seconds: 8, count: 4} */
  examples: z.array(z.object({ model: z.string(), modelName: z.string(), seconds: z.number().int(), count: z.number().int() })),
  /** the payment providers that can sell it now */
  providers: z.array(z.enum(paymentProviders)),
  highlighted: z.boolean(),
});
export type PlanView = z.infer<typeof planView>;

export const plansResponse = z.object({
  plans: z.array(planView),
  /** currencies offered, the default first */
  currencies: z.array(z.string()),
  /** providers configured on this server, in the order to show them */
  providers: z.array(z.enum(paymentProviders)),
});
export type PlansResponse = z.infer<typeof plansResponse>;

export const checkoutInput = z.strictObject({
  plan: safeText().min(1).max(100),
  provider: z.enum(paymentProviders),
  currency: z
    .string()
    .regex(/^[a-z]{3}$/, { error: 'must be a 3-letter currency code such as usd' })
    .optional(),
});
export type CheckoutInput = z.infer<typeof checkoutInput>;

export const checkoutResponse = z.object({
  orderId: z.string(),
  /** the provider's hosted payment page: send the browser there */
  url: z.string(),
});
export type CheckoutResponse = z.infer<typeof checkoutResponse>;

export const orderView = z.object({
  id: z.string(),
  planId: z.string(),
  planName: z.string(),
  kind: z.enum(['pack', 'subscription', 'renewal']),
  credits: z.number().int(),
  amountMinor: z.number().int(),
  currency: z.string(),
  provider: z.enum(paymentProviders),
  status: z.enum(orderStatuses),
  refundedMinor: z.number().int(),
  /** the email used at checkout */
  checkoutEmail: z.string().nullable(),
  /** for paid orders: GET it for the PDF */
  receiptUrl: z.string().nullable(),
  receiptNumber: z.string().nullable(),
  createdAt: z.string(),
  paidAt: z.string().nullable(),
});
export type OrderView = z.infer<typeof orderView>;

export const subscriptionView = z.object({
  id: z.string(),
  planId: z.string(),
  planName: z.string(),
  provider: z.enum(paymentProviders),
  status: z.enum(['active', 'past_due', 'canceled', 'expired']),
  currentPeriodEnd: z.string().nullable(),
  cancelAtPeriodEnd: z.boolean(),
});
export type SubscriptionView = z.infer<typeof subscriptionView>;

export const billingResponse = z.object({
  orders: z.array(orderView),
  nextCursor: z.string().nullable(),
  subscription: subscriptionView.nullable(),
});
export type BillingResponse = z.infer<typeof billingResponse>;

export const billingQuery = z.object({
  cursor: safeText().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
