import { useTranslation } from 'react-i18next';
import type { OrderStatus } from '../../../../shared/api';
import { cn } from '../../../lib/cn';

const statusTones: Record<OrderStatus, string> = {
  paid: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-500/15 dark:text-emerald-300',
  pending: 'bg-brand-100 text-brand-800 dark:bg-brand-500/15 dark:text-brand-200',
  refunded: 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
  partially_refunded: 'bg-amber-100 text-amber-800 dark:bg-amber-500/15 dark:text-amber-300',
  disputed: 'bg-red-100 text-red-800 dark:bg-red-500/15 dark:text-red-300',
  failed: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
  expired: 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
};

/** An order's status as a coloured badge. */
export function OrderStatusBadge({ status, testId }: { status: OrderStatus; testId?: string }) {
  const { t } = useTranslation();
  return (
    <span
      className={cn('inline-flex items-center rounded-full px-2 py-0.5 text-xs font-semibold whitespace-nowrap', statusTones[status])}
      data-testid={testId}
      data-status={status}
    >
      {t(`admin.orders.statuses.${status}`)}
    </span>
  );
}

/** A payment provider's name (not translated: brand names). */
export const providerName = (provider: string) => ({ stripe: 'Stripe', creem: 'Creem', nowpayments: 'NOWPayments' })[provider] ?? provider;

/** An id cut to its first characters, for tables (the full id is in the link's label and title). */
export const shortId = (id: string) => id.slice(0, 8);
