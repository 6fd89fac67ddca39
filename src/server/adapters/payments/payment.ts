/**
 * The port every payment provider implements (Stripe, Creem, NOWPayments). The billing service
 * (domain/billing) owns orders, credits and the rules; an adapter only speaks its provider's
 * protocol: create a hosted checkout, verify and normalize webhooks, refund, cancel a
 * subscription, and list recent events for reconciliation.
 *
 * Amounts are integers in the currency's minor unit (cents); currencies are lowercase ISO 4217
 * (`usd`). An adapter never sees or stores card numbers or wallet secrets: only references.
 */

export type PaymentProviderId = 'stripe' | 'creem' | 'nowpayments';
export const paymentProviderIds: readonly PaymentProviderId[] = ['stripe', 'creem', 'nowpayments'];

/** What is being bought, as the adapter needs it. */
export interface CheckoutItem {
  planId: string;
  /** shown on the provider's page */
  name: string;
  kind: 'pack' | 'subscription';
  /** for subscriptions */
  interval?: 'month' | 'year';
  amountMinor: number;
  currency: string;
  /** the provider's own product/price id when the operator configured one (Stripe price, Creem product) */
  providerPriceRef?: string;
}

export interface CheckoutRequest {
  /** our order id: travels as client_reference_id / request_id / order_id and metadata, and comes back in webhooks */
  orderId: string;
  item: CheckoutItem;
  /** the email the user is signed in with (the provider may let them use another) */
  customerEmail?: string;
  successUrl: string;
  cancelUrl: string;
  /** where the provider sends its IPN (NOWPayments takes it per invoice) */
  webhookUrl: string;
  /** sent as the provider's Idempotency-Key where it has one */
  idempotencyKey: string;
}

export interface CheckoutSession {
  /** the provider's id of the checkout (Stripe session id, Creem checkout id, NOWPayments invoice id) */
  checkoutRef: string;
  /** the hosted page the browser goes to */
  url: string;
  expiresAt?: Date;
}

/**
 * A provider event, normalized. `eventId` is the provider's own id of the delivery's event (for
 * NOWPayments, which has none, the adapter builds a stable one from payment id + status), and is
 * what makes processing exactly-once. Refund amounts are cumulative for the payment, so applying
 * them in any order ends in the same state.
 */
export type PaymentEvent =
  | {
      type: 'checkout.paid';
      eventId: string;
      /** our order id when the provider echoes it */
      orderId?: string;
      checkoutRef: string;
      /** what refunds and disputes refer to (Stripe payment_intent, Creem order/transaction id, NOWPayments payment_id) */
      paymentRef: string;
      amountMinor: number;
      currency: string;
      /** the email used at checkout (may differ from the account's) */
      customerEmail?: string;
      customerRef?: string;
      /** set for subscription checkouts */
      subscriptionRef?: string;
      periodStart?: Date;
      periodEnd?: Date;
    }
  | {
      /** NOWPayments: less than the invoice was paid and the payment is final */
      type: 'checkout.partially_paid';
      eventId: string;
      orderId?: string;
      checkoutRef: string;
      paymentRef: string;
      paidMinor: number;
      amountMinor: number;
      currency: string;
    }
  | { type: 'checkout.failed' | 'checkout.expired'; eventId: string; orderId?: string; checkoutRef: string }
  | {
      /** a paid subscription period after the first (Stripe invoice.paid with billing_reason subscription_cycle, Creem subscription.paid) */
      type: 'subscription.renewed';
      eventId: string;
      subscriptionRef: string;
      /** the provider's id of this period's payment (invoice / transaction): one order per value */
      invoiceRef: string;
      paymentRef: string;
      amountMinor: number;
      currency: string;
      periodStart: Date;
      periodEnd: Date;
    }
  | { type: 'subscription.canceled'; eventId: string; subscriptionRef: string; atPeriodEnd: boolean; periodEnd?: Date }
  | { type: 'subscription.ended'; eventId: string; subscriptionRef: string; endedAt: Date }
  | {
      type: 'payment.refunded';
      eventId: string;
      paymentRef: string;
      /** total refunded on this payment so far */
      refundedMinor: number;
      currency: string;
    }
  | { type: 'payment.disputed'; eventId: string; paymentRef: string; amountMinor: number; currency: string }
  | {
      /**
       * One card charge's risk facts (Stripe `charge.succeeded` / `charge.failed`): the card's
       * fingerprint and masked label, and Stripe Radar's verdict when present. A failed one counts
       * for the velocity rules.
       */
      type: 'payment.charge';
      eventId: string;
      /** our order id when the charge carries it (metadata.order_id) */
      orderId?: string;
      paymentRef: string;
      chargeRef: string;
      succeeded: boolean;
      card?: { fingerprint: string; brand?: string; last4?: string };
      /** Radar: `outcome.type` (authorized, manual_review, issuer_declined, blocked, invalid), `outcome.risk_level`, `outcome.risk_score` */
      risk?: { outcome?: string; level?: string; score?: number };
      /** why it failed (`failure_code`, e.g. card_declined) */
      failureCode?: string;
      /** the provider's customer (subscriptions have one; our one-off checkouts none) */
      customerRef?: string;
      /** when the charge was made, epoch seconds (a charge nobody's order claims is not waited for beyond a day) */
      created?: number;
    }
  /** verified, but nothing we act on (another event type) */
  | { type: 'ignored'; eventId: string; providerType: string };

export type WebhookVerdict = { ok: true; events: PaymentEvent[] } | { ok: false; reason: string };

export interface RefundRequest {
  paymentRef: string;
  amountMinor: number;
  currency: string;
  reason?: 'requested_by_customer' | 'duplicate' | 'fraudulent';
  idempotencyKey: string;
}

export interface RefundResult {
  refundRef: string;
  status: 'succeeded' | 'pending' | 'failed';
}

export interface PaymentProvider {
  readonly id: PaymentProviderId;
  /** subscriptions through this provider are possible */
  readonly supportsSubscriptions: boolean;
  createCheckout(req: CheckoutRequest): Promise<CheckoutSession>;
  /**
   * Resolve what a webhook could not say by itself (a lookup at the provider), before the event is
   * applied: Stripe names a subscription payment by its invoice, refunds by its payment intent.
   */
  enrich?(event: PaymentEvent): Promise<PaymentEvent>;
  /** checks the signature on the exact bytes received, then normalizes */
  verifyWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): WebhookVerdict;
  /** throws PaymentProviderError when the provider refuses */
  refund(req: RefundRequest): Promise<RefundResult>;
  /** cancel at the end of the paid period (or at once) */
  cancelSubscription?(subscriptionRef: string, opts: { atPeriodEnd: boolean; idempotencyKey: string }): Promise<void>;
  /**
   * Events the provider recorded since `since` (oldest first), for the reconciliation job; only
   * providers with an events API (Stripe) implement it.
   */
  listEventsSince?(since: Date): Promise<PaymentEvent[]>;
  close(): Promise<void>;
}

export class PaymentProviderError extends Error {
  readonly provider: PaymentProviderId;
  /** the provider's HTTP status, when it answered */
  readonly status?: number;
  /** a retry may succeed (network, 5xx, 429) */
  readonly retryable: boolean;
  constructor(provider: PaymentProviderId, message: string, opts: { status?: number; retryable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'PaymentProviderError';
    this.provider = provider;
    if (opts.status !== undefined) this.status = opts.status;
    this.retryable = opts.retryable ?? false;
  }
}
