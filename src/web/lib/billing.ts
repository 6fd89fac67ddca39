import { infiniteQueryOptions, queryOptions, type InfiniteData, type QueryClient } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import type {
  BillingResponse,
  CheckoutInput,
  CheckoutResponse,
  OrderStatus,
  OrderView,
  PaymentProviderName,
  PlansResponse,
  PlanView,
  SubscriptionView,
} from '../../shared/api/billing';
import { ApiError, apiFetch } from './api';
import { creditsQuery } from './credits';
import { errorText } from './errors';

export type { BillingResponse, OrderStatus, OrderView, PaymentProviderName, PlansResponse, PlanView, SubscriptionView };

const PAGE_SIZE = 20;

/** Everything about the user's billing lives under this key (dropped on sign-out with the other user queries). */
export const billingKey = ['billing'] as const;
const ordersKey = [...billingKey, 'orders'] as const;

/** GET /api/billing/plans: the packs and subscriptions on sale, their prices and who can sell them (public). */
export const plansQuery = queryOptions({
  queryKey: ['plans'] as const,
  queryFn: ({ signal }) => apiFetch<PlansResponse>('/api/billing/plans', { signal }),
  staleTime: 5 * 60_000,
});

/** GET /api/billing: the user's orders, newest first, a page at a time, and the current subscription. */
export const billingQuery = infiniteQueryOptions({
  queryKey: ordersKey,
  queryFn: ({ pageParam, signal }) => {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (pageParam) params.set('cursor', pageParam);
    return apiFetch<BillingResponse>(`/api/billing?${params}`, { signal });
  },
  initialPageParam: null as string | null,
  getNextPageParam: (last) => last.nextCursor ?? undefined,
  staleTime: 10_000,
});

/** GET /api/billing/orders/:id: one order (the page a provider sends the buyer back to watches it). */
export function orderQuery(id: string) {
  return queryOptions({
    queryKey: [...billingKey, 'order', id] as const,
    queryFn: ({ signal }) => apiFetch<OrderView>(`/api/billing/orders/${encodeURIComponent(id)}`, { signal }),
  });
}

/** POST /api/billing/checkout: an order and the provider's hosted payment page to send the browser to. */
export function startCheckout(input: CheckoutInput): Promise<CheckoutResponse> {
  return apiFetch<CheckoutResponse>('/api/billing/checkout', { method: 'POST', body: { ...input } });
}

/** POST /api/billing/subscription/cancel: the subscription ends when the paid period does; the cache follows. */
export async function cancelSubscription(queryClient: QueryClient): Promise<SubscriptionView> {
  const subscription = await apiFetch<SubscriptionView>('/api/billing/subscription/cancel', { method: 'POST', body: {} });
  queryClient.setQueryData<InfiniteData<BillingResponse, string | null>>(ordersKey, (data) =>
    data ? { ...data, pages: data.pages.map((p) => ({ ...p, subscription })) } : data,
  );
  return subscription;
}

/** After a payment: the order list, the subscription and the balance (shown in several places) are out of date. */
export function refreshAfterPayment(queryClient: QueryClient): void {
  void queryClient.invalidateQueries({ queryKey: ordersKey });
  void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
}

/** Digits after the decimal point of a currency (2 for usd and eur, 0 for jpy). */
function fractionDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * An amount in minor units (cents) as money in the UI language: "$10", "10,00 €", "$44.99".
 * `compact` drops ".00" from whole amounts (prices on the pricing page).
 */
export function formatMoney(minor: number, currency: string, language: string, { compact = false } = {}): string {
  const code = currency.toUpperCase();
  const digits = fractionDigits(code);
  const amount = minor / 10 ** digits;
  const whole = Number.isInteger(amount);
  try {
    return new Intl.NumberFormat(language, {
      style: 'currency',
      currency: code,
      minimumFractionDigits: compact && whole ? 0 : digits,
      maximumFractionDigits: digits,
    }).format(amount);
  } catch {
    return `${amount.toFixed(digits)} ${code}`;
  }
}

/** A whole number in the UI language ("1,000", "1.000"). */
export function formatNumber(value: number, language: string): string {
  return new Intl.NumberFormat(language).format(value);
}

/** A date (no time) in the UI language. */
export function formatDate(date: string | Date, language: string): string {
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium' }).format(new Date(date));
}

/** What to tell the user about a failed billing request: our translation of the code, or the server's message. */
export function billingErrorText(err: unknown, t: TFunction, language: string): string {
  if (!(err instanceof ApiError) || err.code === 'network_error' || err.status === 429) return errorText(err, t, language);
  const translated = t(`billing.errors.${err.code}` as never, { defaultValue: '' }) as string;
  if (!language.startsWith('en') && translated) return translated;
  if (err.message) return err.message;
  return translated || errorText(err, t, language);
}
