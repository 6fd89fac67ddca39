import { infiniteQueryOptions, queryOptions, type QueryClient } from '@tanstack/react-query';
import type { AdminOrderDetail, AdminOrderList, AdminReconcileResult, AdminRefundResult } from '../../../../shared/api';
import { apiFetch } from '../../../lib/api';

/*
 * The console's orders section in the browser (/admin/orders, /admin/orders/$id): the shapes are
 * the server's (src/shared/api/admin-orders.ts).
 */

export type { AdminOrderDetail, AdminOrderRow, AdminPaymentEvent, RefundBlocker } from '../../../../shared/api';
export { ADMIN_ORDER_REASON_MAX } from '../../../../shared/api/admin-orders';
export { orderStatuses, paymentProviders } from '../../../../shared/api/billing';

/** The list's filters, as they stand in the address (`?status=paid&q=…`). */
export const orderFilterKeys = ['q', 'status', 'provider', 'currency', 'from', 'to'] as const;
export type OrderFilters = Record<(typeof orderFilterKeys)[number], string>;

/** Everything of this section lives under this key (dropped on sign-out with the other user queries). */
const key = ['admin-orders'] as const;
const PAGE = 25;

export function orderListQuery(filters: OrderFilters) {
  return infiniteQueryOptions({
    queryKey: [...key, 'list', filters] as const,
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(PAGE) });
      for (const k of orderFilterKeys) if (filters[k]) params.set(k, filters[k]);
      if (pageParam) params.set('cursor', pageParam);
      return apiFetch<AdminOrderList>(`/api/admin/orders?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 10_000,
  });
}

export const orderDetailQuery = (id: string) =>
  queryOptions({
    queryKey: [...key, 'detail', id] as const,
    queryFn: ({ signal }) => apiFetch<AdminOrderDetail>(`/api/admin/orders/${encodeURIComponent(id)}`, { signal }),
    staleTime: 5_000,
  });

/** A refund (no amount: everything left). The key makes a repeated submit of one dialog refund once. */
export function refundOrder(id: string, body: { amountMinor?: number; reason: string }, idempotencyKey: string): Promise<AdminRefundResult> {
  return apiFetch<AdminRefundResult>(`/api/admin/orders/${encodeURIComponent(id)}/refund`, {
    method: 'POST',
    body,
    headers: { 'idempotency-key': idempotencyKey },
  });
}

export function reconcileOrder(id: string): Promise<AdminReconcileResult> {
  return apiFetch<AdminReconcileResult>(`/api/admin/orders/${encodeURIComponent(id)}/reconcile`, { method: 'POST', body: {} });
}

/** After an action: the lists and pages of this section are fetched again. */
export const refreshOrders = (queryClient: QueryClient) => queryClient.invalidateQueries({ queryKey: key });

/** Digits after the decimal point of a currency (2 for usd and eur, 0 for jpy). */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/**
 * An amount typed by an operator ("12.50", "12,5", "12") in the currency's minor units, or null when
 * it is not a positive amount with at most the currency's decimals.
 */
export function parseAmount(text: string, currency: string): number | null {
  const digits = currencyDigits(currency);
  const m = /^(\d{1,12})(?:[.,](\d*))?$/.exec(text.trim());
  if (!m) return null;
  const fraction = m[2] ?? '';
  if (fraction.length > digits) return null;
  const minor = Number(m[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  return minor > 0 ? minor : null;
}

/** Minor units as the number an operator types ("12.50"). */
export const amountText = (minor: number, currency: string) => {
  const digits = currencyDigits(currency);
  return (minor / 10 ** digits).toFixed(digits);
};
