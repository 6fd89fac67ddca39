import type { OrderView, SubscriptionView } from '../../../shared/api/billing';
import type { OrderRow, PlanRow, SubscriptionRow } from './billing.repo';

/** How orders and subscriptions are shown to their owner, and the providers' names in messages. */

export const providerLabel = (provider: string) => ({ stripe: 'Stripe', creem: 'Creem', nowpayments: 'NOWPayments' })[provider] ?? provider;

export function toOrderView(o: OrderRow): OrderView {
  const paid = o.paidAt !== null && o.receiptNumber !== null;
  return {
    id: o.id,
    planId: o.planId,
    planName: o.planName,
    kind: o.kind,
    credits: o.credits,
    amountMinor: o.amountMinor,
    currency: o.currency,
    provider: o.provider as OrderView['provider'],
    status: o.status,
    refundedMinor: o.refundedMinor,
    checkoutEmail: o.checkoutEmail,
    receiptUrl: paid ? `/api/billing/orders/${o.id}/receipt` : null,
    receiptNumber: o.receiptNumber,
    createdAt: o.createdAt.toISOString(),
    paidAt: o.paidAt?.toISOString() ?? null,
  };
}

export function toSubscriptionView(s: SubscriptionRow, plan: PlanRow | null): SubscriptionView {
  return {
    id: s.id,
    planId: s.planId,
    planName: plan?.name ?? s.planId,
    provider: s.provider as SubscriptionView['provider'],
    status: s.status,
    currentPeriodEnd: s.currentPeriodEnd?.toISOString() ?? null,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
  };
}
